#pragma once
// The CPU time another process uses over a window, read from /proc/<pid>/stat: `ingestctl
// bench --server-pid/--broker-pid` divides it by the acknowledged requests of the load, so the
// server's and the broker's cost per request is measured in the same run as the throughput.

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace wi::ctl {

// utime + stime in clock ticks from the text of /proc/<pid>/stat (fields 14 and 15). The
// command name (field 2) may hold spaces and parentheses, so fields are counted from its last
// ')'. Errors: kInvalidArgument for text that is not such a line.
Result<std::uint64_t> parse_stat_cpu_ticks(std::string_view stat);

// User + system CPU seconds process `pid` has used so far (all its threads; not its children).
// Errors: kNotFound when there is no such process, kInvalidArgument when /proc says something
// that does not parse.
Result<double> process_cpu_seconds(int pid);

// The CPU one process uses between begin() and end() (e.g. a benchmark's load window).
class ProcessCpuWindow {
 public:
  // Reads the process's CPU now; errors as process_cpu_seconds.
  static Result<ProcessCpuWindow> begin(int pid);
  // CPU seconds used since begin(); errors as process_cpu_seconds (e.g. the process is gone).
  Result<double> end() const;
  int pid() const { return pid_; }

 private:
  ProcessCpuWindow(int pid, double at_begin) : pid_(pid), at_begin_(at_begin) {}
  int pid_;
  double at_begin_;
};

}  // namespace wi::ctl
