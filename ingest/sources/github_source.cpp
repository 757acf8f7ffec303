// GitHub (PROVIDERS.md): X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256 of the raw body;
// id and type come from headers; the JSON is the body, or the form field `payload`.

#include <memory>
#include <string>
#include <utility>

#include "common/codec.h"
#include "ingest/sources/content_types.h"
#include "ingest/sources/field_ref.h"
#include "ingest/sources/json_fields.h"
#include "ingest/sources/kinds.h"
#include "ingest/sources/schemes.h"
#include "ingest/sources/signature.h"

namespace wi::ingest {
namespace {

constexpr const char* kRepositoryPointer = "/repository/full_name";

// The JSON carried by a form-encoded delivery.
Result<std::string> form_payload(const std::string& body) {
  auto fields = codec::parse_form(body);
  if (!fields) return fields.error();
  for (auto& [name, value] : *fields) {
    if (name == "payload") return std::move(value);
  }
  return Error::invalid("missing form field payload");
}

class GithubSource final : public Source {
 public:
  explicit GithubSource(const SourceSettings& settings)
      : signature_(schemes::header_signature(schemes::github(), settings.secrets)),
        content_types_(settings.content_types,
                       {std::string(kJsonMediaType), std::string(kFormMediaType)}) {}

  VerifyOutcome verify(const InboundRequest& request, SystemTime) const override {
    return signature_.verify(request.headers, request.body);
  }

  Result<EventInfo> describe(const InboundRequest& request) const override {
    auto media_type = content_types_.check(request.headers);
    if (!media_type) return media_type.error();
    auto id = required_header(request.headers, schemes::kGithubDelivery);
    if (!id) return id.error();
    auto event = required_header(request.headers, schemes::kGithubEvent);
    if (!event) return event.error();

    // Any accepted type other than the form encoding means the body is the JSON itself.
    auto json = *media_type == kFormMediaType
                    ? read_payload_json(request.body)
                    : read_json_fields(request.body, {kRepositoryPointer}, JsonRoot::kObject);
    if (!json) return json.error();
    const JsonScalar& repository = json->at(kRepositoryPointer);
    const bool has_repository =
        repository.type == JsonScalar::Type::kString && !repository.text.empty();
    std::string key = has_repository ? repository.text : *id;
    return EventInfo{std::move(*id), std::move(*event), std::move(key)};
  }

 private:
  static Result<JsonFields> read_payload_json(const std::string& body) {
    auto payload = form_payload(body);
    if (!payload) return payload.error();
    return read_json_fields(*payload, {kRepositoryPointer}, JsonRoot::kObject);
  }

  HeaderSignature signature_;
  ContentTypes content_types_;
};

}  // namespace

SourceResult make_github_source(const SourceSettings& settings) {
  return std::unique_ptr<Source>(std::make_unique<GithubSource>(settings));
}

}  // namespace wi::ingest
