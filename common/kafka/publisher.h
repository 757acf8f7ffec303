#pragma once
// Publisher: hands records to Kafka and reports each one's final outcome exactly once.

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "common/kafka/record.h"
#include "common/result.h"

namespace wi::kafka {

// Thread-safe. publish() only queues; `on_delivery` runs exactly once with Kafka's final
// verdict (acks=all), on the publisher's delivery thread — or inline, from publish(), when the
// record is refused locally (queue full, too large). Callbacks must be quick and must not
// call flush().
class Publisher {
 public:
  using DeliveryCallback = std::function<void(Result<Delivery>)>;
  virtual ~Publisher() = default;

  virtual void publish(OutgoingRecord record, DeliveryCallback on_delivery) = 0;

  // Like publish(), and the record comes back with the outcome, so a caller can keep a record
  // Kafka did not take (ingestd spools it) without holding a copy meanwhile.
  using ReturningCallback = std::function<void(Result<Delivery>, OutgoingRecord)>;
  virtual void publish_or_return(OutgoingRecord record, ReturningCallback on_delivery) = 0;
  // Waits until every queued record has its outcome, or the timeout passes (then an error
  // naming how many are still in flight).
  virtual Status flush(std::chrono::milliseconds timeout) = 0;
  virtual std::size_t in_flight() const = 0;
};

// Publishes one record and waits for its outcome (tools and tests; not the hot path).
Result<Delivery> publish_and_wait(Publisher& publisher, OutgoingRecord record,
                                  std::chrono::milliseconds timeout);

// Publishes every record at once, then waits until each has its outcome: one round trip for a
// batch instead of one per record. Ok when every record was delivered; else the first error
// reported (retryable when Kafka's was), or a retryable timeout naming how many records are
// unconfirmed. Some records may be delivered even when this fails: callers repeat the whole
// batch (at-least-once). An empty batch is ok at once.
Status publish_all_and_wait(Publisher& publisher, std::vector<OutgoingRecord> records,
                            std::chrono::milliseconds timeout);

}  // namespace wi::kafka
