#pragma once
// Git: the operations the deploy logic needs on a target's work tree, so the logic can be
// tested with a fake. GitRepo runs the real git through a CommandRunner: argv only, `--`
// before operands, GIT_TERMINAL_PROMPT=0 (never wait for a password), each command bounded
// by a timeout. SHAs are checked to be 40 hex before they reach an argv; nothing else from a
// payload ever does.
//
// Errors: fetch failures are retryable (the remote may be back later); every other failure
// is permanent for the record at hand. An interrupted command (shutdown) is reported as
// retryable with ErrorCode::kUnavailable, and the caller checks stopping() itself.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "workers/deploy/command_runner.h"

namespace wi::deploy {

// What a failed git command said, for an error message: the first line starting with
// "fatal:" or "error:" (where git says what went wrong; hints and "Please make sure..."
// follow it), else the first non-empty line; trimmed, at most 300 bytes (then "..."), and
// "no output" when there is none. Never the whole output.
std::string git_error_summary(std::string_view output);

struct WorkTree {
  std::string top_level;  // absolute
  std::string git_dir;    // absolute
};

class Git {
 public:
  virtual ~Git() = default;
  // The work tree containing `dir`, after checking that `remote` is configured in it.
  virtual Result<WorkTree> inspect(const std::string& dir, const std::string& remote) = 0;
  // Fetches the remote's branches into refs/remotes/<remote>/ (and tags when `tags`),
  // pruning deleted ones.
  virtual Status fetch(const std::string& dir, const std::string& remote, bool tags,
                       const std::function<bool()>& stopping) = 0;
  // HEAD's commit; nullopt in a repository without commits.
  virtual Result<std::optional<std::string>> head(const std::string& dir) = 0;
  // The commit `sha` names (peeling an annotated tag), or nullopt when it is not in the
  // repository.
  virtual Result<std::optional<std::string>> resolve_commit(const std::string& dir,
                                                            const std::string& sha) = 0;
  // Detached, forced: local changes to tracked files are discarded.
  virtual Status checkout(const std::string& dir, const std::string& commit) = 0;
  // Where the remote's `ref` points in this clone as of the last fetch(): refs/heads/<b> is
  // read from refs/remotes/<remote>/<b>, refs/tags/<t> from refs/tags/<t> (the tag object
  // for an annotated tag, as GitHub's `after` is). nullopt when the ref is not there (deleted
  // on the remote, or never fetched). `ref` is payload text: it is compared, never passed to
  // git.
  virtual Result<std::optional<std::string>> remote_ref(const std::string& dir,
                                                        const std::string& remote,
                                                        const std::string& ref) = 0;
};

class GitRepo final : public Git {
 public:
  // `base_env`: the environment git runs with (GIT_DIR and friends are removed from it).
  GitRepo(CommandRunner& runner, std::map<std::string, std::string> base_env,
          std::chrono::milliseconds timeout);

  Result<WorkTree> inspect(const std::string& dir, const std::string& remote) override;
  Status fetch(const std::string& dir, const std::string& remote, bool tags,
               const std::function<bool()>& stopping) override;
  Result<std::optional<std::string>> head(const std::string& dir) override;
  Result<std::optional<std::string>> resolve_commit(const std::string& dir,
                                                    const std::string& sha) override;
  Status checkout(const std::string& dir, const std::string& commit) override;
  Result<std::optional<std::string>> remote_ref(const std::string& dir, const std::string& remote,
                                                const std::string& ref) override;

 private:
  CommandOutcome git(const std::string& dir, std::vector<std::string> args,
                     const std::function<bool()>& stopping = {},
                     std::size_t output_limit = CommandSpec{}.output_limit);

  CommandRunner& runner_;
  std::vector<std::string> env_;
  std::chrono::milliseconds timeout_;
};

}  // namespace wi::deploy
