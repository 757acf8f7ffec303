#pragma once
// Ctrl-C and SIGTERM for the long-running operator commands (tail, replay, redrive): they stop
// at the next record boundary, say how far they got, and exit, instead of dying mid-publish.

#include <atomic>

namespace wi::ctl {

// Installs SIGINT and SIGTERM handlers that set the returned flag (async-signal-safe: a
// lock-free atomic store); from then on those signals no longer end the process.
const std::atomic<bool>& stop_on_interrupt();

}  // namespace wi::ctl
