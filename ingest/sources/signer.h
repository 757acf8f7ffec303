#pragma once
// The sending side of the source kinds: the headers a provider would put on a request, so
// operators (ingestctl send, ingestctl bench) and tests can produce requests that ingestd
// accepts. Uses the same scheme definitions as the verifiers (schemes.h).

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/http/headers.h"
#include "ingest/sources/source.h"

namespace wi::ingest {

struct SignOptions {
  // github: X-GitHub-Event (default "push"); hmac with the type in a header: that header
  // (default: the source name).
  std::optional<std::string> event;
  // github: X-GitHub-Delivery; standard: webhook-id; hmac with the id in a header: that
  // header. Default: a random UUID-like id. Other kinds read the id from the body.
  std::optional<std::string> event_id;
  // When the record key comes from a header (standard, stripe, hmac): its value (default:
  // the event id, else a random id).
  std::optional<std::string> key;
  // Default: the source's first configured content type, else the kind's own
  // (application/x-www-form-urlencoded for chargify, application/json for the others).
  std::optional<std::string> content_type;
};

// Content-Type, the kind's id/type headers and its signature headers for `body`, signed with
// the FIRST configured secret at time `now` (standard, stripe). Errors: no secret, or a secret
// the kind cannot use (a standard secret that is not base64).
Result<std::vector<http::Header>> sign_request(const SourceSettings& settings,
                                               const std::string& body, SystemTime now,
                                               const SignOptions& options);

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx": random, shaped like GitHub's delivery GUIDs.
std::string random_delivery_id();

}  // namespace wi::ingest
