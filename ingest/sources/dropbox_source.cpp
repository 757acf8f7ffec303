// Dropbox API v2 notifications (PROVIDERS.md): X-Dropbox-Signature = hex HMAC-SHA256 of the
// body. A notification carries no id of its own, so the body hash is the id: a retried
// notification keeps its id and deduplicates.

#include <memory>

#include "ingest/sources/content_types.h"
#include "ingest/sources/field_ref.h"
#include "ingest/sources/json_fields.h"
#include "ingest/sources/kinds.h"
#include "ingest/sources/schemes.h"
#include "ingest/sources/signature.h"

namespace wi::ingest {
namespace {

class DropboxSource final : public Source {
 public:
  explicit DropboxSource(const SourceSettings& settings)
      : signature_(schemes::header_signature(schemes::dropbox(), settings.secrets)),
        content_types_(settings.content_types, {std::string(kJsonMediaType)}) {}

  VerifyOutcome verify(const InboundRequest& request, SystemTime) const override {
    return signature_.verify(request.headers, request.body);
  }

  Result<EventInfo> describe(const InboundRequest& request) const override {
    if (auto type = content_types_.check(request.headers); !type) return type.error();
    if (auto json = read_json_fields(request.body, {}, JsonRoot::kObject); !json)
      return json.error();
    return EventInfo{body_digest_id(request.body), "notification", std::nullopt};
  }

 private:
  HeaderSignature signature_;
  ContentTypes content_types_;
};

}  // namespace

SourceResult make_dropbox_source(const SourceSettings& settings) {
  return std::unique_ptr<Source>(std::make_unique<DropboxSource>(settings));
}

}  // namespace wi::ingest
