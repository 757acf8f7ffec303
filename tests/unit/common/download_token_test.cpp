// Download tokens: round trip, expiry, tampering, wrong secret, malformed input.
#include "common/download_token.h"

#include <gtest/gtest.h>

#include "common/codec.h"

namespace wi::token {
namespace {

const SystemTime kNow = SystemTime(std::chrono::seconds(1795743350));
const std::int64_t kExpires = 1795743350 + 3600;

std::string make(const DownloadClaims& claims, const std::string& secret = "s3cret") {
  auto t = make_download_token(claims, secret);
  EXPECT_TRUE(t.ok());
  return t.value_or("");
}

TEST(DownloadToken, RoundTripsTheClaims) {
  auto token = make({"12345", "ebook-basic", kExpires});
  EXPECT_EQ(token.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
            std::string::npos)
      << "URL-safe characters only: " << token;
  auto claims = verify_download_token(token, "s3cret", kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->subscription_id, "12345");
  EXPECT_EQ(claims->product_handle, "ebook-basic");
  EXPECT_EQ(claims->expires_unix, kExpires);
}

TEST(DownloadToken, MatchesTheDocumentedRecipe) {
  // payload = "v1\n<subscription>\n<handle>\n<expires>", signature = HMAC-SHA256 over it.
  auto token = make({"7", "book", 2000000000});
  auto dot = token.find('.');
  std::string payload_b64 = token.substr(0, dot);
  for (auto& c : payload_b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  EXPECT_EQ(codec::base64_decode(payload_b64).value_or(""), "v1\n7\nbook\n2000000000");
}

TEST(DownloadToken, ExpiredTokenIsRefusedWithItsExpiry) {
  auto token = make({"12345", "ebook", kExpires});
  auto at_expiry = verify_download_token(token, "s3cret", SystemTime(std::chrono::seconds(kExpires)));
  ASSERT_FALSE(at_expiry.ok());
  EXPECT_NE(at_expiry.error().message.find("expired at"), std::string::npos);
  EXPECT_TRUE(verify_download_token(token, "s3cret",
                                    SystemTime(std::chrono::seconds(kExpires - 1)))
                  .ok());
}

TEST(DownloadToken, TamperedPayloadFailsTheSignature) {
  auto token = make({"12345", "ebook", kExpires});
  // Re-sign nothing: swap in another subscription's payload, keep the signature.
  auto other = make({"99999", "ebook", kExpires});
  std::string forged = other.substr(0, other.find('.')) + token.substr(token.find('.'));
  auto r = verify_download_token(forged, "s3cret", kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "bad signature");
  // A later expiry, same signature.
  auto longer = make({"12345", "ebook", kExpires + 999999});
  forged = longer.substr(0, longer.find('.')) + token.substr(token.find('.'));
  EXPECT_EQ(verify_download_token(forged, "s3cret", kNow).error().message, "bad signature");
  // One flipped character in the signature.
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_download_token(flipped, "s3cret", kNow).ok());
}

TEST(DownloadToken, WrongSecretFails) {
  auto token = make({"12345", "ebook", kExpires});
  EXPECT_EQ(verify_download_token(token, "other", kNow).error().message, "bad signature");
}

TEST(DownloadToken, MalformedTokensAreRefused) {
  for (const char* bad : {"", "nodot", "a.b.c", ".", "abc.", "*!.abc", "YQ.YQ"}) {
    auto r = verify_download_token(bad, "s3cret", kNow);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(DownloadToken, ClaimFieldsMustBeIds) {
  EXPECT_FALSE(make_download_token({"12\n34", "ebook", kExpires}, "s").ok());
  EXPECT_FALSE(make_download_token({"1234", "", kExpires}, "s").ok());
  EXPECT_TRUE(is_claim_field("ebook-basic_2.0"));
  EXPECT_FALSE(is_claim_field("e book"));
}

}  // namespace
}  // namespace wi::token
