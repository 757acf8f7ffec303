#include "workers/deploy/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

namespace wi::deploy {

namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kPollSlice = 20ms;
// After the program exits (and its group is killed), output still in the pipe is read for
// this long: a process that left the group (setsid) but kept the pipe must not keep the
// deploy waiting.
constexpr auto kDrainAfterExit = 200ms;

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& entry : env) {
    if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
        entry[name.size()] == '=') {
      return entry.substr(name.size() + 1);
    }
  }
  return {};
}

// argv[0] as execvp would find it, but in the child's PATH and ignoring relative PATH
// entries: the commands run inside a checkout of pushed code, and "." in PATH would let
// that code stand in for system programs.
std::string resolve_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = env_value(env, "PATH");
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty() || dir.front() != '/') continue;
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or 0 when the
// process does not exist or is a zombie. With the pid it identifies a process across pid
// reuse.
std::uint64_t start_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22 && (fields >> field); ++i) {
    if (i == 3 && (field == "Z" || field == "X")) return 0;
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

// A group recorded by a worker that died while its command ran: kill it if its leader is
// still that same process (same pid and start time), so the new run does not race it.
void kill_leftover_group(const std::string& file) {
  std::ifstream in(file);
  long long pgid = 0;
  std::uint64_t started = 0;
  if (!(in >> pgid >> started)) {
    std::remove(file.c_str());
    return;
  }
  in.close();
  if (pgid > 1 && started != 0 && start_time(static_cast<pid_t>(pgid)) == started) {
    ::kill(static_cast<pid_t>(-pgid), SIGKILL);
    // It is not our child: its new parent reaps it. Wait (briefly) until it is gone.
    auto until = SteadyClock::now() + 5s;
    while (start_time(static_cast<pid_t>(pgid)) == started && SteadyClock::now() < until) {
      std::this_thread::sleep_for(10ms);
    }
  }
  std::remove(file.c_str());
}

// True once `pid` (our child) has exited, without reaping it: until it is reaped its pid
// stays taken, so the group it led can still be signalled by that id without hitting a
// process that reused it.
bool exited_unreaped(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

void write_group_file(const std::string& file, pid_t pgid) {
  std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << pgid << " " << start_time(pgid) << "\n";
    if (!out) return;
  }
  std::rename(tmp.c_str(), file.c_str());
}

class Tail {
 public:
  explicit Tail(std::size_t limit) : limit_(limit) {}
  void append(const char* data, std::size_t n) {
    total_ += n;
    buffer_.append(data, n);
    if (buffer_.size() > 2 * limit_ + 65536) buffer_.erase(0, buffer_.size() - limit_);
  }
  std::string take() {
    if (buffer_.size() > limit_) buffer_.erase(0, buffer_.size() - limit_);
    return std::move(buffer_);
  }
  std::uint64_t total() const { return total_; }

 private:
  std::size_t limit_;
  std::string buffer_;
  std::uint64_t total_ = 0;
};

CommandOutcome spawn_failure(int exit_code, std::string message, SteadyClock::time_point started) {
  CommandOutcome out;
  out.spawn_failed = true;
  out.exit_code = exit_code;
  out.output_tail = std::move(message);
  out.output_bytes = out.output_tail.size();
  out.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
  return out;
}

}  // namespace

std::vector<std::string> make_environment(
    const std::map<std::string, std::string>& base,
    std::initializer_list<const std::map<std::string, std::string>*> overrides) {
  std::map<std::string, std::string> merged = base;
  for (const auto* layer : overrides) {
    for (const auto& [name, value] : *layer) merged[name] = value;
  }
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [name, value] : merged) {
    std::string entry = name + "=" + value;
    entry.erase(std::remove(entry.begin(), entry.end(), '\0'), entry.end());
    out.push_back(std::move(entry));
  }
  return out;
}

CommandOutcome PosixCommandRunner::run(const CommandSpec& spec) {
  const auto started = SteadyClock::now();
  if (!spec.group_file.empty()) kill_leftover_group(spec.group_file);
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return spawn_failure(127, "empty command\n", started);
  }
  std::string program = resolve_program(spec.argv[0], spec.env);
  if (program.empty()) {
    return spawn_failure(127, "command not found in PATH: " + spec.argv[0] + "\n", started);
  }

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return spawn_failure(126, std::string("pipe: ") + std::strerror(errno) + "\n", started);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);  // a new group led by the child
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigdefault(&attr, &defaults);

  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return spawn_failure(rc == ENOENT ? 127 : 126,
                         "cannot run " + spec.argv[0] + ": " + std::strerror(rc) + "\n", started);
  }
  if (!spec.group_file.empty()) write_group_file(spec.group_file, pid);

  CommandOutcome out;
  Tail tail(spec.output_limit);
  const auto deadline = started + spec.timeout;
  bool exited = false, eof = false, killed = false;
  int status = 0;
  SteadyClock::time_point drain_until{}, kill_at{};
  char buf[65536];
  while (true) {
    auto now = SteadyClock::now();
    if (!exited && exited_unreaped(pid)) {
      // A step ends with its program: whatever it left running in its group (`cmd &`,
      // daemons that did not detach) is killed before the next step or deploy starts.
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exited = true;
      drain_until = now + kDrainAfterExit;
    }
    if (exited && (eof || now >= drain_until)) break;
    if (!exited && !out.timed_out && !out.interrupted) {
      if (now >= deadline) {
        ::kill(-pid, SIGKILL);  // the whole group: whatever the command started goes too
        out.timed_out = killed = true;
      } else if (spec.stopping && spec.stopping()) {
        ::kill(-pid, SIGTERM);
        out.interrupted = true;
        kill_at = now + spec.stop_grace;
      }
    }
    if (out.interrupted && !exited && !killed && now >= kill_at) {
      ::kill(-pid, SIGKILL);
      killed = true;
    }
    if (eof) {
      std::this_thread::sleep_for(kPollSlice);  // output done, the program not yet
      continue;
    }
    pollfd p{fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(kPollSlice.count()));
    if (ready > 0) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n > 0) {
        tail.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        eof = true;
      }
    }
  }
  ::close(fds[0]);
  if (!spec.group_file.empty()) std::remove(spec.group_file.c_str());

  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.exit_code = 128 + WTERMSIG(status);
  }
  out.output_bytes = tail.total();
  out.output_tail = tail.take();
  out.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
  return out;
}

}  // namespace wi::deploy
