#pragma once
// EventSink: where a verified request's record goes to be made durable. The HTTP path only
// sees this interface, so the on-disk spool (SPEC §3 "Acknowledgement") can sit between the
// edge and Kafka without the edge changing.

#include <functional>

#include "common/kafka/publisher.h"
#include "common/result.h"

namespace wi::ingest {

// Thread-safe. `on_durable` runs exactly once, on any thread (possibly inline from accept()
// when the record is refused at once): success means the record is durably stored — Kafka
// confirmed it with acks=all (KafkaSink), or it is fsync'd in the spool (spool::SpoolingSink).
class EventSink {
 public:
  using Callback = std::function<void(Status)>;
  virtual ~EventSink() = default;
  virtual void accept(kafka::OutgoingRecord record, Callback on_durable) = 0;
};

// Durable means Kafka confirmed it.
class KafkaSink final : public EventSink {
 public:
  explicit KafkaSink(kafka::Publisher& publisher) : publisher_(publisher) {}
  void accept(kafka::OutgoingRecord record, Callback on_durable) override {
    publisher_.publish(std::move(record), [cb = std::move(on_durable)](Result<kafka::Delivery> r) {
      cb(r.ok() ? Status() : Status(r.error()));
    });
  }

 private:
  kafka::Publisher& publisher_;
};

}  // namespace wi::ingest
