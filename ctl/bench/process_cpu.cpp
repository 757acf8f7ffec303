#include "ctl/bench/process_cpu.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace wi::ctl {
namespace {

// Field numbers of proc(5), counted with the state (field 3) as the first after ')'.
constexpr int kPpid = 4;
constexpr int kUtime = 14;
constexpr int kCstime = 17;

std::string_view next_field(std::string_view& rest) {
  const std::size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) return {};
  rest.remove_prefix(start);
  const std::size_t end = std::min(rest.find_first_of(" \n"), rest.size());
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end);
  return field;
}

template <typename Number>
bool parse_number(std::string_view field, Number& out) {
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), out);
  return ec == std::errc() && end == field.data() + field.size() && !field.empty();
}

std::string read_text(const std::string& path, bool& ok) {
  std::ifstream in(path);
  ok = static_cast<bool>(in);
  std::ostringstream text;
  if (ok) text << in.rdbuf();
  return text.str();
}

// Every process's stat line that can be read now (processes come and go while we look).
std::vector<ProcStat> snapshot() {
  std::vector<ProcStat> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!parse_number(entry.path().filename().string(), pid)) continue;
    bool ok = false;
    const std::string text = read_text(entry.path().string() + "/stat", ok);
    if (!ok) continue;
    if (auto stat = parse_proc_stat(text)) out.push_back(*stat);
  }
  return out;
}

}  // namespace

Result<ProcStat> parse_proc_stat(std::string_view stat) {
  const std::size_t comm_end = stat.rfind(')');
  ProcStat out;
  if (comm_end == std::string_view::npos ||
      !parse_number(stat.substr(0, stat.find(' ')), out.pid)) {
    return Error::invalid("not a /proc/<pid>/stat line: no pid and command name");
  }
  std::string_view rest = stat.substr(comm_end + 1);
  for (int field = 3; field <= kCstime; ++field) {
    const std::string_view value = next_field(rest);
    std::uint64_t ticks = 0;
    if (field == kPpid && !parse_number(value, out.ppid)) {
      return Error::invalid("not a /proc/<pid>/stat line: no parent pid");
    }
    if (field >= kUtime) {
      if (!parse_number(value, ticks)) {
        return Error::invalid("not a /proc/<pid>/stat line: no utime, stime, cutime, cstime");
      }
      out.cpu_ticks += ticks;
    }
  }
  return out;
}

std::uint64_t tree_cpu_ticks(const ProcStat& root, const std::vector<ProcStat>& processes) {
  std::multimap<int, const ProcStat*> children;  // ppid → process
  for (const auto& p : processes) {
    if (p.pid != root.pid) children.emplace(p.ppid, &p);
  }
  std::uint64_t total = 0;
  std::vector<const ProcStat*> pending = {&root};
  while (!pending.empty()) {
    const ProcStat* p = pending.back();
    pending.pop_back();
    total += p->cpu_ticks;
    const auto [first, last] = children.equal_range(p->pid);
    for (auto it = first; it != last; ++it) pending.push_back(it->second);
  }
  return total;
}

Result<double> process_tree_cpu_seconds(int pid) {
  if (pid <= 0) return Error::not_found("no process " + std::to_string(pid));
  bool ok = false;
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const std::string text = read_text(path, ok);
  if (!ok) return Error::not_found("no process " + std::to_string(pid));
  auto root = parse_proc_stat(text);
  if (!root) return Error::invalid(path + ": " + root.error().message);
  const std::uint64_t ticks = tree_cpu_ticks(*root, snapshot());
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Result<ProcessCpuWindow> ProcessCpuWindow::begin(int pid) {
  auto now = process_tree_cpu_seconds(pid);
  if (!now) return now.error();
  return ProcessCpuWindow(pid, *now);
}

Result<double> ProcessCpuWindow::end() const {
  auto now = process_tree_cpu_seconds(pid_);
  if (!now) return now.error();
  return *now - at_begin_;
}

}  // namespace wi::ctl
