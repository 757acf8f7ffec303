#include "ingest/sources/schemes.h"

#include <utility>

#include "common/codec.h"

namespace wi::ingest::schemes {
namespace {

HmacScheme hex_sha256(std::string header, std::string prefix) {
  return HmacScheme{std::move(header), std::move(prefix), HmacScheme::Encoding::kHex,
                    crypto::DigestAlgo::kSha256};
}

}  // namespace

HmacScheme dropbox() {
  return hex_sha256("X-Dropbox-Signature", "");
}
HmacScheme chargify() {
  return hex_sha256("X-Chargify-Webhook-Signature-Hmac-Sha-256", "");
}
HmacScheme github() {
  return hex_sha256("X-Hub-Signature-256", "sha256=");
}

HeaderSignature header_signature(const HmacScheme& scheme, std::vector<Secret> keys) {
  return HeaderSignature(scheme.header, scheme.prefix, scheme.encoding, scheme.algorithm,
                         std::move(keys));
}

std::string standard_signed_content(std::string_view id, std::string_view timestamp,
                                    std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  return content;
}

std::optional<std::string> standard_key(std::string_view secret) {
  constexpr std::string_view kSecretPrefix = "whsec_";
  if (secret.starts_with(kSecretPrefix)) secret.remove_prefix(kSecretPrefix.size());
  auto key = codec::base64_decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string stripe_signed_content(std::string_view timestamp, std::string_view body) {
  std::string content;
  content.reserve(timestamp.size() + 1 + body.size());
  content.append(timestamp).append(".").append(body);
  return content;
}

std::string encode_digest(HmacScheme::Encoding encoding, std::string_view raw_digest) {
  switch (encoding) {
    case HmacScheme::Encoding::kHex:
      return codec::hex_encode(raw_digest);
    case HmacScheme::Encoding::kBase64:
      return codec::base64_encode(raw_digest);
  }
  return {};
}

std::string encode_signature(const HmacScheme& scheme, std::string_view raw_digest) {
  return scheme.prefix + encode_digest(scheme.encoding, raw_digest);
}

}  // namespace wi::ingest::schemes
