#include "workers/dropbox/notification.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>

namespace wi::dropbox {

bool is_account_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '_' || c == '-';
  });
}

Result<std::vector<std::string>> parse_notification(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(body.data(), body.size()).get(doc)) {
    return Error::invalid("notification: not a JSON object");
  }
  simdjson::dom::object list_folder;
  if (doc["list_folder"].get(list_folder)) {
    return Error::invalid("notification: no list_folder object");
  }
  simdjson::dom::array accounts;
  if (list_folder["accounts"].get(accounts)) {
    return Error::invalid("notification: list_folder.accounts is not a list");
  }
  std::vector<std::string> out;
  std::size_t index = 0;
  for (auto element : accounts) {
    std::string_view id;
    if (element.get(id) || !is_account_id(id)) {
      return Error::invalid("notification: list_folder.accounts[" + std::to_string(index) +
                            "] is not an account id");
    }
    if (std::find(out.begin(), out.end(), id) == out.end()) out.emplace_back(id);
    ++index;
  }
  return out;
}

}  // namespace wi::dropbox
