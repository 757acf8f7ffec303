#include "ingest/spool/record_codec.h"

#include <cstring>

#include "ingest/spool/crc32c.h"

namespace wi::spool {

namespace {

template <typename T>
void put(std::string& out, T v) {
  char buf[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(buf, sizeof(T));
}

template <typename T>
bool get(std::string_view& in, T& v) {
  if (in.size() < sizeof(T)) return false;
  v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<T>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  in.remove_prefix(sizeof(T));
  return true;
}

bool get_bytes(std::string_view& in, std::size_t n, std::string& out) {
  if (in.size() < n) return false;
  out.assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

}  // namespace

FrameKey::FrameKey(std::string_view secret) : seed_(crc32c(secret)) {}

void encode(const kafka::OutgoingRecord& record, const FrameKey& key, std::string& out) {
  std::string payload;
  payload.reserve(record.value.size() + 256);
  put<std::uint16_t>(payload, static_cast<std::uint16_t>(record.topic.size()));
  payload += record.topic;
  put<std::uint8_t>(payload, record.key ? 1 : 0);
  if (record.key) {
    put<std::uint32_t>(payload, static_cast<std::uint32_t>(record.key->size()));
    payload += *record.key;
  }
  put<std::uint16_t>(payload, static_cast<std::uint16_t>(record.headers.size()));
  for (const auto& h : record.headers) {
    put<std::uint16_t>(payload, static_cast<std::uint16_t>(h.name.size()));
    payload += h.name;
    put<std::uint32_t>(payload, static_cast<std::uint32_t>(h.value.size()));
    payload += h.value;
  }
  put<std::uint64_t>(payload, record.value.size());
  payload += record.value;

  out.reserve(out.size() + kFrameHeaderBytes + payload.size());
  out += kMagic;
  put<std::uint32_t>(out, static_cast<std::uint32_t>(payload.size()));
  put<std::uint32_t>(out, crc32c(payload, key.seed()));
  out += payload;
}

Decoded check(std::string_view data, const FrameKey& key) {
  Decoded d;
  if (data.size() < kFrameHeaderBytes) {
    d.status = kMagic.substr(0, std::min(data.size(), kMagic.size())) ==
                       data.substr(0, std::min(data.size(), kMagic.size()))
                   ? DecodeStatus::kIncomplete
                   : DecodeStatus::kCorrupt;
    return d;
  }
  if (data.substr(0, 4) != kMagic) return d;
  std::string_view header = data.substr(4, 8);
  std::uint32_t length = 0, crc = 0;
  get(header, length);
  get(header, crc);
  if (length > kMaxPayloadBytes) return d;
  if (data.size() < kFrameHeaderBytes + length) {
    d.status = DecodeStatus::kIncomplete;
    return d;
  }
  if (crc32c(data.substr(kFrameHeaderBytes, length), key.seed()) != crc) return d;
  d.status = DecodeStatus::kOk;
  d.frame_bytes = kFrameHeaderBytes + length;
  return d;
}

Decoded decode(std::string_view data, const FrameKey& key) {
  Decoded d = check(data, key);
  if (d.status != DecodeStatus::kOk) return d;
  std::string_view in = data.substr(kFrameHeaderBytes, d.frame_bytes - kFrameHeaderBytes);
  auto& r = d.record;
  std::uint16_t topic_len = 0, header_count = 0;
  std::uint8_t has_key = 0;
  std::uint64_t value_len = 0;
  bool ok = get(in, topic_len) && get_bytes(in, topic_len, r.topic) && get(in, has_key);
  if (ok && has_key) {
    std::uint32_t key_len = 0;
    std::string key;
    ok = get(in, key_len) && get_bytes(in, key_len, key);
    r.key = std::move(key);
  }
  ok = ok && get(in, header_count);
  for (std::uint16_t i = 0; ok && i < header_count; ++i) {
    std::uint16_t name_len = 0;
    std::uint32_t value_len32 = 0;
    kafka::Header h;
    ok = get(in, name_len) && get_bytes(in, name_len, h.name) && get(in, value_len32) &&
         get_bytes(in, value_len32, h.value);
    if (ok) r.headers.push_back(std::move(h));
  }
  ok = ok && get(in, value_len) && value_len == in.size() && get_bytes(in, value_len, r.value);
  if (!ok) {
    // A valid CRC over a payload we cannot parse: written by something else. Never publish it.
    d.status = DecodeStatus::kCorrupt;
    d.record = {};
  }
  return d;
}

}  // namespace wi::spool
