#pragma once
// The fields of a GitHub `push` delivery that the deploy agent acts on (PROVIDERS.md), read
// from the raw record value: JSON, or a form body whose `payload` field holds the JSON.
//
// Everything here is payload text: it may be compared, logged (quoted), put into a result
// record or a child's environment, but never into an argv or a shell command line. SHAs are
// checked with is_sha() before git sees them.

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace wi::deploy {

struct PushEvent {
  std::string ref;     // "refs/heads/main", "refs/tags/v1"
  std::string before;  // 40 hex, all zeros for a new branch
  std::string after;   // 40 hex, all zeros for a deletion
  bool deleted = false;
  std::string repository;                     // repository.full_name, "owner/name"
  std::string pusher;                         // pusher.name ("" when absent)
  std::optional<std::string> head_commit_id;  // head_commit.id; head_commit may be null

  // "main" for refs/heads/main, else nullopt.
  std::optional<std::string> branch() const;
  // "v1" for refs/tags/v1, else nullopt.
  std::optional<std::string> tag() const;
};

// `content_type` is the record's `content-type` header (the request's, verbatim; may be
// empty). Errors are permanent (ErrorCode::kInvalidArgument): the body will not parse better
// next time.
Result<PushEvent> parse_push_event(std::string_view body, std::string_view content_type);

// Exactly 40 lowercase hex digits (what GitHub sends, and what git prints).
bool is_sha(std::string_view text);

// ASCII-case-insensitive equality (GitHub repository names are case-insensitive).
bool iequals(std::string_view a, std::string_view b);

}  // namespace wi::deploy
