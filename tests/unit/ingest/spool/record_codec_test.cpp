// The spool's frame format (record_codec.h): what goes in comes out byte for byte, a frame cut
// anywhere is "incomplete" (a torn tail), and a flipped bit anywhere is never accepted.

#include "ingest/spool/record_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/spool/crc32c.h"
#include "tests/unit/ingest/spool/spool_test_support.h"

namespace wi::spool {
namespace {

using testing::binary_value;
using testing::expect_same_record;
using testing::make_record;

const FrameKey kKey("a spool's frame key");

std::string frame_of(const kafka::OutgoingRecord& r) {
  std::string out;
  encode(r, kKey, out);
  return out;
}

std::uint32_t le32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// A frame around an arbitrary payload, with a correct checksum.
std::string frame_around(const std::string& payload) {
  std::string out(kMagic);
  put_le(out, payload.size(), 4);
  put_le(out, crc32c(payload, kKey.seed()), 4);
  return out + payload;
}

std::vector<kafka::OutgoingRecord> samples() {
  std::vector<kafka::OutgoingRecord> out;
  kafka::OutgoingRecord keyed;
  keyed.topic = "webhooks.github";
  keyed.key = "octo/repo";
  keyed.headers = {{"source", "github"}, {"event-id", "d-1"}, {"event-type", "push"},
                   {"received-at", "2026-11-27T01:35:50.123Z"}, {"content-type", "application/json"}};
  keyed.value = R"({"repository":{"full_name":"octo/repo"}})";
  out.push_back(keyed);

  kafka::OutgoingRecord unkeyed = keyed;
  unkeyed.key.reset();
  out.push_back(unkeyed);

  kafka::OutgoingRecord empty_key = keyed;  // an empty key is a key, not "no key"
  empty_key.key = "";
  out.push_back(empty_key);

  kafka::OutgoingRecord binary;
  binary.topic = "webhooks.dropbox";
  binary.key = std::string("\x00\xff k\x01", 5);
  binary.headers = {{"", ""}, {"bin", std::string("\x00WISP\xff", 6)}, {"dup", "1"}, {"dup", "2"}};
  binary.value = binary_value(70000, 5);  // every byte value, the magic inside, > 64 KiB
  out.push_back(binary);

  kafka::OutgoingRecord empty_value;
  empty_value.topic = "webhooks.chargify";
  empty_value.headers = {{"event-id", "e"}};
  out.push_back(empty_value);

  kafka::OutgoingRecord bare;  // nothing at all but a topic
  bare.topic = "t";
  out.push_back(bare);
  return out;
}

TEST(SpoolRecordCodec, RoundTripsEveryShapeOfRecord) {
  for (const auto& r : samples()) {
    SCOPED_TRACE(r.topic + " value " + std::to_string(r.value.size()) + " bytes");
    const std::string frame = frame_of(r);
    auto d = decode(frame, kKey);
    ASSERT_EQ(d.status, DecodeStatus::kOk);
    EXPECT_EQ(d.frame_bytes, frame.size());
    expect_same_record(d.record, r);
    auto c = check(frame, kKey);
    EXPECT_EQ(c.status, DecodeStatus::kOk);
    EXPECT_EQ(c.frame_bytes, frame.size());
  }
}

TEST(SpoolRecordCodec, FrameLayoutIsMagicLengthCrcPayload) {
  const std::string frame = frame_of(make_record(1));
  ASSERT_GE(frame.size(), kFrameHeaderBytes);
  EXPECT_EQ(frame.substr(0, 4), "WISP");
  EXPECT_EQ(le32(frame, 4), frame.size() - kFrameHeaderBytes);
  EXPECT_EQ(le32(frame, 8), crc32c(std::string_view(frame).substr(kFrameHeaderBytes), kKey.seed()));
}

TEST(SpoolRecordCodec, EncodeAppendsAndFramesDecodeOneAfterAnother) {
  std::string blob = "prefix";
  encode(make_record(1), kKey, blob);
  encode(make_record(2, 0), kKey, blob);
  encode(make_record(3, 5000), kKey, blob);
  EXPECT_EQ(blob.substr(0, 6), "prefix");
  std::string_view rest = std::string_view(blob).substr(6);
  for (int i = 1; i <= 3; ++i) {
    auto d = decode(rest, kKey);
    ASSERT_EQ(d.status, DecodeStatus::kOk) << i;
    expect_same_record(d.record, make_record(i, i == 1 ? 100 : i == 2 ? 0 : 5000));
    rest.remove_prefix(d.frame_bytes);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(SpoolRecordCodec, EveryTruncationIsIncomplete) {
  for (const auto& r : samples()) {
    const std::string frame = frame_of(r);
    // Every cut for small frames; for the big one, the header region densely, then a stride.
    for (std::size_t cut = 0; cut < frame.size(); cut += (cut < 64 || frame.size() < 2048) ? 1 : 997) {
      std::string_view torn = std::string_view(frame).substr(0, cut);
      auto d = decode(torn, kKey);
      ASSERT_EQ(d.status, DecodeStatus::kIncomplete) << r.topic << " cut at " << cut;
      EXPECT_EQ(check(torn, kKey).status, DecodeStatus::kIncomplete) << r.topic << " cut at " << cut;
      EXPECT_TRUE(d.record.topic.empty() && d.record.value.empty());
    }
  }
}

TEST(SpoolRecordCodec, EveryFlippedBitIsRefused) {
  for (const auto& r : {make_record(1), make_record(3, 0), samples()[2]}) {
    const std::string frame = frame_of(r);
    const std::uint32_t length = le32(frame, 4);
    for (std::size_t bit = 0; bit < frame.size() * 8; ++bit) {
      std::string damaged = frame;
      damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
      auto d = decode(damaged, kKey);
      ASSERT_NE(d.status, DecodeStatus::kOk) << "bit " << bit;
      EXPECT_TRUE(d.record.topic.empty() && d.record.value.empty()) << "bit " << bit;
      EXPECT_NE(check(damaged, kKey).status, DecodeStatus::kOk) << "bit " << bit;
      const bool in_length = bit >= 32 && bit < 64;
      const std::uint32_t claimed = le32(damaged, 4);
      if (in_length && claimed > length && claimed <= kMaxPayloadBytes) {
        // A longer length than the bytes present reads exactly like a frame cut short: on its
        // own the frame cannot tell (recovery tells by what follows it).
        EXPECT_EQ(d.status, DecodeStatus::kIncomplete) << "bit " << bit;
      } else {
        EXPECT_EQ(d.status, DecodeStatus::kCorrupt) << "bit " << bit;
      }
    }
  }
}

TEST(SpoolRecordCodec, GarbageIsCorrupt) {
  EXPECT_EQ(decode("XISP", kKey).status, DecodeStatus::kCorrupt);
  EXPECT_EQ(decode(std::string(32, '\0'), kKey).status, DecodeStatus::kCorrupt);
  EXPECT_EQ(decode("not a spool frame at all", kKey).status, DecodeStatus::kCorrupt);
  // A length beyond any real record: refused before anything is allocated or awaited.
  std::string huge(kMagic);
  put_le(huge, kMaxPayloadBytes + 1ull, 4);
  put_le(huge, 0, 4);
  EXPECT_EQ(decode(huge, kKey).status, DecodeStatus::kCorrupt);
}

TEST(SpoolRecordCodec, ValidChecksumOverAPayloadThatDoesNotParseIsCorrupt) {
  // The checksum matches but the structure is not ours: never handed out as a record.
  std::string payload;
  put_le(payload, 200, 2);  // topic length beyond the payload
  payload += "abc";
  EXPECT_EQ(decode(frame_around(payload), kKey).status, DecodeStatus::kCorrupt);

  std::string trailing;  // a well-formed record followed by extra bytes
  put_le(trailing, 1, 2);
  trailing += "t";
  put_le(trailing, 0, 1);  // no key
  put_le(trailing, 0, 2);  // no headers
  put_le(trailing, 3, 8);
  trailing += "abc";
  auto ok = decode(frame_around(trailing), kKey);
  ASSERT_EQ(ok.status, DecodeStatus::kOk);
  EXPECT_EQ(ok.record.topic, "t");
  EXPECT_EQ(ok.record.value, "abc");
  EXPECT_EQ(decode(frame_around(trailing + "x"), kKey).status, DecodeStatus::kCorrupt);
}

TEST(SpoolRecordCodec, AFrameIsValidOnlyUnderTheKeyItWasWrittenWith) {
  // A body author does not know the spool's key: a frame built with any other key (or none)
  // must not check out, however well-formed.
  const auto record = make_record(4);
  std::string keyed;
  encode(record, kKey, keyed);
  ASSERT_EQ(decode(keyed, kKey).status, DecodeStatus::kOk);
  EXPECT_EQ(decode(keyed, FrameKey()).status, DecodeStatus::kCorrupt);
  EXPECT_EQ(decode(keyed, FrameKey("another spool's key")).status, DecodeStatus::kCorrupt);
  std::string unkeyed;
  encode(record, FrameKey(), unkeyed);
  EXPECT_EQ(decode(unkeyed, kKey).status, DecodeStatus::kCorrupt);
  auto legacy = decode(unkeyed, FrameKey());  // spools written before keys still read
  ASSERT_EQ(legacy.status, DecodeStatus::kOk);
  expect_same_record(legacy.record, record);
}

}  // namespace
}  // namespace wi::spool
