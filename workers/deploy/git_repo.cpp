#include "workers/deploy/git_repo.h"

#include <fmt/format.h>

#include <filesystem>
#include <sstream>

#include "common/text.h"
#include "workers/deploy/push_event.h"

namespace wi::deploy {

namespace {

std::string describe(const CommandOutcome& out) {
  if (out.timed_out) return "timed out";
  if (out.interrupted) return "interrupted";
  std::string_view tail = out.output_tail;
  if (out.output_bytes > tail.size()) {
    // The tail starts mid-output: its first line may be a fragment.
    auto eol = tail.find('\n');
    tail = eol == std::string_view::npos ? std::string_view() : tail.substr(eol + 1);
  }
  return fmt::format("exit {}: {}", out.exit_code, git_error_summary(tail));
}

// The last line that is a full SHA (git may print warnings around it).
std::optional<std::string> sha_line(const std::string& output) {
  std::istringstream in(output);
  std::optional<std::string> found;
  for (std::string line; std::getline(in, line);) {
    if (is_sha(line)) found = line;
  }
  return found;
}

std::vector<std::string> lines(const std::string& output) {
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

std::string git_error_summary(std::string_view output) {
  constexpr std::size_t kMaxSummary = 300;
  std::string_view first_non_empty;
  std::string_view chosen;
  for (std::size_t pos = 0; pos < output.size();) {
    auto eol = output.find('\n', pos);
    if (eol == std::string_view::npos) eol = output.size();
    std::string_view line = text::trim(output.substr(pos, eol - pos), " \t\r");
    pos = eol + 1;
    if (line.empty()) continue;
    if (line.starts_with("fatal:") || line.starts_with("error:")) {
      chosen = line;
      break;
    }
    if (first_non_empty.empty()) first_non_empty = line;
  }
  if (chosen.empty()) chosen = first_non_empty;
  if (chosen.empty()) return "no output";
  if (chosen.size() <= kMaxSummary) return std::string(chosen);
  std::size_t cut = kMaxSummary;
  // Never cut inside a UTF-8 character.
  while (cut > 0 && (static_cast<unsigned char>(chosen[cut]) & 0xC0) == 0x80) --cut;
  return std::string(chosen.substr(0, cut)) + "...";
}

GitRepo::GitRepo(CommandRunner& runner, std::map<std::string, std::string> base_env,
                 std::chrono::milliseconds timeout)
    : runner_(runner), timeout_(timeout) {
  // The repository is always the one in the target dir, whatever the worker inherited.
  for (const char* name : {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                           "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CEILING_DIRECTORIES",
                           "GIT_NAMESPACE", "GIT_COMMON_DIR"}) {
    base_env.erase(name);
  }
  const std::map<std::string, std::string> fixed = {
      {"GIT_TERMINAL_PROMPT", "0"},  // a missing credential fails instead of waiting forever
      {"LC_ALL", "C"},               // messages we parse and log stay in one language
  };
  env_ = make_environment(base_env, {&fixed});
}

CommandOutcome GitRepo::git(const std::string& dir, std::vector<std::string> args,
                            const std::function<bool()>& stopping, std::size_t output_limit) {
  CommandSpec spec;
  spec.output_limit = output_limit;
  spec.argv = {"git"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.cwd = dir;
  spec.env = env_;
  spec.timeout = timeout_;
  spec.stopping = stopping;
  return runner_.run(spec);
}

Result<WorkTree> GitRepo::inspect(const std::string& dir, const std::string& remote) {
  auto where = git(dir, {"rev-parse", "--show-toplevel", "--absolute-git-dir"});
  if (!where.ok()) return Error::invalid(fmt::format("not a git work tree ({})", describe(where)));
  auto out = lines(where.output_tail);
  if (out.size() < 2) return Error::invalid("git rev-parse gave no work tree");
  WorkTree tree{out[out.size() - 2], out[out.size() - 1]};
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(dir, ec).string();
  if (ec || canonical != tree.top_level) {
    return Error::invalid(
        fmt::format("is inside the work tree {}, not its top level", tree.top_level));
  }
  auto url = git(dir, {"remote", "get-url", "--", remote});
  if (!url.ok()) {
    return Error::invalid(fmt::format("remote '{}' is not configured ({})", remote, describe(url)));
  }
  return tree;
}

Status GitRepo::fetch(const std::string& dir, const std::string& remote, bool tags,
                      const std::function<bool()>& stopping) {
  std::vector<std::string> args = {"fetch", "--quiet", "--prune"};
  if (tags) {
    args.push_back("--tags");
    args.push_back("--force");  // a moved tag is updated, not refused
  }
  args.push_back("--");
  args.push_back(remote);
  // Every branch into refs/remotes/<remote>/, whatever the clone's own refspec (a
  // --single-branch or mirror clone): remote_ref() reads the tips from there.
  args.push_back("+refs/heads/*:refs/remotes/" + remote + "/*");
  auto out = git(dir, args, stopping);
  if (out.ok()) return {};
  auto message = fmt::format("git fetch {}: {}", remote, describe(out));
  return out.timed_out ? Error::timeout(message) : Error::unavailable(message);
}

Result<std::optional<std::string>> GitRepo::head(const std::string& dir) {
  auto out = git(dir, {"rev-parse", "--verify", "--quiet", "HEAD"});
  if (out.ok()) {
    auto sha = sha_line(out.output_tail);
    if (!sha) return Error::internal("git rev-parse HEAD printed no commit");
    return std::optional<std::string>(*sha);
  }
  if (out.exit_code == 1 && !out.timed_out && !out.interrupted) {
    return std::optional<std::string>();  // no commit yet
  }
  return Error::internal(fmt::format("git rev-parse HEAD: {}", describe(out)));
}

Result<std::optional<std::string>> GitRepo::resolve_commit(const std::string& dir,
                                                           const std::string& sha) {
  if (!is_sha(sha)) return Error::invalid("not a 40-hex commit id");
  auto out = git(dir, {"rev-parse", "--verify", "--quiet", "--end-of-options", sha + "^{commit}"});
  if (out.ok()) {
    auto commit = sha_line(out.output_tail);
    if (!commit) return Error::internal("git rev-parse printed no commit");
    return std::optional<std::string>(*commit);
  }
  if (out.exit_code == 1 && !out.timed_out && !out.interrupted) {
    return std::optional<std::string>();  // not in the repository
  }
  return Error::internal(fmt::format("git rev-parse {}: {}", sha, describe(out)));
}

Status GitRepo::checkout(const std::string& dir, const std::string& commit) {
  if (!is_sha(commit)) return Error::invalid("not a 40-hex commit id");
  auto out = git(dir, {"-c", "advice.detachedHead=false", "checkout", "--quiet", "--force",
                       "--detach", commit, "--"});
  if (out.ok()) return {};
  return Error::internal(fmt::format("git checkout {}: {}", commit, describe(out)));
}

Result<std::optional<std::string>> GitRepo::remote_ref(const std::string& dir,
                                                      const std::string& remote,
                                                      const std::string& ref) {
  static constexpr std::string_view kHeads = "refs/heads/", kTags = "refs/tags/";
  std::string local_name, pattern;
  if (ref.compare(0, kHeads.size(), kHeads) == 0) {
    local_name = "refs/remotes/" + remote + "/" + ref.substr(kHeads.size());
    pattern = "refs/remotes/" + remote + "/";  // the remote name is config, not payload
  } else if (ref.compare(0, kTags.size(), kTags) == 0) {
    local_name = ref;
    pattern = "refs/tags/";
  } else {
    return std::optional<std::string>();
  }
  // Every ref under the pattern, matched here: the pushed ref's name never reaches an argv
  // (where it would also be a glob). The whole listing is kept, or the answer is an error.
  constexpr std::size_t kListingLimit = 8 << 20;
  auto out = git(dir, {"for-each-ref", "--format=%(objectname) %(refname)", pattern}, {},
                 kListingLimit);
  if (!out.ok()) return Error::internal(fmt::format("git for-each-ref: {}", describe(out)));
  if (out.output_bytes > kListingLimit) {
    return Error::internal(fmt::format("git for-each-ref {}: more than {} bytes of refs", pattern,
                                       kListingLimit));
  }
  for (const auto& line : lines(out.output_tail)) {
    auto space = line.find(' ');
    if (space == std::string::npos) continue;
    if (line.compare(space + 1, std::string::npos, local_name) == 0 &&
        is_sha(line.substr(0, space))) {
      return std::optional<std::string>(line.substr(0, space));
    }
  }
  return std::optional<std::string>();
}

}  // namespace wi::deploy
