#pragma once
// CommandRunner: runs one program from an argv list, never through a shell, with a timeout,
// a bounded tail of its output and an exact environment. The deploy commands and git both
// run through it.
//
// PosixCommandRunner (posix_spawn):
// - The child leads a new process group, and the group dies with the step: a timeout kills
//   it and everything it started (kill(-pgid, SIGKILL)); a shutdown request sends SIGTERM
//   first, then SIGKILL after a grace period (a command that ignores SIGTERM still stops);
//   and when the program exits by itself, whatever it left running in its group (background
//   children) is killed too (SIGKILL), before the leader is reaped so its pid cannot have
//   been reused. A service a deploy restarts must be started by a service manager
//   (systemctl, docker) or detach with setsid; only then does it outlive the step.
// - stdin is /dev/null; stdout and stderr share one pipe whose last `output_limit` bytes are
//   kept; no descriptor of the worker (Kafka sockets, the metrics listener) leaks into it.
// - Signal mask and dispositions are reset (the worker blocks SIGTERM and ignores SIGPIPE).
// - argv[0] without a '/' is looked up in the PATH of the child's environment.
// - With `group_file`, the running group is recorded there (pgid and start time) until the
//   child exits, so that the next run with the same file kills a group that a crashed
//   worker left behind instead of running next to it.
// Thread-compatible: one run() at a time per runner is what the deploy handler needs.

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace wi::deploy {

struct CommandSpec {
  std::vector<std::string> argv;
  std::string cwd;
  std::vector<std::string> env;  // "NAME=value", exactly what the child gets
  std::chrono::milliseconds timeout{60000};
  std::size_t output_limit = 4096;
  std::function<bool()> stopping;  // may be empty; true → stop the child and report interrupted
  std::chrono::milliseconds stop_grace{2000};  // between SIGTERM and SIGKILL when stopping
  std::string group_file;          // may be empty
};

struct CommandOutcome {
  int exit_code = -1;  // the exit status; 128+N when killed by signal N; 126/127 spawn failed
  bool timed_out = false;
  bool interrupted = false;  // stopped because `stopping` became true
  bool spawn_failed = false;
  std::chrono::milliseconds duration{0};
  std::string output_tail;  // the last output_limit bytes of stdout+stderr
  std::uint64_t output_bytes = 0;

  bool ok() const { return exit_code == 0 && !timed_out && !interrupted && !spawn_failed; }
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual CommandOutcome run(const CommandSpec& spec) = 0;
};

class PosixCommandRunner final : public CommandRunner {
 public:
  CommandOutcome run(const CommandSpec& spec) override;
};

// Builds a child environment: `base`, then `overrides` (later wins), as "NAME=value" strings.
// NUL bytes are dropped from values (they would silently cut the value short).
std::vector<std::string> make_environment(
    const std::map<std::string, std::string>& base,
    std::initializer_list<const std::map<std::string, std::string>*> overrides);

}  // namespace wi::deploy
