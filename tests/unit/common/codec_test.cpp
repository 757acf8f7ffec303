#include "common/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace wi::codec {
namespace {

using Pair = std::pair<std::string, std::string>;

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

// ---- hex ----

TEST(HexTest, Rfc4648Base16Vectors) {
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_encode("f"), "66");
  EXPECT_EQ(hex_encode("foobar"), "666f6f626172");
  EXPECT_EQ(hex_encode(std::string("\x00\xff\x10\xab", 4)), "00ff10ab");
}

TEST(HexTest, DecodesBothCases) {
  EXPECT_EQ(hex_decode("666F6F626172"), "foobar");
  EXPECT_EQ(hex_decode("666f6f626172"), "foobar");
  EXPECT_EQ(hex_decode("00FfaB"), std::string("\x00\xff\xab", 3));
  EXPECT_EQ(hex_decode(""), "");
}

TEST(HexTest, RoundTripAllBytes) {
  const std::string bytes = all_bytes();
  const std::string hex = hex_encode(bytes);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex_decode(hex), bytes);
}

TEST(HexTest, Rejections) {
  EXPECT_FALSE(hex_decode("abc").has_value());   // odd length
  EXPECT_FALSE(hex_decode("0g").has_value());    // non-hex
  EXPECT_FALSE(hex_decode("g0").has_value());
  EXPECT_FALSE(hex_decode("0 ").has_value());
  EXPECT_FALSE(hex_decode("0x12").has_value());
  EXPECT_FALSE(hex_decode("12\n").has_value());
  EXPECT_FALSE(hex_decode(std::string("\x00\x00", 2)).has_value());
  EXPECT_FALSE(hex_decode("sha256=00").has_value());
}

// ---- base64 ----

TEST(Base64Test, Rfc4648EncodeVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, Rfc4648DecodeVectors) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(Base64Test, AcceptsUnpaddedLengthMod4Is2Or3) {
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode("Zm8"), "fo");
  EXPECT_EQ(base64_decode("Zm9vYg"), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE"), "fooba");
}

TEST(Base64Test, AcceptsNonZeroTrailingBits) {
  EXPECT_EQ(base64_decode("Zh=="), "f");
  EXPECT_EQ(base64_decode("Zm9="), "fo");
}

TEST(Base64Test, Rejections) {
  EXPECT_FALSE(base64_decode("Z").has_value());          // length mod 4 == 1
  EXPECT_FALSE(base64_decode("Zm9vY").has_value());
  EXPECT_FALSE(base64_decode("Z===").has_value());       // too much padding
  EXPECT_FALSE(base64_decode("====").has_value());
  EXPECT_FALSE(base64_decode("=").has_value());
  EXPECT_FALSE(base64_decode("Zg=").has_value());        // partial padding
  EXPECT_FALSE(base64_decode("Zg=a").has_value());       // padding in the middle
  EXPECT_FALSE(base64_decode("Zg==Zg==").has_value());
  EXPECT_FALSE(base64_decode("Zm9v\n").has_value());     // whitespace
  EXPECT_FALSE(base64_decode("Zm 9v").has_value());
  EXPECT_FALSE(base64_decode("Zm9-").has_value());       // url alphabet is not standard
  EXPECT_FALSE(base64_decode("Zm9_").has_value());
  EXPECT_FALSE(base64_decode("Zm9*").has_value());
  EXPECT_FALSE(base64_decode(std::string("Zm9\x80", 4)).has_value());
  EXPECT_FALSE(base64_decode(std::string("Zm9\xff", 4)).has_value());
}

TEST(Base64Test, RoundTripAllLengths) {
  const std::string bytes = all_bytes();
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const std::string in = bytes.substr(256 - n);
    const std::string enc = base64_encode(in);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(base64_decode(enc), in) << "n=" << n;
  }
}

TEST(Base64Test, UrlEncodeHasNoPaddingAndUrlAlphabet) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  // 0xfb 0xff encodes to "+/8=" in the standard alphabet.
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

// ---- percent-encoding ----

TEST(PercentDecodeTest, Basics) {
  EXPECT_EQ(percent_decode("", false), "");
  EXPECT_EQ(percent_decode("plain", false), "plain");
  EXPECT_EQ(percent_decode("a%20b", false), "a b");
  EXPECT_EQ(percent_decode("%5B%5d", false), "[]");
  EXPECT_EQ(percent_decode("%00", false), std::string(1, '\0'));
  EXPECT_EQ(percent_decode("%FF", false), "\xff");
  EXPECT_EQ(percent_decode("%25", false), "%");
  EXPECT_EQ(percent_decode("%2520", false), "%20");  // decodes exactly once
}

TEST(PercentDecodeTest, PlusHandling) {
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("a%2Bb", true), "a+b");
}

TEST(PercentDecodeTest, BadEscapes) {
  EXPECT_FALSE(percent_decode("%", false).has_value());
  EXPECT_FALSE(percent_decode("%4", false).has_value());
  EXPECT_FALSE(percent_decode("abc%", true).has_value());
  EXPECT_FALSE(percent_decode("abc%4", true).has_value());
  EXPECT_FALSE(percent_decode("%zz", false).has_value());
  EXPECT_FALSE(percent_decode("%4g", false).has_value());
  EXPECT_FALSE(percent_decode("%g4", false).has_value());
  EXPECT_FALSE(percent_decode("% 4", false).has_value());
  EXPECT_FALSE(percent_decode("%+4", true).has_value());
}

