#pragma once
// Consumer: reads records with manual offset commits.

#include <chrono>
#include <optional>
#include <vector>

#include "common/kafka/record.h"
#include "common/result.h"

namespace wi::kafka {

// Called from inside Consumer::poll() on the polling thread when the group's assignment
// changes (cooperative-sticky: only the partitions that move are named). on_revoked runs
// before the partitions are given up, so committing there is safe; when `lost` is true the
// partitions already belong to someone else and committing them would fail.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  virtual void on_assigned(const std::vector<TopicPartition>& partitions) = 0;
  virtual void on_revoked(const std::vector<TopicPartition>& partitions, bool lost) = 0;
};

// Not thread-safe: one thread polls, commits and closes (librdkafka's rule as well).
class Consumer {
 public:
  virtual ~Consumer() = default;

  // Group consumption (needs a group id).
  virtual Status subscribe(const std::vector<std::string>& topics) = 0;
  // Manual assignment, no group coordination (tail, tools). Offsets may be the sentinels below.
  virtual Status assign(const std::vector<TopicPartitionOffset>& partitions) = 0;

  // The next record, nullopt when none arrived within `timeout`, or an error (retryable unless
  // the consumer is unusable).
  virtual Result<std::optional<ConsumedRecord>> poll(std::chrono::milliseconds timeout) = 0;

  // Stops / restarts fetching from these partitions (they stay assigned). Records already
  // fetched for a paused partition may still be returned once; seek() discards them.
  virtual Status pause(const std::vector<TopicPartition>& partitions) = 0;
  virtual Status resume(const std::vector<TopicPartition>& partitions) = 0;
  // The next poll() for this partition returns the record at `offset` (used to re-deliver a
  // record whose handling is retried later).
  virtual Status seek(const TopicPartitionOffset& position) = 0;

  // Synchronous commit of "next offset to read" positions.
  virtual Status commit(const std::vector<TopicPartitionOffset>& offsets) = 0;
  // The group's committed offsets (kOffsetInvalid where none).
  virtual Result<std::vector<TopicPartitionOffset>> committed(
      const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout) = 0;

  // Partition ids of `topic` from cluster metadata.
  virtual Result<std::vector<std::int32_t>> partitions_of(const std::string& topic,
                                                          std::chrono::milliseconds timeout) = 0;
  // For each partition, the offset of the first record with timestamp >= `timestamp_ms`
  // (the end offset where there is none).
  virtual Result<std::vector<TopicPartitionOffset>> offsets_for_time(
      const std::string& topic, std::int64_t timestamp_ms, std::chrono::milliseconds timeout) = 0;

  // Records between this consumer's position and the partition's end, for every assigned
  // partition, from locally cached offsets (no network round trip; -1 when not known yet).
  virtual std::vector<std::pair<TopicPartition, std::int64_t>> lag() = 0;

  // The high watermark (offset of the next record to be written) of every partition.
  virtual Result<std::vector<TopicPartitionOffset>> end_offsets(
      const std::string& topic, std::chrono::milliseconds timeout) = 0;

  // Commits nothing by itself; leaves the group. Idempotent.
  virtual void close() = 0;

  static constexpr std::int64_t kOffsetBeginning = -2;
  static constexpr std::int64_t kOffsetEnd = -1;
  static constexpr std::int64_t kOffsetInvalid = -1001;
};

}  // namespace wi::kafka
