#include "workers/deploy/push_event.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "common/codec.h"

namespace wi::deploy {

namespace {

constexpr std::string_view kHeads = "refs/heads/";
constexpr std::string_view kTags = "refs/tags/";

std::string media_type(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.front())))
    type.remove_prefix(1);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back())))
    type.remove_suffix(1);
  std::string out(type);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A string member, or nullopt when it is missing or null; an error for any other type.
Result<std::optional<std::string>> string_field(simdjson::dom::element object, const char* key) {
  auto field = object[key];
  if (field.error() == simdjson::NO_SUCH_FIELD) return std::optional<std::string>();
  if (field.error()) return Error::invalid(std::string("push payload: ") + key + " unreadable");
  if (field.is_null()) return std::optional<std::string>();
  std::string_view text;
  if (field.get(text))
    return Error::invalid(std::string("push payload: ") + key + " is not a string");
  return std::optional<std::string>(std::string(text));
}

}  // namespace

std::optional<std::string> PushEvent::branch() const {
  if (ref.rfind(kHeads, 0) != 0 || ref.size() == kHeads.size()) return std::nullopt;
  return ref.substr(kHeads.size());
}

std::optional<std::string> PushEvent::tag() const {
  if (ref.rfind(kTags, 0) != 0 || ref.size() == kTags.size()) return std::nullopt;
  return ref.substr(kTags.size());
}

bool is_sha(std::string_view text) {
  return text.size() == 40 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Result<PushEvent> parse_push_event(std::string_view body, std::string_view content_type) {
  std::string json;
  if (media_type(content_type) == "application/x-www-form-urlencoded") {
    auto fields = codec::parse_form(body);
    if (!fields) return fields.error();
    bool found = false;
    for (auto& [name, value] : *fields) {
      if (name == "payload") {
        json = std::move(value);
        found = true;
        break;
      }
    }
    if (!found) return Error::invalid("push payload: form body without a payload field");
  } else {
    json.assign(body);
  }

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(json).get(root)) {
    return Error::invalid(std::string("push payload: not JSON (") + simdjson::error_message(error) +
                          ")");
  }
  if (!root.is_object()) return Error::invalid("push payload: not a JSON object");

  PushEvent push;
  auto ref = string_field(root, "ref");
  if (!ref) return ref.error();
  if (!*ref || (*ref)->empty()) return Error::invalid("push payload: ref missing");
  push.ref = std::move(**ref);
  for (auto [key, out] : {std::pair{"before", &push.before}, std::pair{"after", &push.after}}) {
    auto value = string_field(root, key);
    if (!value) return value.error();
    if (!*value) return Error::invalid(std::string("push payload: ") + key + " missing");
    *out = std::move(**value);
  }
  auto deleted = root["deleted"];
  if (!deleted.error() && !deleted.is_null()) {
    bool flag = false;
    if (deleted.get(flag)) return Error::invalid("push payload: deleted is not a boolean");
    push.deleted = flag;
  }

  simdjson::dom::element repository;
  if (root["repository"].get(repository) || !repository.is_object()) {
    return Error::invalid("push payload: repository missing");
  }
  auto full_name = string_field(repository, "full_name");
  if (!full_name) return full_name.error();
  if (!*full_name || (*full_name)->empty()) {
    return Error::invalid("push payload: repository.full_name missing");
  }
  push.repository = std::move(**full_name);

  simdjson::dom::element pusher;
  if (!root["pusher"].get(pusher) && pusher.is_object()) {
    auto name = string_field(pusher, "name");
    if (!name) return name.error();
    push.pusher = name->value_or("");
  }
  simdjson::dom::element head_commit;
  if (!root["head_commit"].get(head_commit) && head_commit.is_object()) {
    auto id = string_field(head_commit, "id");
    if (!id) return id.error();
    push.head_commit_id = *id;
  }
  return push;
}

}  // namespace wi::deploy
