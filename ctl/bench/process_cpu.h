#pragma once
// The CPU time a server uses over a window, read from /proc: `ingestctl bench
// --server-pid/--broker-pid` divides it by the acknowledged requests of the load, so the
// server's and the broker's cost per request is measured in the same run as the throughput.
// A server is a process and its descendants (gunicorn's workers are children of its master).

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace wi::ctl {

// What bench needs from one /proc/<pid>/stat line.
struct ProcStat {
  int pid = 0;
  int ppid = 0;
  // utime + stime + cutime + cstime (fields 14-17), in clock ticks: its own CPU and that of its
  // children it has reaped, so a worker that exits inside a window is still counted.
  std::uint64_t cpu_ticks = 0;
};

// Parses the text of /proc/<pid>/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from its last ')'. Errors: kInvalidArgument for text that
// is not such a line.
Result<ProcStat> parse_proc_stat(std::string_view stat);

// The CPU ticks of `root` and of every descendant of it in `processes` (a snapshot of /proc;
// an entry for root itself there is ignored).
std::uint64_t tree_cpu_ticks(const ProcStat& root, const std::vector<ProcStat>& processes);

// CPU seconds process `pid` and its live descendants have used so far (all threads).
// Errors: kNotFound when there is no such process, kInvalidArgument when its stat line does
// not parse.
Result<double> process_tree_cpu_seconds(int pid);

// The CPU one process tree uses between begin() and end() (e.g. a benchmark's load window).
class ProcessCpuWindow {
 public:
  // Reads the tree's CPU now; errors as process_tree_cpu_seconds.
  static Result<ProcessCpuWindow> begin(int pid);
  // CPU seconds used since begin(); errors as process_tree_cpu_seconds (the process is gone).
  Result<double> end() const;

 private:
  ProcessCpuWindow(int pid, double at_begin) : pid_(pid), at_begin_(at_begin) {}
  int pid_;
  double at_begin_;
};

}  // namespace wi::ctl
