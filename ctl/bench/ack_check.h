#pragma once
// The end-to-end check of `ingestctl bench`: every event id ingestd acknowledged with 200 must
// be in the source's topic. The topic's end offsets are taken before the load; afterwards the
// records from there on are read (manual assignment, no consumer group, nothing committed).
// When the broker cannot be reached before the load (measuring ingestd's spool during an
// outage), the check starts instead from the first records stamped after the load began
// (minus a margin for clock skew), and waits for the broker to come back.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/kafka/rdkafka_consumer.h"
#include "common/result.h"

namespace wi::ctl {

struct AckCheckResult {
  std::uint64_t acknowledged = 0;  // distinct ids answered 200
  std::uint64_t found = 0;         // of those, seen in the topic
  std::uint64_t missing = 0;       // acknowledged, not seen before the timeout
  std::uint64_t duplicates = 0;    // acknowledged ids seen more than once (at-least-once)
  std::uint64_t records_read = 0;  // all records read, this run's or not
  double seconds = 0;
};

class AckCheck {
 public:
  // Records where `topic` ends now; when the broker is unreachable (a retryable error), records
  // the time instead. Errors: the topic does not exist, or the client cannot be built.
  static Result<AckCheck> start(const kafka::ClientOptions& client, const std::string& topic);

  // False when start() could not reach the broker and fell back to a start time.
  bool started_from_offsets() const { return !start_.empty(); }

  // Reads from the recorded offsets until every id in `acked` has been seen (then on to the
  // topic's current end, to count duplicates already written) or `timeout` passes. A broker
  // that is down is waited for, within `timeout`.
  Result<AckCheckResult> verify(const std::vector<std::string>& acked,
                                std::chrono::milliseconds timeout);

  const std::string& topic() const { return topic_; }

 private:
  AckCheck(std::unique_ptr<kafka::RdKafkaConsumer> consumer, std::string topic,
           std::vector<kafka::TopicPartitionOffset> start, std::int64_t since_ms)
      : consumer_(std::move(consumer)),
        topic_(std::move(topic)),
        start_(std::move(start)),
        since_ms_(since_ms) {}

  std::unique_ptr<kafka::RdKafkaConsumer> consumer_;
  std::string topic_;
  std::vector<kafka::TopicPartitionOffset> start_;  // empty: resolve from since_ms_
  std::int64_t since_ms_ = 0;                       // record timestamp to start from
};

}  // namespace wi::ctl
