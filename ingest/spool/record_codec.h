#pragma once
// The on-disk form of one spooled record:
//
//   frame   = magic "WISP" | u32 payload length | u32 keyed CRC-32C of the payload | payload
//   payload = u16 topic length, topic | u8 has key, [u32 key length, key]
//             | u16 header count, { u16 name length, name, u32 value length, value }
//             | u64 value length, value
//
// Integers are little-endian. A frame is valid only when it is complete and its CRC matches;
// the magic lets recovery find the next frame after a damaged one.
//
// The CRC starts from a per-spool random key (FrameKey), not from zero. CRC-32C is no MAC,
// but a webhook body cannot carry a frame that checks out without knowing the key, so a
// frame-shaped body caught inside a torn frame is never "recovered" as a record with a topic
// and headers of the sender's choosing. The unkeyed FrameKey{} reads spools written before
// keys existed and writes quarantine files (readable without the spool's key).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/kafka/record.h"

namespace wi::spool {

inline constexpr std::string_view kMagic = "WISP";
inline constexpr std::size_t kFrameHeaderBytes = 12;
// Larger payloads are not ours (a damaged length field): refuse before allocating.
inline constexpr std::uint32_t kMaxPayloadBytes = 1u << 30;

// The checksum's starting state, derived from a spool's secret key bytes.
class FrameKey {
 public:
  FrameKey() = default;  // unkeyed: plain CRC-32C
  explicit FrameKey(std::string_view secret);
  std::uint32_t seed() const { return seed_; }

 private:
  std::uint32_t seed_ = 0;
};

// Appends the frame for `record` to `out`.
void encode(const kafka::OutgoingRecord& record, const FrameKey& key, std::string& out);

enum class DecodeStatus { kOk, kIncomplete, kCorrupt };

struct Decoded {
  DecodeStatus status = DecodeStatus::kCorrupt;
  std::size_t frame_bytes = 0;  // kOk: the whole frame's length
  kafka::OutgoingRecord record;
};

// Decodes the frame at the start of `data`. kIncomplete: `data` ends inside a frame whose
// header is plausible (a torn tail when at the end of a file); kCorrupt: bad magic, CRC or
// structure.
Decoded decode(std::string_view data, const FrameKey& key);

// Only the frame's extent and checksum, without building the record: kOk does not mean the
// payload parses (recovery therefore uses decode()).
Decoded check(std::string_view data, const FrameKey& key);

}  // namespace wi::spool
