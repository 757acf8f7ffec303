#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace wi::utf8 {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// ---- is_valid -----------------------------------------------------------------------------------

TEST(Utf8Test, AcceptsValidText) {
  EXPECT_TRUE(is_valid(""));
  EXPECT_TRUE(is_valid("plain ascii"));
  EXPECT_TRUE(is_valid(std::string("nul\0inside", 10)));
  EXPECT_TRUE(is_valid("\xC2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(is_valid("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(is_valid("\xE0\xA0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(is_valid("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid("\xEE\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(is_valid("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(is_valid("\xF0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(is_valid("\xF0\x9F\x98\x80"));  // 😀
  EXPECT_TRUE(is_valid("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the largest
  EXPECT_TRUE(is_valid("caf\xC3\xA9 \xF0\x9F\x8D\xB5 ok"));
}

TEST(Utf8Test, RejectsOverlongs) {
  EXPECT_FALSE(is_valid("\xC0\x80"));  // NUL in two bytes
  EXPECT_FALSE(is_valid("\xC0\xAF"));  // '/'
  EXPECT_FALSE(is_valid("\xC1\xBF"));
  EXPECT_FALSE(is_valid("\xE0\x80\x80"));
  EXPECT_FALSE(is_valid("\xE0\x9F\xBF"));  // U+07FF in three bytes
  EXPECT_FALSE(is_valid("\xF0\x80\x80\x80"));
  EXPECT_FALSE(is_valid("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(Utf8Test, RejectsSurrogates) {
  EXPECT_FALSE(is_valid("\xED\xA0\x80"));              // U+D800
  EXPECT_FALSE(is_valid("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(is_valid("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 style pair
}

TEST(Utf8Test, RejectsTruncatedSequences) {
  EXPECT_FALSE(is_valid("\xC3"));
  EXPECT_FALSE(is_valid("\xE2\x82"));
  EXPECT_FALSE(is_valid("\xF0\x9F\x98"));
  EXPECT_FALSE(is_valid("ok\xF0\x9F\x98"));
  EXPECT_FALSE(is_valid("\xE2\x82z"));  // a non-continuation byte cuts it short
}

TEST(Utf8Test, RejectsInvalidBytes) {
  EXPECT_FALSE(is_valid("\x80"));
  EXPECT_FALSE(is_valid("\xBF"));
  EXPECT_FALSE(is_valid("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid("\xF5\x80\x80\x80"));
  EXPECT_FALSE(is_valid("\xF8\x88\x80\x80\x80"));
  EXPECT_FALSE(is_valid("\xFE"));
  EXPECT_FALSE(is_valid("\xFF"));
}

// ---- sequence_length ----------------------------------------------------------------------------

TEST(Utf8Test, SequenceLengthAtAnOffset) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xFF";  // a é € 😀, a stray byte
  EXPECT_EQ(sequence_length(s, 0), 1u);
  EXPECT_EQ(sequence_length(s, 1), 2u);
  EXPECT_EQ(sequence_length(s, 3), 3u);
  EXPECT_EQ(sequence_length(s, 6), 4u);
  EXPECT_EQ(sequence_length(s, 10), 0u);
  EXPECT_EQ(sequence_length(s, 2), 0u);  // a continuation byte does not start a sequence
  EXPECT_EQ(sequence_length("\xE2\x82", 0), 0u);  // the string ends inside it
  EXPECT_EQ(sequence_length("", 0), 0u);           // nothing there: never a read past the end
  EXPECT_EQ(sequence_length(s, s.size()), 0u);
  EXPECT_EQ(sequence_length(s, s.size() + 5), 0u);
}

// ---- sanitize ---------------------------------------------------------------------------------

TEST(Utf8Test, SanitizeKeepsValidTextAndReplacesEachBadByte) {
  EXPECT_EQ(sanitize(""), "");
  EXPECT_EQ(sanitize("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(sanitize("a\xFF" "b"), "a" + kReplacement + "b");
  EXPECT_EQ(sanitize("\xE2\x82"), kReplacement + kReplacement);    // truncated: two bytes, two
  EXPECT_EQ(sanitize("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  for (int b = 0; b < 256; ++b) {
    EXPECT_TRUE(is_valid(sanitize(std::string(1, static_cast<char>(b)) + "\xC3"))) << b;
  }
}

}  // namespace
}  // namespace wi::utf8
