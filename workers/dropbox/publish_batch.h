#pragma once
// Publishes several records at once and waits until Kafka confirmed every one (acks=all):
// one round trip for a page of changes instead of one per record.

#include <chrono>
#include <vector>

#include "common/kafka/publisher.h"

namespace wi::dropbox {

// Ok when every record was delivered; else the first error (retryable when Kafka's was), or a
// retryable timeout. Records may be delivered even when this fails: callers repeat the whole
// batch (at-least-once).
Status publish_batch(kafka::Publisher& publisher, std::vector<kafka::OutgoingRecord> records,
                     std::chrono::milliseconds timeout);

}  // namespace wi::dropbox
