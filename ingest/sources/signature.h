#pragma once
// HMAC signature checks shared by every source kind: decode what the sender sent, compute
// the HMAC under each configured secret, compare in constant time on raw digest bytes.
// Reasons produced here are safe to log: never a signature, never a secret.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.h"
#include "common/secret.h"
#include "common/http/headers.h"
#include "ingest/sources/source.h"

namespace wi::ingest {

// A VerifyOutcome for a request refused because of `reason`.
VerifyOutcome reject(std::string reason);
VerifyOutcome accept();

// The signatures one request carries (several for Standard Webhooks and Stripe), decoded
// into raw digests. Hex is accepted in either case.
class ReceivedSignatures {
 public:
  ReceivedSignatures(HmacScheme::Encoding encoding, crypto::DigestAlgo algo)
      : encoding_(encoding), algo_(algo) {}

  // Keeps `text` if it decodes to a digest of the algorithm's size; remembers why not.
  void add(std::string_view text);

  // Why none of the signatures added can match ("malformed signature", "signature length
  // mismatch"), or nullopt when at least one is a well-formed digest.
  std::optional<std::string> unusable_reason() const;

  // True when any received digest equals HMAC(key, content) for any key. Each key's HMAC is
  // computed once however many signatures were received.
  bool matches(const std::vector<Secret>& keys, std::string_view content) const;

 private:
  HmacScheme::Encoding encoding_;
  crypto::DigestAlgo algo_;
  std::vector<std::string> digests_;
  bool saw_wrong_length_ = false;
};

// The common scheme: one header holding prefix + encode(HMAC(raw body)).
class HeaderSignature {
 public:
  HeaderSignature(std::string header, std::string prefix, HmacScheme::Encoding encoding,
                  crypto::DigestAlgo algo, std::vector<Secret> keys);

  VerifyOutcome verify(const http::Headers& headers, std::string_view body) const;

 private:
  std::string header_;
  std::string prefix_;
  HmacScheme::Encoding encoding_;
  crypto::DigestAlgo algo_;
  std::vector<Secret> keys_;
};

}  // namespace wi::ingest
