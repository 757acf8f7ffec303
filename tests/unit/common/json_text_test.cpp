#include "common/json_text.h"

#include <gtest/gtest.h>

#include <string>

#include "common/utf8.h"

namespace wi::json {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

// ---- quote: escaping --------------------------------------------------------------------------

TEST(JsonQuoteTest, PlainText) {
  EXPECT_EQ(quote(""), R"("")");
  EXPECT_EQ(quote("hello world"), R"("hello world")");
  EXPECT_EQ(quote("a/b"), R"("a/b")");   // '/' needs no escape
  EXPECT_EQ(quote("\x7f"), "\"\x7f\"");  // DEL is allowed raw in JSON
}

TEST(JsonQuoteTest, QuotesAndBackslashes) {
  EXPECT_EQ(quote(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(quote(R"(C:\path)"), R"("C:\\path")");
  EXPECT_EQ(quote(R"(\")"), R"("\\\"")");
}

TEST(JsonQuoteTest, NewlineTabCarriageReturn) {
  EXPECT_EQ(quote("a\nb"), R"("a\nb")");
  EXPECT_EQ(quote("a\r\nb"), R"("a\r\nb")");
  EXPECT_EQ(quote("a\tb"), R"("a\tb")");
}

TEST(JsonQuoteTest, OtherControlCharactersAsUnicodeEscapes) {
  EXPECT_EQ(quote("\x01"), R"("\u0001")");
  EXPECT_EQ(quote("\x08"), R"("\u0008")");
  EXPECT_EQ(quote("\x0c"), R"("\u000c")");
  EXPECT_EQ(quote("\x1f"), R"("\u001f")");
  EXPECT_EQ(quote(std::string("a\0b", 3)), R"("a\u0000b")");  // an embedded NUL is kept
}

TEST(JsonQuoteTest, NoRawControlCharacterSurvives) {
  std::string all;
  for (int c = 0; c < 0x20; ++c) all.push_back(static_cast<char>(c));
  const std::string q = quote(all);
  for (char c : q) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control byte in " << q;
}

TEST(JsonQuoteTest, AppendStringAppends) {
  std::string out = "{\"k\":";
  append_string(out, "v\"");
  out += "}";
  EXPECT_EQ(out, R"({"k":"v\""})");
}

// ---- quote: UTF-8 -----------------------------------------------------------------------------

TEST(JsonQuoteTest, ValidMultiByteUtf8PassesThrough) {
  const std::string two = "h\xC3\xA9llo";                // é
  const std::string three = "\xE6\x97\xA5\xE6\x9C\xAC";  // 日本
  const std::string four = "\xF0\x9F\x98\x80";           // 😀
  const std::string max = "\xF4\x8F\xBF\xBF";            // U+10FFFF
  EXPECT_EQ(quote(two), "\"" + two + "\"");
  EXPECT_EQ(quote(three), "\"" + three + "\"");
  EXPECT_EQ(quote(four), "\"" + four + "\"");
  EXPECT_EQ(quote(max), "\"" + max + "\"");
  EXPECT_EQ(quote(two + "\n" + four), "\"" + two + "\\n" + four + "\"");
}

TEST(JsonQuoteTest, InvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(quote("\xFF"), "\"" + kReplacement + "\"");
  EXPECT_EQ(quote("a\x80z"), "\"a" + kReplacement + "z\"");  // lone continuation byte
  // Each byte of an invalid sequence is replaced; the text around it is kept.
  EXPECT_EQ(quote("x" + bytes({0xC0, 0xAF}) + "y"),
            "\"x" + kReplacement + kReplacement + "y\"");  // overlong '/'
  EXPECT_EQ(quote(bytes({0xED, 0xA0, 0x80})),
            "\"" + kReplacement + kReplacement + kReplacement + "\"");               // surrogate
  EXPECT_EQ(quote(bytes({0xE2, 0x82})), "\"" + kReplacement + kReplacement + "\"");  // truncated
  // A truncated sequence followed by ASCII keeps the ASCII.
  EXPECT_EQ(quote(bytes({0xE2, 0x82}) + "\""), "\"" + kReplacement + kReplacement + "\\\"\"");
}

TEST(JsonQuoteTest, OutputIsAlwaysValidUtf8) {
  // Every pair of bytes: whatever goes in, valid UTF-8 comes out.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string q = quote(bytes({a, b}));
      ASSERT_TRUE(utf8::is_valid(q)) << std::hex << a << " " << b;
    }
  }
}

}  // namespace
}  // namespace wi::json
