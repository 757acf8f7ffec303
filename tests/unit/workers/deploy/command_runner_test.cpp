// PosixCommandRunner with real (short-lived) processes: argv without a shell, exact
// environment, bounded output, timeouts that kill the whole process group, and the signal
// state a worker process would otherwise leak into its children.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "workers/deploy/command_runner.h"
#include "tests/support/temp_dir.h"

namespace wi::deploy {
namespace {

using namespace std::chrono_literals;

using wi::testing::TempDir;

bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] != 'Z' &&
         stat[paren + 2] != 'X';
}

template <typename F>
bool within(std::chrono::milliseconds limit, F done) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

CommandSpec spec(std::vector<std::string> argv, const std::string& cwd = "/") {
  CommandSpec s;
  s.argv = std::move(argv);
  s.cwd = cwd;
  s.env = {"PATH=/usr/bin:/bin"};
  s.timeout = 10s;
  return s;
}

TEST(DeployCommandRunner, RunsTheArgvInTheDirWithExactlyTheGivenEnvironment) {
  TempDir dir;
  PosixCommandRunner runner;
  auto s = spec({"env"}, dir.path());
  s.env = {"FOO=bar baz", "PATH=/usr/bin:/bin"};
  auto out = runner.run(s);
  EXPECT_TRUE(out.ok()) << out.output_tail;
  EXPECT_EQ(out.output_tail, "FOO=bar baz\nPATH=/usr/bin:/bin\n");
  auto pwd = runner.run(spec({"/bin/pwd"}, dir.path()));
  EXPECT_EQ(pwd.output_tail, std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST(DeployCommandRunner, ArgumentsAreNeverInterpretedByAShell) {
  TempDir dir;
  PosixCommandRunner runner;
  std::string evil = "$(touch " + dir.path() + "/pwned)";
  auto out = runner.run(spec({"/bin/echo", evil, "`touch " + dir.path() + "/pwned2`", ";", "ls"}));
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.output_tail, evil + " `touch " + dir.path() + "/pwned2` ; ls\n");
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/pwned"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/pwned2"));
}

TEST(DeployCommandRunner, ExitCodesAndCombinedOutput) {
  PosixCommandRunner runner;
  auto out = runner.run(spec({"/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 3"}));
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_FALSE(out.timed_out);
  EXPECT_NE(out.output_tail.find("to-out"), std::string::npos);
  EXPECT_NE(out.output_tail.find("to-err"), std::string::npos);
}

TEST(DeployCommandRunner, OutputIsBoundedToTheTail) {
  PosixCommandRunner runner;
  auto s = spec({"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a; echo END"});
  s.output_limit = 4096;
  auto out = runner.run(s);
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.output_bytes, 100004u);
  EXPECT_EQ(out.output_tail.size(), 4096u);
  EXPECT_EQ(out.output_tail.substr(4092), "END\n");
}

TEST(DeployCommandRunner, MissingOrUnrunnableProgramsFailWithoutRunning) {
  TempDir dir;
  PosixCommandRunner runner;
  auto missing = runner.run(spec({"no-such-program-wi-test"}));
  EXPECT_TRUE(missing.spawn_failed);
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.output_tail.find("not found"), std::string::npos);
  auto absent = runner.run(spec({dir.path() + "/absent"}));
  EXPECT_TRUE(absent.spawn_failed);
  EXPECT_EQ(absent.exit_code, 127);
  std::ofstream(dir.path() + "/not-executable") << "#!/bin/sh\n";
  auto denied = runner.run(spec({dir.path() + "/not-executable"}));
  EXPECT_TRUE(denied.spawn_failed);
  EXPECT_EQ(denied.exit_code, 126);
  auto empty = runner.run(spec({}));
  EXPECT_TRUE(empty.spawn_failed);
}

TEST(DeployCommandRunner, RelativePathEntriesAreIgnored) {
  // The commands run inside a checkout of pushed code: "." in PATH must not let it shadow
  // system programs.
  TempDir dir;
  std::string fake = dir.path() + "/true";
  std::ofstream(fake) << "#!/bin/sh\ntouch " << dir.path() << "/shadowed\n";
  ::chmod(fake.c_str(), 0755);
  PosixCommandRunner runner;
  auto s = spec({"true"}, dir.path());
  s.env = {"PATH=.:bin:/usr/bin:/bin"};
  EXPECT_TRUE(runner.run(s).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/shadowed"));
}

TEST(DeployCommandRunner, ATimeoutKillsTheWholeProcessGroup) {
  TempDir dir;
  PosixCommandRunner runner;
  auto s = spec({"/bin/sh", "-c", "/bin/sleep 30 & echo $! > child; /bin/sleep 30"}, dir.path());
  s.timeout = 300ms;
  auto out = runner.run(s);
  EXPECT_TRUE(out.timed_out) << "killed at the timeout, not left to finish its 30 s";
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.exit_code, 128 + SIGKILL);
  pid_t child = std::stoi(read(dir.path() + "/child"));
  EXPECT_TRUE(within(5s, [&] { return !alive(child); })) << "the background child survived";
}

TEST(DeployCommandRunner, ABackgroundChildDiesWithTheCommandThatStartedIt) {
  PosixCommandRunner runner;
  auto out = runner.run(spec({"/bin/sh", "-c", "/bin/sleep 300 & echo $!"}));
  EXPECT_TRUE(out.ok()) << out.output_tail;
  pid_t child = std::stoi(out.output_tail);
  bool gone = within(10s, [&] { return !alive(child); });
  if (!gone) ::kill(child, SIGKILL);
  EXPECT_TRUE(gone) << "the background child outlived its deploy step";
}

