#pragma once
// Thin, allocation-light wrappers over OpenSSL 3 for webhook signature checks and token
// generation. Everything here is thread-safe and never throws: it runs once per HTTP request.
//
// Failure policy: hmac(), sha256() and random_bytes() abort the process if OpenSSL itself
// fails (no default provider, out of memory, no entropy). Returning an empty or zeroed buffer
// instead would turn a broken install into an authentication bypass (an empty expected
// signature matches an empty supplied one) or into predictable tokens.

#include <cstddef>
#include <string>
#include <string_view>

namespace wi::crypto {

enum class DigestAlgo { kSha256, kSha512 };

// Raw (binary) digest length in bytes: 32 for SHA-256, 64 for SHA-512.
std::size_t digest_size(DigestAlgo algo);

// HMAC over `data` keyed with `key`; returns the raw digest bytes (hex/base64 them with
// wi::codec). Any key length is accepted, including empty.
std::string hmac(DigestAlgo algo, std::string_view key, std::string_view data);
inline std::string hmac_sha256(std::string_view key, std::string_view data) {
  return hmac(DigestAlgo::kSha256, key, data);
}
inline std::string hmac_sha512(std::string_view key, std::string_view data) {
  return hmac(DigestAlgo::kSha512, key, data);
}

// Raw SHA-256 digest bytes.
std::string sha256(std::string_view data);

// Constant-time comparison for secrets/signatures. False when the sizes differ (the length
// of a signature is not secret); otherwise CRYPTO_memcmp. Two empty inputs compare equal, so
// callers must reject an empty supplied signature before comparing.
bool constant_time_equal(std::string_view a, std::string_view b);

// `n` bytes from the OpenSSL CSPRNG (RAND_bytes), e.g. for ids and tokens.
std::string random_bytes(std::size_t n);

}  // namespace wi::crypto
