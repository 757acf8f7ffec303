#pragma once
// StateStore: a worker's key-value state for one input partition, backed by a compacted
// changelog topic co-partitioned with the input (same partition number). Writes go to Kafka
// with acks=all and are confirmed before put() returns, so the runtime commits the input
// offset only after the state that record produced is durable. On assignment the runtime
// restores the partition's keys from the changelog before handing it any record.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/kafka/publisher.h"
#include "common/result.h"

namespace wi::worker {

class StateStore {
 public:
  StateStore(kafka::Publisher& publisher, std::string changelog_topic, std::int32_t partition)
      : publisher_(publisher), topic_(std::move(changelog_topic)), partition_(partition) {}

  std::optional<std::string> get(const std::string& key) const;
  // Durable when it returns ok (the changelog write was acknowledged).
  Status put(const std::string& key, std::string value);
  Status erase(const std::string& key);  // a tombstone
  std::size_t size() const { return values_.size(); }

  // Restore: applies one changelog record (a null value deletes).
  void apply(const std::string& key, const std::optional<std::string>& value);

 private:
  Status write(const std::string& key, std::optional<std::string> value);

  kafka::Publisher& publisher_;
  std::string topic_;
  std::int32_t partition_;
  std::map<std::string, std::string> values_;
};

}  // namespace wi::worker
