#include "workers/dropbox/list_folder.h"

#include <simdjson.h>

#include <algorithm>

#include "common/json_text.h"

namespace wi::dropbox {

namespace {

constexpr std::size_t kMaxSummary = 200;

Result<std::optional<std::string>> optional_string(simdjson::dom::object object, const char* key) {
  auto field = object[key];
  if (field.error() == simdjson::NO_SUCH_FIELD || (!field.error() && field.is_null())) {
    return std::optional<std::string>();
  }
  std::string_view text;
  if (field.get(text))
    return Error::invalid(std::string("list_folder: ") + key + " is not a string");
  return std::optional<std::string>(std::string(text));
}

Result<Entry> parse_entry(simdjson::dom::element element) {
  simdjson::dom::object object;
  if (element.get(object)) return Error::invalid("list_folder: an entry is not an object");
  Entry e;
  std::string_view tag;
  if (object[".tag"].get(tag) || tag.empty()) {
    return Error::invalid("list_folder: an entry has no .tag");
  }
  e.tag = std::string(tag);
  auto name = optional_string(object, "name");
  if (!name) return name.error();
  e.name = name->value_or("");
  for (auto [key, out] : {std::pair{"id", &e.id}, std::pair{"path_lower", &e.path_lower},
                          std::pair{"path_display", &e.path_display}, std::pair{"rev", &e.rev},
                          std::pair{"server_modified", &e.server_modified},
                          std::pair{"content_hash", &e.content_hash}}) {
    auto value = optional_string(object, key);
    if (!value) return value.error();
    *out = std::move(*value);
  }
  auto size = object["size"];
  if (!size.error() && !size.is_null()) {
    std::int64_t n = 0;
    std::uint64_t u = 0;
    if (!size.get(n)) {
      e.size = n;
    } else if (!size.get(u)) {
      e.size = static_cast<std::int64_t>(std::min<std::uint64_t>(u, INT64_MAX));
    } else {
      return Error::invalid("list_folder: size is not an integer");
    }
  }
  return e;
}

void append_optional(std::string& out, const char* key, const std::optional<std::string>& value) {
  out += ",\"";
  out += key;
  out += "\":";
  if (value) {
    json::append_string(out, *value);
  } else {
    out += "null";
  }
}

}  // namespace

Result<ListPage> parse_list_page(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(body.data(), body.size()).get(doc)) {
    return Error::invalid("list_folder: the answer is not a JSON object");
  }
  ListPage page;
  std::string_view cursor;
  if (doc["cursor"].get(cursor) || cursor.empty()) {
    return Error::invalid("list_folder: the answer has no cursor");
  }
  page.cursor = std::string(cursor);
  bool has_more = false;
  if (doc["has_more"].get(has_more)) return Error::invalid("list_folder: has_more is not a bool");
  page.has_more = has_more;
  simdjson::dom::array entries;
  if (doc["entries"].get(entries)) return Error::invalid("list_folder: entries is not a list");
  for (auto element : entries) {
    auto entry = parse_entry(element);
    if (!entry) return entry.error();
    page.entries.push_back(std::move(*entry));
  }
  return page;
}

ApiError parse_api_error(std::string_view body) {
  ApiError out;
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(body.data(), body.size()).get(doc)) return out;
  std::string_view summary;
  if (!doc["error_summary"].get(summary)) {
    // Only printable ASCII, bounded: it ends up in logs and in dlq-reason headers.
    for (char c : summary.substr(0, kMaxSummary)) {
      out.summary += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
  }
  simdjson::dom::object error;
  if (!doc["error"].get(error)) {
    std::string_view tag;
    if (!error[".tag"].get(tag)) out.tag = std::string(tag.substr(0, 64));
    std::int64_t retry_after = 0;
    if (!error["retry_after"].get(retry_after) && retry_after >= 0) out.retry_after_s = retry_after;
  }
  return out;
}

bool is_reset(const ApiError& error) {
  return error.tag == "reset" || error.summary.rfind("reset/", 0) == 0 || error.summary == "reset";
}

std::string change_json(const std::string& account_id, const Entry& entry,
                        const std::string& event_id) {
  std::string out = "{\"account_id\":";
  json::append_string(out, account_id);
  out += ",\"tag\":";
  json::append_string(out, entry.tag);
  append_optional(out, "id", entry.id);
  out += ",\"name\":";
  json::append_string(out, entry.name);
  append_optional(out, "path_lower", entry.path_lower);
  append_optional(out, "path_display", entry.path_display);
  append_optional(out, "rev", entry.rev);
  out += ",\"size\":";
  out += entry.size ? std::to_string(*entry.size) : "null";
  append_optional(out, "server_modified", entry.server_modified);
  append_optional(out, "content_hash", entry.content_hash);
  out += ",\"event_id\":";
  json::append_string(out, event_id);
  out += "}";
  return out;
}

}  // namespace wi::dropbox
