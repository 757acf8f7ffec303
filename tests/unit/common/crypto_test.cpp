#include "common/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/codec.h"

// Expected values are literals from /work/shared/PROVIDERS.md and RFC 4231, recomputed with
// `openssl dgst -hmac`; they are never derived from the code under test.

namespace wi::crypto {
namespace {

using codec::base64_decode;
using codec::base64_encode;
using codec::hex_encode;

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  return hex_encode(hmac_sha256(key, data));
}

TEST(HmacTest, DropboxVector) {
  EXPECT_EQ(hmac_sha256_hex("the_secret", R"({"delta": {"users": [12345]}})"),
            "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529");
}

TEST(HmacTest, ChargifyVector) {
  EXPECT_EQ(hmac_sha256_hex("123", "payload[chargify]=testing&event=test"),
            "19826d51b9f866b26eda1f154de192593360f8d0bcb63df8a28540a5dcf733f1");
}

TEST(HmacTest, GitHubVector) {
  EXPECT_EQ("sha256=" + hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(HmacTest, StandardWebhooksVector) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u);
  const auto key = base64_decode(std::string_view(secret).substr(6));
  ASSERT_TRUE(key.has_value());
  const std::string content =
      std::string("msg_p5jXN8AQM9LWM0D4loKWxJek") + "." + "1614265330" + "." +
      R"({"test": 2432232314})";
  EXPECT_EQ("v1," + base64_encode(hmac_sha256(*key, content)),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(HmacTest, StripeVector) {
  // Stripe keys the HMAC with the whole secret, `whsec_` prefix included, not base64-decoded.
  const std::string content = std::string("1492774577") + "." + R"({"id":"evt_test"})";
  EXPECT_EQ(hmac_sha256_hex("whsec_test_secret", content),
            "22f7d74836ddad3284a2b80853dd2fe731655c1bfddcff3c3666a500cf3abd80");
}

TEST(HmacTest, Rfc4231Case2Sha512) {
  EXPECT_EQ(hex_encode(hmac_sha512("Jefe", "what do ya want for nothing?")),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

TEST(HmacTest, Rfc4231Case6KeyLongerThanBlock) {
  const std::string key(131, '\xaa');
  const std::string data = "Test Using Larger Than Block-Size Key - Hash Key First";
  EXPECT_EQ(hex_encode(hmac(DigestAlgo::kSha256, key, data)),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(hex_encode(hmac(DigestAlgo::kSha512, key, data)),
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
            "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598");
}

TEST(HmacTest, DigestSizes) {
  EXPECT_EQ(digest_size(DigestAlgo::kSha256), 32u);
  EXPECT_EQ(digest_size(DigestAlgo::kSha512), 64u);
  EXPECT_EQ(hmac_sha256("k", "d").size(), 32u);
  EXPECT_EQ(hmac_sha512("k", "d").size(), 64u);
}

TEST(HmacTest, EmptyKeyIsNotConfusedWithPreviousKey) {
  // The per-thread context is re-keyed on each call; an empty key must not fall back to the
  // key of the previous call on this thread.
  (void)hmac_sha256("some other secret", "x");
  EXPECT_EQ(hmac_sha256_hex("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  (void)hmac_sha256("some other secret", "x");
  EXPECT_EQ(hmac_sha256_hex(std::string_view{}, std::string_view{}),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HmacTest, AlternatingAlgorithmsAndKeysStayIndependent) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(hmac_sha256_hex("123", "payload[chargify]=testing&event=test"),
              "19826d51b9f866b26eda1f154de192593360f8d0bcb63df8a28540a5dcf733f1");
    EXPECT_EQ(hex_encode(hmac_sha512("Jefe", "what do ya want for nothing?")).substr(0, 16),
              "164b7a7bfcf819e2");
    EXPECT_EQ(hmac_sha256_hex("the_secret", R"({"delta": {"users": [12345]}})"),
              "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529");
  }
}

TEST(HmacTest, OneFlippedBitChangesTheResult) {
  const std::string key = "the_secret";
  const std::string body = R"({"delta": {"users": [12345]}})";
  const std::string reference = hmac_sha256(key, body);

  std::string body_flipped = body;
  body_flipped[5] ^= 0x01;
  EXPECT_NE(hmac_sha256(key, body_flipped), reference);

  std::string key_flipped = key;
  key_flipped[0] ^= 0x80;
  EXPECT_NE(hmac_sha256(key_flipped, body), reference);
}

TEST(HmacTest, ThreadsComputeTheSameVector) {
  constexpr int kThreads = 8;
  std::vector<std::string> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&results, t] {
      std::string last;
      for (int i = 0; i < 200; ++i) {
        (void)hmac_sha256("noise", "interleaved call on this thread");
        last = hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!");
      }
      results[t] = last;
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) {
    EXPECT_EQ(r, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  }
}

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(hex_encode(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_encode(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ConstantTimeEqualTest, EdgeCases) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal(std::string_view{}, ""));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal("a", ""));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("abcd", "abc"));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("xbc", "abc"));
}

TEST(ConstantTimeEqualTest, EmbeddedNulsAndFullDigest) {
  const std::string a("\0\x01\x02", 3);
  const std::string b("\0\x01\x03", 3);
  EXPECT_TRUE(constant_time_equal(a, std::string("\0\x01\x02", 3)));
  EXPECT_FALSE(constant_time_equal(a, b));

  const std::string mac = hmac_sha256("k", "body");
  std::string tampered = mac;
  tampered.back() ^= 0x01;
  EXPECT_TRUE(constant_time_equal(mac, hmac_sha256("k", "body")));
  EXPECT_FALSE(constant_time_equal(mac, tampered));
}

TEST(RandomBytesTest, SizeAndVariety) {
  EXPECT_TRUE(random_bytes(0).empty());
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(4096).size(), 4096u);
  // 16 random bytes colliding would mean a broken RNG, not bad luck (p ~ 2^-128).
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i) seen.insert(random_bytes(16));
  EXPECT_EQ(seen.size(), 32u);
}

}  // namespace
}  // namespace wi::crypto
