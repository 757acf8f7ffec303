// CRC-32C, the checksum of every spooled record: the published vectors (RFC 3720 B.4 and the
// "123456789" check value), chaining, and agreement with a bit-at-a-time reference on data of
// every length and alignment (the slicing-by-8 path and the byte tail).

#include "ingest/spool/crc32c.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/ingest/spool/spool_test_support.h"

namespace wi::spool {
namespace {

// The definition: reflected Castagnoli polynomial, one bit at a time.
std::uint32_t reference_crc32c(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

TEST(SpoolCrc32c, CheckValue) { EXPECT_EQ(crc32c("123456789"), 0xE3069283u); }

TEST(SpoolCrc32c, Rfc3720Vectors) {
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string up, down;
  for (int i = 0; i < 32; ++i) {
    up.push_back(static_cast<char>(i));
    down.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down), 0x113FDB5Cu);
}

TEST(SpoolCrc32c, EmptyIsZero) { EXPECT_EQ(crc32c(""), 0u); }

TEST(SpoolCrc32c, MatchesBitwiseReferenceAtEveryLengthAndAlignment) {
  const std::string data = testing::binary_value(300, 7);
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t len = 0; start + len <= data.size(); ++len) {
      std::string_view piece = std::string_view(data).substr(start, len);
      ASSERT_EQ(crc32c(piece), reference_crc32c(piece)) << "start " << start << " len " << len;
    }
  }
}

TEST(SpoolCrc32c, ChainsAcrossSplits) {
  const std::string data = testing::binary_value(257, 3);
  const std::uint32_t whole = crc32c(data);
  for (std::size_t split = 0; split <= data.size(); ++split) {
    std::string_view v(data);
    ASSERT_EQ(crc32c(v.substr(split), crc32c(v.substr(0, split))), whole) << "split " << split;
  }
}

TEST(SpoolCrc32c, EverySingleBitFlipChangesIt) {
  std::string data = testing::binary_value(64, 11);
  const std::uint32_t good = crc32c(data);
  for (std::size_t i = 0; i < data.size() * 8; ++i) {
    data[i / 8] = static_cast<char>(data[i / 8] ^ (1 << (i % 8)));
    EXPECT_NE(crc32c(data), good) << "bit " << i;
    data[i / 8] = static_cast<char>(data[i / 8] ^ (1 << (i % 8)));
  }
}

}  // namespace
}  // namespace wi::spool
