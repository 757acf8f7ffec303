// Generic HMAC source (Shopify and the like): settings.hmac says which header carries
// prefix + encode(HMAC(body)); settings.id/type/key say where the event fields come from.

#include <memory>
#include <string>
#include <utility>

#include "ingest/sources/content_types.h"
#include "ingest/sources/field_ref.h"
#include "ingest/sources/json_fields.h"
#include "ingest/sources/kinds.h"
#include "ingest/sources/signature.h"

namespace wi::ingest {
namespace {

std::vector<std::string> pointers_of(const SourceSettings& settings) {
  std::vector<std::string> pointers;
  add_pointer(settings.id, pointers);
  add_pointer(settings.type, pointers);
  add_pointer(settings.key, pointers);
  return pointers;
}

class HmacSource final : public Source {
 public:
  explicit HmacSource(const SourceSettings& settings)
      : signature_(settings.hmac.header, settings.hmac.prefix, settings.hmac.encoding,
                   settings.hmac.algorithm, settings.secrets),
        name_(settings.name),
        id_(settings.id),
        type_(settings.type),
        key_(settings.key),
        pointers_(pointers_of(settings)),
        // The body only has to be JSON when a field is read from it.
        content_types_(settings.content_types, pointers_.empty()
                                                   ? std::vector<std::string>{}
                                                   : std::vector{std::string(kJsonMediaType)}) {}

  VerifyOutcome verify(const InboundRequest& request, SystemTime) const override {
    return signature_.verify(request.headers, request.body);
  }

  Result<EventInfo> describe(const InboundRequest& request) const override {
    if (auto type = content_types_.check(request.headers); !type) return type.error();
    JsonFields json;
    if (!pointers_.empty()) {
      // Any root, unlike the named kinds: this kind promises nothing about the payload's shape,
      // and a configured pointer may address an array root ("/0/id"). A pointer that does not
      // resolve is still refused by resolve_event_id / resolve_field.
      auto parsed = read_json_fields(request.body, pointers_, JsonRoot::kAny);
      if (!parsed) return parsed.error();
      json = std::move(*parsed);
    }
    auto id = resolve_event_id(id_, request.headers, json, request.body);
    if (!id) return id.error();
    auto type = resolve_field(type_, request.headers, json);
    if (!type) return type.error();
    auto key = resolve_field(key_, request.headers, json);
    if (!key) return key.error();
    return EventInfo{std::move(*id), type->value_or(name_), std::move(*key)};
  }

 private:
  HeaderSignature signature_;
  std::string name_;
  FieldRef id_;
  FieldRef type_;
  FieldRef key_;
  std::vector<std::string> pointers_;
  ContentTypes content_types_;
};

}  // namespace

SourceResult make_hmac_source(const SourceSettings& settings) {
  if (settings.hmac.header.empty()) return Error::invalid("hmac.header is empty");
  return std::unique_ptr<Source>(std::make_unique<HmacSource>(settings));
}

}  // namespace wi::ingest
