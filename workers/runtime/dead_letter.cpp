#include "workers/runtime/dead_letter.h"

#include <chrono>

#include "common/kafka/control_headers.h"
#include "common/topics.h"

namespace wi::worker {

kafka::OutgoingRecord dead_letter_record(const kafka::ConsumedRecord& record,
                                         const DeadLetterReason& why) {
  kafka::OutgoingRecord dlq;
  dlq.topic = record.topic + topics::kDlqSuffix;
  dlq.key = record.key;
  dlq.value = record.value;
  dlq.tombstone = record.null_value;
  dlq.headers = record.headers;
  dlq.headers.push_back({"dlq-reason", why.reason});
  dlq.headers.push_back({"dlq-worker", why.worker});
  dlq.headers.push_back({kafka::control_headers::kDlqGroup, why.group});
  dlq.headers.push_back({"dlq-attempts", std::to_string(why.attempts)});
  dlq.headers.push_back({kafka::control_headers::kDlqOriginalTopic, record.topic});
  dlq.headers.push_back({"dlq-original-partition", std::to_string(record.partition)});
  dlq.headers.push_back({"dlq-original-offset", std::to_string(record.offset)});
  return dlq;
}

Status publish_dead_letter(kafka::Publisher& publisher, const kafka::ConsumedRecord& record,
                           const DeadLetterReason& why) {
  auto delivered =
      kafka::publish_and_wait(publisher, dead_letter_record(record, why), std::chrono::seconds(30));
  if (!delivered) return delivered.error();
  return {};
}

}  // namespace wi::worker
