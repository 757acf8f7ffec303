#pragma once
// A Dropbox webhook notification (PROVIDERS.md "Notification"):
//   {"list_folder":{"accounts":["dbid:..."]},"delta":{"users":[12345]}}
// Only list_folder.accounts (v2 account ids) matters. A record on webhooks.dropbox can be
// anything (a replay, a hand-produced record), so every shape problem is a clear error.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace wi::dropbox {

// The account ids, duplicates removed, in first-seen order. Error::invalid when the body is
// not JSON, has no list_folder.accounts list, or an id is not a plausible account id.
Result<std::vector<std::string>> parse_notification(std::string_view body);

// 1 to 128 characters of [A-Za-z0-9:_-] ("dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"): safe as
// a Kafka key and in a log line.
bool is_account_id(std::string_view id);

}  // namespace wi::dropbox
