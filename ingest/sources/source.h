#pragma once
// Source kinds (SPEC §3): how each provider signs a request, and where its event id, event
// type and record key come from. A Source is immutable after construction and thread-safe.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/http/headers.h"

namespace wi::ingest {

// What a Source sees of a request. `body` is the raw body; when body.capacity() leaves at
// least simdjson::SIMDJSON_PADDING bytes beyond body.size(), JSON can be parsed in place.
struct InboundRequest {
  std::string_view method;
  std::string_view target;  // path and query, as received
  const http::Headers& headers;
  const std::string& body;
};

struct VerifyOutcome {
  bool valid = false;
  // For logs and metrics only ("missing signature header", "signature mismatch",
  // "timestamp outside tolerance", ...). Never a signature or a secret. The HTTP answer is
  // the same 401 for every cause.
  std::string reason;
};

struct EventInfo {
  std::string event_id;
  std::string event_type;
  std::optional<std::string> key;  // none: Kafka's partitioner spreads the records
};

class Source {
 public:
  virtual ~Source() = default;
  // Signature check, constant-time comparisons, any configured secret may match (rotation).
  virtual VerifyOutcome verify(const InboundRequest& request, SystemTime now) const = 0;
  // Runs only after verify() succeeded. Errors: ErrorCode::kUnsupported → 415 (content type
  // not accepted for this kind), ErrorCode::kInvalidArgument → 400 (body does not parse for
  // its kind, or a required field such as the event id is missing). Messages are safe to
  // return to the client: they never echo body content or secrets.
  virtual Result<EventInfo> describe(const InboundRequest& request) const = 0;
};

enum class SourceKind { kDropbox, kChargify, kGithub, kStandard, kStripe, kHmac };
Result<SourceKind> parse_source_kind(std::string_view name);
const char* to_string(SourceKind kind);

// Where a value comes from, for the configurable kinds.
struct FieldRef {
  enum class From { kNone, kHeader, kJsonPointer };
  From from = From::kNone;
  std::string name;  // header name, or RFC 6901 JSON pointer ("/data/id")
};

struct HmacScheme {
  std::string header;                  // e.g. X-Shopify-Hmac-Sha256
  std::string prefix;                  // e.g. "sha256=" (may be empty)
  enum class Encoding { kHex, kBase64 } encoding = Encoding::kHex;
  crypto::DigestAlgo algorithm = crypto::DigestAlgo::kSha256;
};

struct SourceSettings {
  std::string name;  // the {source} in /webhooks/{source}
  SourceKind kind = SourceKind::kHmac;
  std::vector<Secret> secrets;  // raw secret strings, as configured (rotation: any may match)
  std::chrono::seconds tolerance{300};  // standard, stripe: allowed clock skew both ways
  HmacScheme hmac;                      // kHmac only
  FieldRef id;                          // kHmac: none → SHA-256 hex of the body
  FieldRef type;                        // kHmac: none → the source name; kStandard ignores it
  FieldRef key;                         // kStandard, kStripe, kHmac: none → no key
  // Accepted media types; empty means the kind's default (see make_source).
  std::vector<std::string> content_types;
};

// Builds the Source for `settings`. Errors (bad secret encoding, missing header name, …) are
// configuration problems, reported at startup.
Result<std::unique_ptr<Source>> make_source(const SourceSettings& settings);

}  // namespace wi::ingest
