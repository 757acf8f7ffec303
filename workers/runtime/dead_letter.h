#pragma once
// Dead letters (SPEC §5): a record the worker gave up on goes to <topic>.dlq with its key,
// value and headers, plus dlq-* headers saying why, who and from where, so that an operator
// can read it and `ingestctl redrive` can send it back (to this group only, via dlq-group).

#include <string>

#include "common/kafka/control_headers.h"
#include "common/kafka/publisher.h"
#include "common/kafka/record.h"
#include "common/result.h"

namespace wi::worker {

struct DeadLetterReason {
  std::string worker;  // dlq-worker
  std::string group;   // dlq-group
  int attempts = 0;    // dlq-attempts
  std::string reason;  // dlq-reason
};

// The record to publish: the original with every header kept and the dlq-* headers appended.
kafka::OutgoingRecord dead_letter_record(const kafka::ConsumedRecord& record,
                                         const DeadLetterReason& why);

// Publishes the dead letter and waits for Kafka's acks=all verdict: the caller commits the
// original only after this succeeded.
Status publish_dead_letter(kafka::Publisher& publisher, const kafka::ConsumedRecord& record,
                           const DeadLetterReason& why);

}  // namespace wi::worker
