#pragma once
// DeployLedger: what this agent last finished in each target's work tree, kept next to it
// (<git dir>/deploy-worker/) so that it survives restarts and dies with the clone.
//
// Why not just "HEAD == after": a worker killed after the checkout but before the commands
// finished leaves HEAD at `after` with the deploy half done. The ledger entry is removed
// before the checkout and written once every command has run (or one failed), so "already
// deployed" means "checked out AND finished here" — and a redelivered push whose deploy was
// interrupted runs again (SPEC §5: at-least-once, idempotent side effects).

#include <optional>
#include <string>

#include "common/result.h"

namespace wi::deploy {

struct LedgerEntry {
  std::string commit;
  bool succeeded = false;
  bool operator==(const LedgerEntry&) const = default;
};

class DeployLedger {
 public:
  virtual ~DeployLedger() = default;
  // The last finished deploy in `git_dir`, or nullopt (none, or one is in progress).
  virtual std::optional<LedgerEntry> last(const std::string& git_dir) = 0;
  // Called before the checkout: from now on nothing counts as finished.
  virtual Status begin(const std::string& git_dir) = 0;
  virtual Status finish(const std::string& git_dir, const LedgerEntry& entry) = 0;
  // Where the command runner records a running process group for this work tree.
  virtual std::string group_file(const std::string& git_dir) = 0;
};

// Files under <git_dir>/deploy-worker/, replaced atomically (write, fsync, rename).
class FileDeployLedger final : public DeployLedger {
 public:
  std::optional<LedgerEntry> last(const std::string& git_dir) override;
  Status begin(const std::string& git_dir) override;
  Status finish(const std::string& git_dir, const LedgerEntry& entry) override;
  std::string group_file(const std::string& git_dir) override;
};

}  // namespace wi::deploy
