#pragma once
// Expiring download tokens for chargify-worker's download links, checked by a file server
// (or by `ingestctl token verify`). Both sides share DOWNLOAD_LINK_SECRET.
//
// Format (URL-safe, no padding, no characters that need escaping in a path or query):
//
//   token   = base64url(payload) "." base64url(HMAC-SHA256(secret, payload))
//   payload = "v1" LF subscription_id LF product_handle LF expires_unix_seconds
//
// A file server verifies it like this: split at the one ".", base64url-decode both halves,
// recompute the HMAC over the decoded payload bytes and compare in constant time, split the
// payload at LF into exactly four fields, require "v1", and require expires > now. The
// subscription id and product handle then say which file to serve (README "chargify-worker").

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"

namespace wi::token {

struct DownloadClaims {
  std::string subscription_id;
  std::string product_handle;
  std::int64_t expires_unix = 0;  // seconds since the epoch
};

// True when `text` can be a claim field: 1 to 200 bytes of letters, digits, '-', '_', '.'.
bool is_claim_field(std::string_view text);

// The token for `claims`. The fields must satisfy is_claim_field (callers validate them;
// a field that does not is a programming error and yields Error::invalid).
Result<std::string> make_download_token(const DownloadClaims& claims, std::string_view secret);

// Checks the signature first (nothing in an unsigned token is trusted), then the format, then
// the expiry against `now`. Errors (Error::invalid, never retryable) say which check failed:
// "malformed token", "bad signature", "expired at <RFC 3339>".
Result<DownloadClaims> verify_download_token(std::string_view token, std::string_view secret,
                                             SystemTime now);

}  // namespace wi::token
