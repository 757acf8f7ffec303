#include "ctl/bench/process_cpu.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wi::ctl {
namespace {

// A real line of /proc/<pid>/stat, with a command name that holds spaces and ") (" to make
// counting fields from the first space or the first ')' go wrong. ppid 1, utime 1234,
// stime 567, cutime 8, cstime 9.
constexpr std::string_view kStat =
    "4242 (tricky ) (name) S 1 4242 4242 0 -1 4194560 1043 0 0 0 1234 567 8 9 20 0 3 0 "
    "98765 24567808 1490 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

double own_rusage_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

// Spins until this process has used `seconds` more CPU (measured, not slept).
double burn_cpu(double seconds) {
  const double before = own_rusage_seconds();
  volatile std::uint64_t sink = 0;
  while (own_rusage_seconds() - before < seconds) {
    for (int i = 0; i < 100'000; ++i) sink = sink + static_cast<std::uint64_t>(i) * 2654435761u;
  }
  return own_rusage_seconds() - before;
}

double clock_tick() {
  return 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

TEST(ProcessCpu, ParsesPidParentAndCpuAfterTheLastParenthesis) {
  auto stat = parse_proc_stat(kStat);
  ASSERT_TRUE(stat) << stat.error().message;
  EXPECT_EQ(stat->pid, 4242);
  EXPECT_EQ(stat->ppid, 1);
  EXPECT_EQ(stat->cpu_ticks, 1234u + 567u + 8u + 9u);
}

TEST(ProcessCpu, RefusesTextThatIsNotAStatLine) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("4242 (short) S 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("4242 (x) S 1 4242 4242 0 -1 4194560 1043 0 0 0 12a 5 0 0"));
  EXPECT_FALSE(parse_proc_stat("x (x) S 1 4242 4242 0 -1 4194560 1043 0 0 0 12 5 0 0"));
  auto no_name = parse_proc_stat("4242 S 1 4242");
  ASSERT_FALSE(no_name);
  EXPECT_EQ(no_name.error().code, ErrorCode::kInvalidArgument);
}

TEST(ProcessCpu, TreeCountsTheRootAndEveryDescendantOnly) {
  const ProcStat root{10, 1, 5};
  const std::vector<ProcStat> processes = {
      {10, 1, 999},    // the root as the snapshot saw it: the root's own reading wins
      {11, 10, 7},     // child
      {12, 11, 11},    // grandchild
      {13, 10, 13},    // second child
      {20, 1, 100},    // unrelated, and its child
      {21, 20, 1000},
      {1, 0, 10000},   // init
  };
  EXPECT_EQ(tree_cpu_ticks(root, processes), 5u + 7u + 11u + 13u);
  EXPECT_EQ(tree_cpu_ticks(root, {}), 5u);
}

TEST(ProcessCpu, AProcessThatDoesNotExistIsNotFound) {
  for (int pid : {0, -1, 999'999'999}) {
    auto cpu = process_tree_cpu_seconds(pid);
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
  const double burned = burn_cpu(0.2);
  auto used = window->end();
  ASSERT_TRUE(used) << used.error().message;
  EXPECT_GE(*used, 0.2 - 2 * clock_tick());
  EXPECT_NEAR(*used, burned, 3 * clock_tick());
}

// A child that burns 0.3 s of CPU and is still alive at the end of the window (as gunicorn's
// workers are): the window over its parent counts it.
TEST(ProcessCpu, AWindowCountsALiveChildsCpu) {
  int burned[2];
  ASSERT_EQ(::pipe(burned), 0);
  auto window = ProcessCpuWindow::begin(static_cast<int>(::getpid()));
  ASSERT_TRUE(window) << window.error().message;
  const double parent_before = own_rusage_seconds();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    burn_cpu(0.3);
    const char done = 1;
    (void)!::write(burned[1], &done, 1);
    for (;;) ::pause();  // alive until the parent has measured and kills it
  }
  struct Reaper {  // however the test ends, the child does not outlive it
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{child};
  ::close(burned[1]);
  char done = 0;
  const auto got = ::read(burned[0], &done, 1);
  ::close(burned[0]);
  ASSERT_EQ(got, 1) << "the child did not report";
  auto used = window->end();
  const double parent_used = own_rusage_seconds() - parent_before;
  ASSERT_TRUE(used) << used.error().message;
  EXPECT_GE(*used - parent_used, 0.3 - 3 * clock_tick());
  EXPECT_LE(*used - parent_used, 0.3 + 10 * clock_tick());
}

}  // namespace
}  // namespace wi::ctl