TEST(PercentEncodeTest, UnreservedCharactersStayEverythingElseIsUpperCaseHex) {
  EXPECT_EQ(percent_encode("", false), "");
  const std::string unreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  EXPECT_EQ(percent_encode(unreserved, false), unreserved);
  EXPECT_EQ(percent_encode(unreserved, true), unreserved);
  EXPECT_EQ(percent_encode(":/?#[]@!$&'()*+,;=%\"", false),
            "%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25%22");
  EXPECT_EQ(percent_encode(std::string("\0\x1f\x7f\xff", 4), false), "%00%1F%7F%FF");
  EXPECT_EQ(percent_encode("Été ü", false), "%C3%89t%C3%A9%20%C3%BC");  // UTF-8 bytes
}

TEST(PercentEncodeTest, SpaceIsPercent20OrPlusAndAPlusIsAlwaysEscaped) {
  EXPECT_EQ(percent_encode("a b+c", false), "a%20b%2Bc");
  EXPECT_EQ(percent_encode("a b+c", true), "a+b%2Bc");
}

TEST(PercentEncodeTest, EveryByteRoundTripsThroughPercentDecodeInBothModes) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (bool plus : {false, true}) {
    EXPECT_EQ(percent_decode(percent_encode(all, plus), plus), all) << "space_as_plus=" << plus;
  }
}

// ---- forms ----

TEST(ParseFormTest, ChargifyTestBody) {
  const auto fields = parse_form("id=123456&event=test&payload[chargify]=testing");
  ASSERT_TRUE(fields.ok()) << fields.error().message;
  const FormFields expected = {
      {"id", "123456"}, {"event", "test"}, {"payload[chargify]", "testing"}};
  EXPECT_EQ(*fields, expected);
}

TEST(ParseFormTest, RawAndPercentEncodedBracketsDecodeTheSame) {
  const auto raw = parse_form("payload[subscription][id]=42");
  const auto enc = parse_form("payload%5Bsubscription%5D%5Bid%5D=42");
  const auto lower = parse_form("payload%5bsubscription%5d%5bid%5d=42");
  ASSERT_TRUE(raw.ok() && enc.ok() && lower.ok());
  const FormFields expected = {{"payload[subscription][id]", "42"}};
  EXPECT_EQ(*raw, expected);
  EXPECT_EQ(*enc, expected);
  EXPECT_EQ(*lower, expected);
}

TEST(ParseFormTest, PlusIsSpaceAndEscapesDecode) {
  const auto fields =
      parse_form("payload[subscription][customer][first_name]=Mary+Ann&"
                 "payload[subscription][customer][email]=mary%2Bann%40example.com&"
                 "note=a%3Db%26c");
  ASSERT_TRUE(fields.ok());
  const FormFields expected = {
      {"payload[subscription][customer][first_name]", "Mary Ann"},
      {"payload[subscription][customer][email]", "mary+ann@example.com"},
      {"note", "a=b&c"}};
  EXPECT_EQ(*fields, expected);
}

TEST(ParseFormTest, EmptyPairsSkippedAndMissingValues) {
  const auto fields = parse_form("&a=1&&b=2&&flag&empty=&=x&");
  ASSERT_TRUE(fields.ok());
  const FormFields expected = {{"a", "1"}, {"b", "2"}, {"flag", ""}, {"empty", ""}, {"", "x"}};
  EXPECT_EQ(*fields, expected);
}

TEST(ParseFormTest, SplitsOnFirstEqualsOnlyAndKeepsDuplicates) {
  const auto fields = parse_form("k=a=b&k=c");
  ASSERT_TRUE(fields.ok());
  const FormFields expected = {{"k", "a=b"}, {"k", "c"}};
  EXPECT_EQ(*fields, expected);
}

TEST(ParseFormTest, EmptyBody) {
  const auto a = parse_form("");
  const auto b = parse_form("&&&");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->empty());
  EXPECT_TRUE(b->empty());
}

TEST(ParseFormTest, BadEscapeNamesFieldIndexButNotTheValue) {
  const auto bad_value = parse_form("id=1&event=test&secret=hunter2%zz");
  ASSERT_FALSE(bad_value.ok());
  EXPECT_EQ(bad_value.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(bad_value.error().retryable);
  EXPECT_NE(bad_value.error().message.find("field 2"), std::string::npos)
      << bad_value.error().message;
  EXPECT_NE(bad_value.error().message.find("value"), std::string::npos);
  EXPECT_EQ(bad_value.error().message.find("hunter2"), std::string::npos);

  const auto bad_name = parse_form("a=1&payload%5=2");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.error().message.find("field 1"), std::string::npos)
      << bad_name.error().message;
  EXPECT_NE(bad_name.error().message.find("name"), std::string::npos);

  const auto truncated = parse_form("a=%");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().message.find("field 0"), std::string::npos);
}

}  // namespace
}  // namespace wi::codec
