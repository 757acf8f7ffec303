#pragma once
// Kafka records in our own types: nothing outside common/kafka sees a librdkafka type.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wi::kafka {

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};
using Headers = std::vector<Header>;

// The first header called `name` (exact, case-sensitive: our header names are lowercase).
const std::string* find_header(const Headers& headers, std::string_view name);

struct OutgoingRecord {
  std::string topic;
  std::optional<std::string> key;
  Headers headers;
  std::string value;
  std::optional<std::int32_t> partition;  // none: the partitioner picks (by key)
  bool tombstone = false;                 // a null value (deletes the key in compacted topics)
};

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// `offset` is the next offset to read (Kafka's committed-offset convention).
struct TopicPartitionOffset {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  bool operator==(const TopicPartitionOffset&) const = default;
};

struct ConsumedRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  Headers headers;
  std::string value;
  bool null_value = false;  // a tombstone
};

struct Delivery {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

// Connection settings shared by every adapter.
struct ClientOptions {
  std::string brokers = "127.0.0.1:9092";
  std::string client_id = "webhook-ingest";
  // Extra librdkafka properties, applied last (TLS, SASL, tuning).
  std::vector<std::pair<std::string, std::string>> properties;
};

}  // namespace wi::kafka
