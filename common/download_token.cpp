#include "common/download_token.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

#include "common/codec.h"
#include "common/crypto.h"

namespace wi::token {

namespace {

constexpr std::string_view kVersion = "v1";

// base64url without padding → standard base64 → bytes.
std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/' || c == '=') {
      return std::nullopt;  // not the URL-safe alphabet
    }
  }
  return codec::base64_decode(standard);
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto end = text.find('\n', start);
    out.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

}  // namespace

bool is_claim_field(std::string_view text) {
  return !text.empty() && text.size() <= 200 && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

Result<std::string> make_download_token(const DownloadClaims& claims, std::string_view secret) {
  if (!is_claim_field(claims.subscription_id) || !is_claim_field(claims.product_handle)) {
    return Error::invalid("download token: subscription id and product handle must be 1 to 200 "
                          "letters, digits, '-', '_' or '.'");
  }
  std::string payload = fmt::format("{}\n{}\n{}\n{}", kVersion, claims.subscription_id,
                                    claims.product_handle, claims.expires_unix);
  return codec::base64url_encode(payload) + "." +
         codec::base64url_encode(crypto::hmac_sha256(secret, payload));
}

Result<DownloadClaims> verify_download_token(std::string_view token, std::string_view secret,
                                             SystemTime now) {
  auto dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos) {
    return Error::invalid("malformed token: expected <payload>.<signature>");
  }
  auto payload = base64url_decode(token.substr(0, dot));
  auto signature = base64url_decode(token.substr(dot + 1));
  if (!payload || !signature) return Error::invalid("malformed token: not base64url");
  if (!crypto::constant_time_equal(*signature, crypto::hmac_sha256(secret, *payload))) {
    return Error::invalid("bad signature");
  }
  auto fields = split_lines(*payload);
  if (fields.size() != 4 || fields[0] != kVersion) {
    return Error::invalid("malformed token: unknown version or field count");
  }
  DownloadClaims claims{std::string(fields[1]), std::string(fields[2]), 0};
  const auto& expiry = fields[3];
  auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), claims.expires_unix);
  if (ec != std::errc() || end != expiry.data() + expiry.size() || expiry.empty() ||
      !is_claim_field(claims.subscription_id) || !is_claim_field(claims.product_handle)) {
    return Error::invalid("malformed token: bad field");
  }
  const auto expires = SystemTime(std::chrono::seconds(claims.expires_unix));
  if (now >= expires) return Error::invalid("expired at " + format_rfc3339_ms(expires));
  return claims;
}

}  // namespace wi::token
