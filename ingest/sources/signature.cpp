#include "ingest/sources/signature.h"

#include <utility>

#include "common/codec.h"

namespace wi::ingest {
namespace {

std::optional<std::string> decode(std::string_view text, HmacScheme::Encoding encoding) {
  switch (encoding) {
    case HmacScheme::Encoding::kHex:
      return codec::hex_decode(text);
    case HmacScheme::Encoding::kBase64:
      return codec::base64_decode(text);
  }
  return std::nullopt;
}

}  // namespace

VerifyOutcome reject(std::string reason) {
  return {false, std::move(reason)};
}
VerifyOutcome accept() {
  return {true, ""};
}

void ReceivedSignatures::add(std::string_view text) {
  std::optional<std::string> digest = decode(text, encoding_);
  if (!digest || digest->empty()) return;
  // A digest's length is public; telling it apart helps spot a truncating proxy.
  if (digest->size() != crypto::digest_size(algo_)) {
    saw_wrong_length_ = true;
    return;
  }
  digests_.push_back(std::move(*digest));
}

std::optional<std::string> ReceivedSignatures::unusable_reason() const {
  if (!digests_.empty()) return std::nullopt;
  return saw_wrong_length_ ? "signature length mismatch" : "malformed signature";
}

bool ReceivedSignatures::matches(const std::vector<Secret>& keys, std::string_view content) const {
  if (digests_.empty()) return false;
  for (const auto& key : keys) {
    const std::string expected = crypto::hmac(algo_, key.reveal(), content);
    for (const auto& digest : digests_) {
      if (crypto::constant_time_equal(expected, digest)) return true;
    }
  }
  return false;
}

HeaderSignature::HeaderSignature(std::string header, std::string prefix,
                                 HmacScheme::Encoding encoding, crypto::DigestAlgo algo,
                                 std::vector<Secret> keys)
    : header_(std::move(header)),
      prefix_(std::move(prefix)),
      encoding_(encoding),
      algo_(algo),
      keys_(std::move(keys)) {}

VerifyOutcome HeaderSignature::verify(const http::Headers& headers, std::string_view body) const {
  if (keys_.empty()) return reject("no secret configured");
  const std::string* value = headers.find(header_);
  if (value == nullptr) return reject("missing signature header");
  std::string_view text = *value;
  if (text.empty()) return reject("empty signature header");
  if (!text.starts_with(prefix_)) return reject("signature prefix mismatch");
  text.remove_prefix(prefix_.size());

  ReceivedSignatures received(encoding_, algo_);
  received.add(text);
  if (auto reason = received.unusable_reason()) return reject(std::move(*reason));
  return received.matches(keys_, body) ? accept() : reject("signature mismatch");
}

}  // namespace wi::ingest
