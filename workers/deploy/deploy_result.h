#pragma once
// The record deploy-worker publishes on github.deploys for every push that matches a target
// (SPEC §5): one JSON object per handled push, key = repo.
//
//   {"repo":"acme/web","ref":"refs/heads/main","sha":"<after>","host":"web-1",
//    "status":"success|failure|skipped","reason":"...","detail":"...",
//    "steps":[{"argv":[...],"exit_code":0,"timed_out":false,"duration_ms":12,
//              "output_tail":"...","output_bytes":42}],
//    "started_at":"...Z","finished_at":"...Z","event_id":"...",
//    "target":"acme/web@main","commit":"<checked-out commit>","before":"...","pusher":"..."}

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"

namespace wi::deploy {

enum class DeployStatus { kSuccess, kFailure, kSkipped };
const char* to_string(DeployStatus status);

// Reasons (stable strings, for dashboards and alerts).
namespace reason {
inline constexpr const char* kDeployed = "deployed";
inline constexpr const char* kSuperseded = "superseded";
inline constexpr const char* kStale = "stale";  // not the ref's tip, and not a replay
inline constexpr const char* kDeleted = "deleted";
inline constexpr const char* kAlreadyDeployed = "already_deployed";
inline constexpr const char* kAlreadyFailed = "already_failed";
inline constexpr const char* kInvalidSha = "invalid_sha";
inline constexpr const char* kFetchFailed = "fetch_failed";
inline constexpr const char* kCommitNotFound = "commit_not_found";
inline constexpr const char* kCheckoutFailed = "checkout_failed";
inline constexpr const char* kCommandFailed = "command_failed";
inline constexpr const char* kCommandTimedOut = "command_timed_out";
inline constexpr const char* kGitFailed = "git_failed";
}  // namespace reason

struct StepResult {
  std::vector<std::string> argv;
  int exit_code = 0;
  bool timed_out = false;
  std::chrono::milliseconds duration{0};
  std::string output_tail;
  std::uint64_t output_bytes = 0;
};

struct DeployResult {
  std::string repo;
  std::string ref;
  std::string sha;  // the push's `after`
  std::string host;
  DeployStatus status = DeployStatus::kSkipped;
  std::string reason;
  std::string detail;  // human-readable, may be empty
  std::vector<StepResult> steps;
  SystemTime started_at{};
  SystemTime finished_at{};
  std::string event_id;
  std::string target;
  std::optional<std::string> commit;  // what was checked out (differs from sha for tags)
  std::string before;
  std::string pusher;
  std::optional<std::string> superseded_by;  // event id of the newer push
};

std::string to_json(const DeployResult& result);

}  // namespace wi::deploy
