#pragma once
// The requests `ingestctl bench` sends: complete HTTP/1.1 request bytes, each a correctly
// signed webhook whose body is exactly the asked size and whose event id is unique in the run
// (and across runs: every run has a random tag), or GET /healthz.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "ctl/http_wire.h"
#include "ingest/sources/source.h"

namespace wi::ctl {

struct BenchRequest {
  std::string bytes;     // the whole request, ready to write
  std::string event_id;  // the id ingestd will give it (empty for /healthz)
};

// Thread-safe: make() is const and may run on several threads at once.
class RequestFactory {
 public:
  virtual ~RequestFactory() = default;
  // Request number `seq` of this run (0, 1, 2, ...).
  virtual BenchRequest make(std::uint64_t seq) const = 0;
  // Whether make() costs enough (signing, hashing) to be worth building ahead on a thread.
  virtual bool expensive() const = 0;
  virtual std::size_t body_bytes() const = 0;
};

// POST `url` as source `settings` (kind, secrets, id/type/key fields). Bodies per kind: JSON
// (GitHub push-like with repository.full_name over 8 values; Dropbox notification; Standard
// Webhooks / Stripe events; hmac with the configured JSON pointers filled in) or, for
// chargify, a form with a unique `id`, each padded to exactly `body_bytes`. Checks its first
// request against the kind's own verifier before returning. Errors: `body_bytes` too small
// for the kind's document, or settings a body cannot be made for.
Result<std::unique_ptr<RequestFactory>> make_webhook_requests(
    const ingest::SourceSettings& settings, const HttpUrl& url, std::size_t body_bytes);

// GET `url` (for /healthz), the same bytes every time.
std::unique_ptr<RequestFactory> make_get_requests(const HttpUrl& url);

}  // namespace wi::ctl
