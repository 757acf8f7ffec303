#pragma once
// The end-to-end check of `ingestctl bench`: every event id ingestd acknowledged with 200 must
// be in the source's topic. The topic's end offsets are taken before the load; afterwards the
// records from there on are read (manual assignment, no consumer group, nothing committed).

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
  // Records where `topic` ends now. Errors: the broker or the topic cannot be reached.
  static Result<AckCheck> start(const kafka::ClientOptions& client, const std::string& topic);

  // Reads from the recorded offsets until every id in `acked` has been seen (then on to the
  // topic's current end, to count duplicates already written) or `timeout` passes.
  Result<AckCheckResult> verify(const std::vector<std::string>& acked,
                                std::chrono::milliseconds timeout);

  const std::string& topic() const { return topic_; }

 private:
  AckCheck(std::unique_ptr<kafka::RdKafkaConsumer> consumer, std::string topic,
           std::vector<kafka::TopicPartitionOffset> start)
      : consumer_(std::move(consumer)), topic_(std::move(topic)), start_(std::move(start)) {}

  std::unique_ptr<kafka::RdKafkaConsumer> consumer_;
  std::string topic_;
  std::vector<kafka::TopicPartitionOffset> start_;
};

}  // namespace wi::ctl
