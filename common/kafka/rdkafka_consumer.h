#pragma once
// RdKafkaConsumer: Consumer over librdkafka's high-level consumer with manual commits
// (enable.auto.commit=false) and cooperative-sticky assignment.

#include <memory>
#include <optional>

#include "common/kafka/consumer.h"

namespace wi::kafka {

struct ConsumerOptions {
  ClientOptions client;
  std::optional<std::string> group_id;      // required for subscribe()
  std::string auto_offset_reset = "earliest";
  std::size_t max_fetch_bytes = 64 * 1024 * 1024;            // records can be 25 MiB
  std::size_t max_partition_fetch_bytes = 27 * 1024 * 1024;
  int session_timeout_ms = 10000;
  int max_poll_interval_ms = 300000;
  RebalanceListener* listener = nullptr;    // not owned; must outlive the consumer
};

class RdKafkaConsumer final : public Consumer {
 public:
  static Result<std::unique_ptr<RdKafkaConsumer>> create(const ConsumerOptions& options);
  ~RdKafkaConsumer() override;

  Status subscribe(const std::vector<std::string>& topics) override;
  Status assign(const std::vector<TopicPartitionOffset>& partitions) override;
  Result<std::optional<ConsumedRecord>> poll(std::chrono::milliseconds timeout) override;
  Status pause(const std::vector<TopicPartition>& partitions) override;
  Status resume(const std::vector<TopicPartition>& partitions) override;
  Status seek(const TopicPartitionOffset& position) override;
  Status commit(const std::vector<TopicPartitionOffset>& offsets) override;
  Result<std::vector<TopicPartitionOffset>> committed(const std::vector<TopicPartition>& partitions,
                                                      std::chrono::milliseconds timeout) override;
  Result<std::vector<std::int32_t>> partitions_of(const std::string& topic,
                                                  std::chrono::milliseconds timeout) override;
  Result<std::vector<TopicPartitionOffset>> offsets_for_time(
      const std::string& topic, std::int64_t timestamp_ms,
      std::chrono::milliseconds timeout) override;
  Result<std::vector<TopicPartitionOffset>> end_offsets(
      const std::string& topic, std::chrono::milliseconds timeout) override;
  std::vector<std::pair<TopicPartition, std::int64_t>> lag() override;
  void close() override;

 private:
  Result<std::int64_t> end_offset(std::int32_t partition, const std::string& topic,
                                  std::chrono::milliseconds timeout);
  struct Impl;
  explicit RdKafkaConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wi::kafka
