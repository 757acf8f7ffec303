#pragma once
// InstantPublisher: a kafka::Publisher that confirms (or refuses) each record at once, so a
// real StateStore can run over it in unit tests. Local to these tests until the shared
// tests/fakes/fake_publisher.h lands (another engineer is adding it).
//   fail_next(n) → the next n records are refused (retryable, as a broker timeout would be)

#include <vector>

#include "common/kafka/publisher.h"

namespace wi::fakes {

class InstantPublisher final : public kafka::Publisher {
 public:
  std::vector<kafka::OutgoingRecord> records;  // every confirmed record, in order
  int fail_next = 0;

  void publish(kafka::OutgoingRecord record, DeliveryCallback on_delivery) override {
    if (fail_next > 0) {
      --fail_next;
      on_delivery(Error::timeout("delivery timed out"));
      return;
    }
    records.push_back(std::move(record));
    on_delivery(kafka::Delivery{records.back().partition.value_or(0),
                                static_cast<std::int64_t>(records.size() - 1)});
  }
  void publish_or_return(kafka::OutgoingRecord record, ReturningCallback on_delivery) override {
    auto copy = record;
    publish(std::move(record), [&](Result<kafka::Delivery> r) { on_delivery(r, copy); });
  }
  Status flush(std::chrono::milliseconds) override { return {}; }
  std::size_t in_flight() const override { return 0; }
};

}  // namespace wi::fakes
