#pragma once
// Signal handling for long-running binaries: SIGTERM/SIGINT are blocked in every thread (call
// this before starting any) and taken by exactly one thread with sigwait(); SIGPIPE is
// ignored, so a write to a vanished peer fails with EPIPE instead of killing the process.

#include <signal.h>

namespace wi {

inline sigset_t block_termination_signals() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace wi
