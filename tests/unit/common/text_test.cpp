#include "common/text.h"

#include <gtest/gtest.h>

namespace wi::text {
namespace {

TEST(TextTrim, WhitespaceByDefault) {
  EXPECT_EQ(trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(trim("\v\fx\f"), "x");
  EXPECT_EQ(trim("ab"), "ab");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t\r\n "), "");
}

TEST(TextTrim, OnlyTheGivenCharacters) {
  EXPECT_EQ(trim(" \tv\t ", " "), "\tv\t");
  EXPECT_EQ(trim("\r fatal: x \r", " \t\r"), "fatal: x");
  EXPECT_EQ(trim("  ", " "), "");
}

static_assert(trim("  constexpr  ") == "constexpr");

}  // namespace
}  // namespace wi::text
