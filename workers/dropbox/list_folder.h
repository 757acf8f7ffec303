#pragma once
// The shapes of Dropbox's files/list_folder API (PROVIDERS.md "Fetching changes") and of the
// change records dropbox-worker emits on dropbox.changes (SPEC §5): parsing and formatting
// only, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace wi::dropbox {

// One entry of a list_folder answer. Optional fields are absent for some tags (a deleted
// entry has no id, a folder no rev or size).
struct Entry {
  std::string tag;  // file | folder | deleted
  std::string name;
  std::optional<std::string> id;
  std::optional<std::string> path_lower;
  std::optional<std::string> path_display;
  std::optional<std::string> rev;
  std::optional<std::int64_t> size;
  std::optional<std::string> server_modified;
  std::optional<std::string> content_hash;
  bool operator==(const Entry&) const = default;
};

struct ListPage {
  std::vector<Entry> entries;
  std::string cursor;
  bool has_more = false;
};

// A 200 answer of list_folder or list_folder/continue. Error::invalid when it is not the
// documented shape (no cursor, entries that are not objects with a .tag, ...).
Result<ListPage> parse_list_page(std::string_view body);

// What an error answer says (every field optional: a proxy may answer with HTML).
struct ApiError {
  std::string summary;  // error_summary, bounded and printable (safe for logs and dlq-reason)
  std::string tag;      // error[".tag"]
  std::optional<std::int64_t> retry_after_s;  // error.retry_after (429)
};
ApiError parse_api_error(std::string_view body);

// True for an expired cursor: HTTP 409 with error tag "reset" or summary "reset/...".
bool is_reset(const ApiError& error);

// The JSON value of one change record on dropbox.changes: account_id, tag, id, name,
// path_lower, path_display, rev, size, server_modified, content_hash, event_id (absent
// fields are null).
std::string change_json(const std::string& account_id, const Entry& entry,
                        const std::string& event_id);

}  // namespace wi::dropbox
