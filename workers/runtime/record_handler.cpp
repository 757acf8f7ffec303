#include "workers/runtime/record_handler.h"

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

}  // namespace wi::worker