TEST(DeployCommandRunner, ADetachedChildHoldingTheOutputDoesNotHoldTheRun) {
  // setsid leaves the group (the way to start something that must outlive the step); if it
  // keeps the pipe, the run still ends (a bounded drain), not when the child does.
  TempDir dir;
  PosixCommandRunner runner;
  // The step waits until the child has left the group, then ends.
  auto out = runner.run(
      spec({"/bin/sh", "-c",
            "/usr/bin/setsid /bin/sh -c 'echo $$ > detached.pid; exec /bin/sleep 300' & "
            "while [ ! -s detached.pid ]; do /bin/sleep 0.01; done"},
           dir.path()));
  EXPECT_TRUE(out.ok()) << out.output_tail;
  pid_t child = std::stoi(read(dir.path() + "/detached.pid"));
  EXPECT_TRUE(alive(child)) << "a detached child is not the step's to kill";
  ::kill(child, SIGKILL);
}

TEST(DeployCommandRunner, StoppingTerminatesTheChildAndSaysInterrupted) {
  PosixCommandRunner runner;
  auto s = spec({"/bin/sleep", "30"});
  auto asked = std::chrono::steady_clock::now() + 100ms;
  s.stopping = [&] { return std::chrono::steady_clock::now() > asked; };
  auto out = runner.run(s);
  EXPECT_TRUE(out.interrupted);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.exit_code, 128 + SIGTERM) << "terminated, not left to finish its 30 s";
}

TEST(DeployCommandRunner, ACommandThatIgnoresSigtermIsKilledAfterTheGrace) {
  TempDir dir;
  PosixCommandRunner runner;
  // Without the SIGKILL the sleep would end by itself (exit 0) after 20 s.
  auto s = spec({"/bin/sh", "-c", "trap '' TERM; touch ready; exec /bin/sleep 20"}, dir.path());
  s.timeout = 60s;
  s.stop_grace = 100ms;
  // Ask to stop only once SIGTERM is ignored, so the test cannot pass on a plain SIGTERM.
  s.stopping = [&] { return std::filesystem::exists(dir.path() + "/ready"); };
  auto out = runner.run(s);
  EXPECT_TRUE(out.interrupted);
  EXPECT_FALSE(out.timed_out);
  EXPECT_EQ(out.exit_code, 128 + SIGKILL) << out.output_tail;
}

TEST(DeployCommandRunner, ChildrenGetDefaultSignalStateAndNoInheritedDescriptors) {
  // What a worker process has: SIGTERM blocked, SIGPIPE ignored, descriptors open.
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &old_mask);
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(::dup2(fd, 47), 0);

  PosixCommandRunner runner;
  auto term_out = runner.run(spec({"/bin/sh", "-c", "kill -TERM $$; echo survived"}));
  EXPECT_EQ(term_out.exit_code, 128 + SIGTERM) << term_out.output_tail;
  auto pipe_out = runner.run(spec({"/bin/sh", "-c", "yes | head -n 1"}));
  EXPECT_EQ(pipe_out.output_tail, "y\n") << "yes saw EPIPE instead of dying of SIGPIPE";
  auto fd_out = runner.run(spec({"/usr/bin/readlink", "/proc/self/fd/47"}));
  EXPECT_NE(fd_out.exit_code, 0) << "descriptor 47 leaked: " << fd_out.output_tail;

  ::close(47);
  ::close(fd);
  ::signal(SIGPIPE, old_pipe);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
}

TEST(DeployCommandRunner, AGroupLeftByACrashedWorkerIsKilledBeforeTheNextRun) {
  TempDir dir;
  const std::string group_file = dir.path() + "/running";
  const std::string leader_file = dir.path() + "/leader";
  pid_t worker = ::fork();
  if (worker == 0) {
    PosixCommandRunner runner;
    auto s = spec({"/bin/sh", "-c", "echo $$ > " + leader_file + "; exec /bin/sleep 30"});
    s.timeout = 60s;
    s.group_file = group_file;
    runner.run(s);
    ::_exit(0);
  }
  ASSERT_TRUE(within(
      10s, [&] { return std::filesystem::exists(group_file) && !read(leader_file).empty(); }));
  ::kill(worker, SIGKILL);  // the worker dies; its command does not
  ::waitpid(worker, nullptr, 0);
  pid_t leader = std::stoi(read(leader_file));
  ASSERT_TRUE(alive(leader));

  PosixCommandRunner runner;
  auto s = spec({"/bin/true"});
  s.group_file = group_file;
  EXPECT_TRUE(runner.run(s).ok());
  EXPECT_FALSE(alive(leader)) << "the old deploy's command still runs";
  EXPECT_FALSE(std::filesystem::exists(group_file));
}

TEST(DeployCommandRunner, AStaleGroupFileDoesNotKillAnUnrelatedProcess) {
  TempDir dir;
  const std::string group_file = dir.path() + "/running";
  // Our own process group, with a start time that is not its leader's: a reused pid.
  std::ofstream(group_file) << ::getpgrp() << " 1\n";
  PosixCommandRunner runner;
  auto s = spec({"/bin/true"});
  s.group_file = group_file;
  EXPECT_TRUE(runner.run(s).ok());  // and we are still here
  EXPECT_FALSE(std::filesystem::exists(group_file));
}

TEST(DeployCommandRunner, EnvironmentLayersLaterWinsAndNulBytesGo) {
  std::map<std::string, std::string> base = {{"A", "1"}, {"B", "1"}};
  std::map<std::string, std::string> target = {{"B", "2"}, {"C", "2"}};
  std::map<std::string, std::string> deploy = {{"C", "3"}, {"D", std::string("x\0y", 3)}};
  EXPECT_EQ(make_environment(base, {&target, &deploy}),
            (std::vector<std::string>{"A=1", "B=2", "C=3", "D=xy"}));
}

}  // namespace
}  // namespace wi::deploy
