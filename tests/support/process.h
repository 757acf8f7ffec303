#pragma once
// Running real binaries from tests: argv (never a shell), extra environment, a deadline.

#include <chrono>
#include <map>
#include <string>
#include <vector>

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

}  // namespace wi::testing
