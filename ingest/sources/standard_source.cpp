// Standard Webhooks / Svix (PROVIDERS.md): webhook-id, webhook-timestamp and
// webhook-signature ("v1,<base64> v1,<base64> ..."); signed content "<id>.<timestamp>.<body>";
// the key is the base64-decoded secret, decoded once here rather than per request.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/sources/content_types.h"
#include "ingest/sources/field_ref.h"
#include "ingest/sources/json_fields.h"
#include "ingest/sources/kinds.h"
#include "ingest/sources/schemes.h"
#include "ingest/sources/signature.h"
#include "ingest/sources/timestamp.h"

namespace wi::ingest {
namespace {

constexpr const char* kTypePointer = "/type";

Result<std::vector<Secret>> decode_secrets(const std::vector<Secret>& secrets) {
  std::vector<Secret> keys;
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    auto key = schemes::standard_key(secrets[i].reveal());
    if (!key) {
      return Error::invalid("secret " + std::to_string(i + 1) +
                            " is not base64 (after an optional whsec_ prefix)");
    }
    keys.emplace_back(std::move(*key));
  }
  return keys;
}

class StandardSource final : public Source {
 public:
  StandardSource(const SourceSettings& settings, std::vector<Secret> keys)
      : keys_(std::move(keys)),
        tolerance_(settings.tolerance),
        key_(settings.key),
        content_types_(settings.content_types, {std::string(kJsonMediaType)}) {
    pointers_.push_back(kTypePointer);
    add_pointer(key_, pointers_);
  }

  VerifyOutcome verify(const InboundRequest& request, SystemTime now) const override {
    if (keys_.empty()) return reject("no secret configured");
    const std::string* id = request.headers.find(schemes::kStandardId);
    if (id == nullptr || id->empty()) return reject("missing webhook-id header");
    const std::string* timestamp = request.headers.find(schemes::kStandardTimestamp);
    if (timestamp == nullptr || timestamp->empty()) return reject("missing timestamp header");
    const auto seconds = parse_unix_seconds(*timestamp);
    if (!seconds) return reject("malformed timestamp");
    if (!within_tolerance(*seconds, now, tolerance_)) return reject("timestamp outside tolerance");

    const std::string* header = request.headers.find(schemes::kStandardSignature);
    if (header == nullptr) return reject("missing signature header");
    if (header->empty()) return reject("empty signature header");
    ReceivedSignatures received(schemes::kStandardEncoding, schemes::kStandardAlgo);
    if (!add_v1_signatures(*header, received)) return reject("no v1 signature");
    if (auto reason = received.unusable_reason()) return reject(std::move(*reason));

    const std::string content = schemes::standard_signed_content(*id, *timestamp, request.body);
    return received.matches(keys_, content) ? accept() : reject("signature mismatch");
  }

  Result<EventInfo> describe(const InboundRequest& request) const override {
    if (auto type = content_types_.check(request.headers); !type) return type.error();
    auto id = required_header(request.headers, schemes::kStandardId);
    if (!id) return id.error();
    auto json = read_json_fields(request.body, pointers_, JsonRoot::kObject);
    if (!json) return json.error();
    auto key = resolve_field(key_, request.headers, *json);
    if (!key) return key.error();
    const JsonScalar& type = json->at(kTypePointer);
    return EventInfo{std::move(*id), type.is_text() ? type.text : std::string(), std::move(*key)};
  }

 private:
  // Adds every "v1,<base64>" entry of the space-separated list; false when there is none.
  // Other versions (v1a: asymmetric signatures) are ignored.
  static bool add_v1_signatures(std::string_view list, ReceivedSignatures& received) {
    bool any = false;
    while (!list.empty()) {
      const std::size_t space = list.find(' ');
      const std::string_view entry = list.substr(0, space);
      if (entry.starts_with(schemes::kStandardV1)) {
        any = true;
        received.add(entry.substr(schemes::kStandardV1.size()));
      }
      if (space == std::string_view::npos) break;
      list.remove_prefix(space + 1);
    }
    return any;
  }

  std::vector<Secret> keys_;  // decoded
  std::chrono::seconds tolerance_;
  FieldRef key_;
  ContentTypes content_types_;
  std::vector<std::string> pointers_;
};

}  // namespace

SourceResult make_standard_source(const SourceSettings& settings) {
  auto keys = decode_secrets(settings.secrets);
  if (!keys) return keys.error();
  return std::unique_ptr<Source>(std::make_unique<StandardSource>(settings, std::move(*keys)));
}

}  // namespace wi::ingest
