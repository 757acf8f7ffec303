// Stripe (PROVIDERS.md): Stripe-Signature "t=<unix>,v1=<hex>[,v1=<hex>...]", signed content
// "<t>.<body>", keyed with the whole secret string including "whsec_" (no decoding).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/text.h"
#include "ingest/sources/content_types.h"
#include "ingest/sources/field_ref.h"
#include "ingest/sources/json_fields.h"
#include "ingest/sources/kinds.h"
#include "ingest/sources/schemes.h"
#include "ingest/sources/signature.h"
#include "ingest/sources/timestamp.h"

namespace wi::ingest {
namespace {

const FieldRef kIdField{FieldRef::From::kJsonPointer, "/id"};
const FieldRef kTypeField{FieldRef::From::kJsonPointer, "/type"};


// The parts of a Stripe-Signature header this scheme uses. Schemes other than v1 (v0, the
// test-mode scheme) are ignored; the first t= wins.
struct StripeHeader {
  std::string_view timestamp;
  bool has_v1 = false;
};

StripeHeader parse_header(std::string_view header, ReceivedSignatures& received) {
  StripeHeader out;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    const std::string_view item = text::trim(header.substr(0, comma), " ");
    if (item.starts_with(schemes::kStripeTimestamp) && out.timestamp.empty()) {
      out.timestamp = item.substr(schemes::kStripeTimestamp.size());
    } else if (item.starts_with(schemes::kStripeV1)) {
      out.has_v1 = true;
      received.add(item.substr(schemes::kStripeV1.size()));
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return out;
}

class StripeSource final : public Source {
 public:
  explicit StripeSource(const SourceSettings& settings)
      : keys_(settings.secrets),
        tolerance_(settings.tolerance),
        key_(settings.key),
        content_types_(settings.content_types, {std::string(kJsonMediaType)}) {
    add_pointer(kIdField, pointers_);
    add_pointer(kTypeField, pointers_);
    add_pointer(key_, pointers_);
  }

  VerifyOutcome verify(const InboundRequest& request, SystemTime now) const override {
    if (keys_.empty()) return reject("no secret configured");
    const std::string* header = request.headers.find(schemes::kStripeSignature);
    if (header == nullptr) return reject("missing signature header");
    if (header->empty()) return reject("empty signature header");
    ReceivedSignatures received(schemes::kStripeEncoding, schemes::kStripeAlgo);
    const StripeHeader parts = parse_header(*header, received);
    if (parts.timestamp.empty()) return reject("missing timestamp");
    const auto seconds = parse_unix_seconds(parts.timestamp);
    if (!seconds) return reject("malformed timestamp");
    if (!within_tolerance(*seconds, now, tolerance_)) return reject("timestamp outside tolerance");
    if (!parts.has_v1) return reject("no v1 signature");
    if (auto reason = received.unusable_reason()) return reject(std::move(*reason));

    const std::string content = schemes::stripe_signed_content(parts.timestamp, request.body);
    return received.matches(keys_, content) ? accept() : reject("signature mismatch");
  }

  Result<EventInfo> describe(const InboundRequest& request) const override {
    if (auto type = content_types_.check(request.headers); !type) return type.error();
    auto json = read_json_fields(request.body, pointers_, JsonRoot::kObject);
    if (!json) return json.error();
    auto id = resolve_event_id(kIdField, request.headers, *json, request.body);
    if (!id) return id.error();
    auto type = resolve_field(kTypeField, request.headers, *json);
    if (!type) return type.error();
    auto key = resolve_field(key_, request.headers, *json);
    if (!key) return key.error();
    return EventInfo{std::move(*id), std::move(**type), std::move(*key)};
  }

 private:
  std::vector<Secret> keys_;
  std::chrono::seconds tolerance_;
  FieldRef key_;
  ContentTypes content_types_;
  std::vector<std::string> pointers_;
};

}  // namespace

SourceResult make_stripe_source(const SourceSettings& settings) {
  return std::unique_ptr<Source>(std::make_unique<StripeSource>(settings));
}

}  // namespace wi::ingest
