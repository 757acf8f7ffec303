#pragma once
// Running real binaries from tests: argv (never a shell), extra environment, a deadline.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace wi::testing {

struct ProcessResult {
  int exit_code = -1;   // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] with the current environment plus `env` (which overrides), waits up to
// `timeout` (then kills it and reports timed_out).
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A long-running child (ingestd, a worker) with its stdout and stderr in a log file. The
// destructor kills it (SIGKILL) if it is still running, so a failing test leaks nothing.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, std::string log_path);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  int pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for the exit; the exit code, or -1 on timeout (the process is left running), or
  // 128+signal when a signal ended it.
  int wait(std::chrono::milliseconds timeout);
  std::string log() const;

 private:
  int pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string log_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

}  // namespace wi::testing
