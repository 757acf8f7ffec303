#include "ctl/bench/process_cpu.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>


namespace wi::ctl {
namespace {

// A real line of /proc/<pid>/stat, with a command name that holds spaces and ") (" to make
// counting fields from the first space or the first ')' go wrong. utime 1234, stime 567.
constexpr std::string_view kStat =
    "4242 (tricky ) (name) S 1 4242 4242 0 -1 4194560 1043 0 0 0 1234 567 0 0 20 0 3 0 "
    "98765 24567808 1490 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

double own_rusage_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

TEST(ProcessCpu, ParsesUtimePlusStimeAfterTheLastParenthesis) {
  auto ticks = parse_stat_cpu_ticks(kStat);
  ASSERT_TRUE(ticks) << ticks.error().message;
  EXPECT_EQ(*ticks, 1234u + 567u);
}

TEST(ProcessCpu, RefusesTextThatIsNotAStatLine) {
  EXPECT_FALSE(parse_stat_cpu_ticks(""));
  EXPECT_FALSE(parse_stat_cpu_ticks("4242 (short) S 1 2 3"));
  EXPECT_FALSE(parse_stat_cpu_ticks("4242 (x) S 1 4242 4242 0 -1 4194560 1043 0 0 0 12a 5 0"));
  auto no_name = parse_stat_cpu_ticks("4242 S 1 4242");
  ASSERT_FALSE(no_name);
  EXPECT_EQ(no_name.error().code, ErrorCode::kInvalidArgument);
}

TEST(ProcessCpu, AProcessThatDoesNotExistIsNotFound) {
  for (int pid : {0, -1, 999'999'999}) {
    auto cpu = process_cpu_seconds(pid);
    ASSERT_FALSE(cpu) << pid;
    EXPECT_EQ(cpu.error().code, ErrorCode::kNotFound) << pid;
    EXPECT_FALSE(ProcessCpuWindow::begin(pid)) << pid;
  }
}

// This process's own CPU over a window in which it burns about 0.2 s: /proc must tell what
// getrusage tells, within a few clock ticks.
TEST(ProcessCpu, AWindowOverOwnPidSeesTheCpuBurnedInIt) {
  auto window = ProcessCpuWindow::begin(static_cast<int>(::getpid()));
  ASSERT_TRUE(window) << window.error().message;
  EXPECT_EQ(window->pid(), static_cast<int>(::getpid()));
  const double rusage_before = own_rusage_seconds();
  volatile std::uint64_t sink = 0;
  while (own_rusage_seconds() - rusage_before < 0.2) {
    for (int i = 0; i < 100'000; ++i) sink = sink + static_cast<std::uint64_t>(i) * 2654435761u;
  }
  const double burned = own_rusage_seconds() - rusage_before;
  auto used = window->end();
  ASSERT_TRUE(used) << used.error().message;
  const double tick = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_GE(*used, 0.2 - 2 * tick);
  EXPECT_NEAR(*used, burned, 3 * tick);
}

}  // namespace
}  // namespace wi::ctl
