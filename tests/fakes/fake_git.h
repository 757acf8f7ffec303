#pragma once
// FakeGit: repositories as sets of commits, for the deploy agent's tests.
//   remote / local / checked_out / peeled  → what the remote has, what a fetch brought in, HEAD,
//                                            annotated tag object → commit
//   remote_refs                            → the remote's refs ("refs/heads/main" → sha); a
//                                            successful fetch copies them to fetched_refs,
//                                            which remote_ref() answers from
//   fetch_failures = n                     → the next n fetches fail (retryable)
//   checkout_fails                         → every checkout fails (permanent)
//   work_trees                             → when set, inspect() knows only these dirs (others
//                                            are "not a git work tree"); unset, every dir is a
//                                            work tree with its .git inside
// fetch and checkout calls are kept in `calls`, one readable line each. Not thread-safe.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "workers/deploy/git_repo.h"

namespace wi::fakes {

class FakeGit final : public deploy::Git {
 public:
  std::optional<std::string> checked_out;
  std::set<std::string> local;
  std::set<std::string> remote;
  std::map<std::string, std::string> peeled;
  std::map<std::string, std::string> remote_refs;
  std::map<std::string, std::string> fetched_refs;
  int fetch_failures = 0;
  bool checkout_fails = false;
  std::optional<std::map<std::string, Result<deploy::WorkTree>>> work_trees;
  std::vector<std::string> calls;

  Result<deploy::WorkTree> inspect(const std::string& dir, const std::string&) override {
    if (!work_trees) return deploy::WorkTree{dir, dir + "/.git"};
    auto it = work_trees->find(dir);
    if (it == work_trees->end()) return Error::invalid("not a git work tree (exit 128: fatal)");
    return it->second;
  }
  Status fetch(const std::string& dir, const std::string& remote_name, bool tags,
               const std::function<bool()>&) override {
    calls.push_back("fetch " + dir + " " + remote_name + (tags ? " tags" : ""));
    if (fetch_failures > 0) {
      --fetch_failures;
      return Error::unavailable("git fetch origin: exit 128: fatal: unable to access");
    }
    local.insert(remote.begin(), remote.end());
    fetched_refs = remote_refs;
    return {};
  }
  Result<std::optional<std::string>> head(const std::string&) override { return checked_out; }
  Result<std::optional<std::string>> resolve_commit(const std::string&,
                                                    const std::string& sha) override {
    if (!local.count(sha)) return std::optional<std::string>();
    auto it = peeled.find(sha);
    return std::optional<std::string>(it == peeled.end() ? sha : it->second);
  }
  Status checkout(const std::string& dir, const std::string& commit) override {
    calls.push_back("checkout " + dir + " " + commit);
    if (checkout_fails) return Error::internal("git checkout: exit 128: fatal: index.lock exists");
    checked_out = commit;
    return {};
  }
  Result<std::optional<std::string>> remote_ref(const std::string&, const std::string&,
                                                const std::string& ref) override {
    auto it = fetched_refs.find(ref);
    return it == fetched_refs.end() ? std::optional<std::string>() : it->second;
  }
};

}  // namespace wi::fakes
