#include "workers/runtime/record_handler.h"

#include <fmt/format.h>

namespace wi::worker {

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kProcessed: return "processed";
    case Outcome::kSkipped: return "skipped";
    case Outcome::kRetry: return "retried";
    case Outcome::kDeadLetter: return "dead_lettered";
  }
  return "unknown";
}

std::string event_id_of(const kafka::ConsumedRecord& record) {
  const std::string* id = kafka::find_header(record.headers, "event-id");
  if (id && !id->empty()) return *id;
  return fmt::format("{}/{}@{}", record.topic, record.partition, record.offset);
}

}  // namespace wi::worker
