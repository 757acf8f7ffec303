// Chargify / Maxio (PROVIDERS.md): form-encoded body, X-Chargify-Webhook-Signature-Hmac-Sha-256
// = hex HMAC-SHA256 of the raw body. The legacy MD5 header is deliberately not accepted.

#include <memory>
#include <string_view>

#include "common/codec.h"
#include "ingest/sources/content_types.h"
#include "ingest/sources/kinds.h"
#include "ingest/sources/schemes.h"
#include "ingest/sources/signature.h"

namespace wi::ingest {
namespace {

// The first non-empty value of `name`; parse_form has already decoded "%5B" to "[".
const std::string* find_field(const codec::FormFields& fields, std::string_view name) {
  for (const auto& [field, value] : fields) {
    if (field == name && !value.empty()) return &value;
  }
  return nullptr;
}

class ChargifySource final : public Source {
 public:
  explicit ChargifySource(const SourceSettings& settings)
      : signature_(schemes::header_signature(schemes::chargify(), settings.secrets)),
        content_types_(settings.content_types, {std::string(kFormMediaType)}) {}

  VerifyOutcome verify(const InboundRequest& request, SystemTime) const override {
    return signature_.verify(request.headers, request.body);
  }

  Result<EventInfo> describe(const InboundRequest& request) const override {
    if (auto type = content_types_.check(request.headers); !type) return type.error();
    auto fields = codec::parse_form(request.body);
    if (!fields) return fields.error();
    const std::string* id = find_field(*fields, "id");
    if (id == nullptr) return Error::invalid("missing form field id");
    const std::string* event = find_field(*fields, "event");
    if (event == nullptr) return Error::invalid("missing form field event");
    // Keyed by subscription so one subscription's events stay in order on one partition.
    const std::string* subscription = find_field(*fields, "payload[subscription][id]");
    return EventInfo{*id, *event, subscription != nullptr ? *subscription : *id};
  }

 private:
  HeaderSignature signature_;
  ContentTypes content_types_;
};

}  // namespace

SourceResult make_chargify_source(const SourceSettings& settings) {
  return std::unique_ptr<Source>(std::make_unique<ChargifySource>(settings));
}

}  // namespace wi::ingest
