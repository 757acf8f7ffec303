#pragma once
// Bounded reads for operator commands (replay, redrive): every record of a topic from a start
// position up to the end offsets taken once, at the start. A scan therefore ends even while
// producers keep writing, and never meets the records the command republishes itself.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/kafka/consumer.h"
#include "common/result.h"

namespace wi::ctl {

// The bounds replay and redrive use: for each Kafka call, and for a scan that stops moving.
inline constexpr std::chrono::seconds kKafkaTimeout{30};
inline constexpr std::chrono::seconds kStallLimit{30};

// One partition's slice: offsets [from, to).
struct ScanRange {
  std::int32_t partition = 0;
  std::int64_t from = 0;
  std::int64_t to = 0;
  bool empty() const { return from >= to; }
};

// The slice of every partition of `topic`: from `start` (a position per partition; a missing
// partition, kOffsetBeginning or any negative offset means the oldest record still in the log)
// to the partition's end offset now. A start below the oldest record still in the log (it was
// deleted by retention) begins at the oldest one.
Result<std::vector<ScanRange>> plan_scan(kafka::Consumer& consumer, const std::string& topic,
                                         const std::vector<kafka::TopicPartitionOffset>& start,
                                         std::chrono::milliseconds timeout);

// What a scan hands each record to; an error stops the scan and is returned.
using ScanVisitor = std::function<Status(const kafka::ConsumedRecord&)>;

// Reads the ranges through `consumer` (manually assigned; no group membership). Within a
// partition records arrive in offset order; partitions interleave. Fails when no record arrives
// for `stall_limit` while a range is unfinished (naming where each one stands), when the
// consumer fails for good, or when `interrupted` becomes true.
Status scan_ranges(kafka::Consumer& consumer, const std::string& topic,
                   const std::vector<ScanRange>& ranges, const ScanVisitor& visit,
                   std::chrono::milliseconds stall_limit, const std::atomic<bool>& interrupted);

}  // namespace wi::ctl
