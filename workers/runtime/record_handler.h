#pragma once
// What a worker kind implements: its business logic for one record. Everything else (group
// membership, ordering, retries, dead letters, commits, state restore) is the runtime's.

#include <functional>
#include <span>
#include <string>

#include "common/kafka/record.h"
#include "common/result.h"

namespace wi::worker {

class StateStore;

enum class Outcome {
  kProcessed,   // side effect done
  kSkipped,     // deliberately nothing to do (counted, committed)
  kRetry,       // transient failure: back off and try again
  kDeadLetter,  // permanent failure: to <topic>.dlq at once
};
const char* to_string(Outcome outcome);

struct HandleResult {
  Outcome outcome = Outcome::kProcessed;
  std::string reason;  // for skips, retries and dead letters: logs, metrics and dlq-reason

  static HandleResult processed() { return {Outcome::kProcessed, ""}; }
  static HandleResult skipped(std::string why) { return {Outcome::kSkipped, std::move(why)}; }
  static HandleResult retry(std::string why) { return {Outcome::kRetry, std::move(why)}; }
  static HandleResult dead_letter(std::string why) { return {Outcome::kDeadLetter, std::move(why)}; }
  // Retry or dead-letter by the error's `retryable`.
  static HandleResult from(const Error& error) {
    return error.retryable ? retry(error.message) : dead_letter(error.message);
  }
};

struct HandlerContext {
  int attempt = 1;  // 1 for the first try of this record
  // The records fetched after this one from the same partition, in order (for coalescing
  // duplicates or skipping superseded work). They are still handled one by one afterwards.
  std::span<const kafka::ConsumedRecord> later_in_partition;
  // This record's partition's state (null when the worker has no state topic).
  StateStore* state = nullptr;
  // True once shutdown was requested: long work may stop early and return kRetry (the record
  // stays uncommitted and is handled again by whoever owns the partition next).
  std::function<bool()> stopping;
};

// The record's event-id header (set by ingestd), else topic/partition@offset: what logs, dead
// letters and results name a record by.
std::string event_id_of(const kafka::ConsumedRecord& record);

// Called from the runtime's single consumer thread, one record at a time.
class RecordHandler {
 public:
  virtual ~RecordHandler() = default;
  virtual HandleResult handle(const kafka::ConsumedRecord& record, HandlerContext& context) = 0;
};

}  // namespace wi::worker
