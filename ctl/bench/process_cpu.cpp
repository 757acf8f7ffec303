#include "ctl/bench/process_cpu.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace wi::ctl {
namespace {

// Fields 14 (utime) and 15 (stime), counted with the state (field 3) as the first after ')'.
constexpr int kUtimeAfterComm = 14 - 3;

std::string_view next_field(std::string_view& rest) {
  const std::size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) return {};
  rest.remove_prefix(start);
  const std::size_t end = std::min(rest.find_first_of(" \n"), rest.size());
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end);
  return field;
}

bool parse_ticks(std::string_view field, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), out);
  return ec == std::errc() && end == field.data() + field.size() && !field.empty();
}

}  // namespace

Result<std::uint64_t> parse_stat_cpu_ticks(std::string_view stat) {
  const std::size_t comm_end = stat.rfind(')');
  if (comm_end == std::string_view::npos) {
    return Error::invalid("not a /proc/<pid>/stat line: no command name");
  }
  std::string_view rest = stat.substr(comm_end + 1);
  for (int i = 0; i < kUtimeAfterComm; ++i) next_field(rest);
  std::uint64_t utime = 0, stime = 0;
  if (!parse_ticks(next_field(rest), utime) || !parse_ticks(next_field(rest), stime)) {
    return Error::invalid("not a /proc/<pid>/stat line: no utime and stime");
  }
  return utime + stime;
}

Result<double> process_cpu_seconds(int pid) {
  if (pid <= 0) return Error::not_found("no process " + std::to_string(pid));
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  if (!in) return Error::not_found("no process " + std::to_string(pid));
  std::ostringstream text;
  text << in.rdbuf();
  auto ticks = parse_stat_cpu_ticks(text.str());
  if (!ticks) return Error::invalid(path + ": " + ticks.error().message);
  return static_cast<double>(*ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Result<ProcessCpuWindow> ProcessCpuWindow::begin(int pid) {
  auto now = process_cpu_seconds(pid);
  if (!now) return now.error();
  return ProcessCpuWindow(pid, *now);
}

Result<double> ProcessCpuWindow::end() const {
  auto now = process_cpu_seconds(pid_);
  if (!now) return now.error();
  return *now - at_begin_;
}

}  // namespace wi::ctl
