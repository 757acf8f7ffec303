#pragma once
// FakePublisher: a kafka::Publisher that answers at once, inline from publish():
//   by default every record is delivered (partition = the record's, else 0; offsets count up)
//   fail_next(n, retryable)  → the next n records are refused with an error of that kind
// Every record handed to publish() is kept in records(), refused ones in refused(), so a test
// can tell "published" from "tried". Thread-safe; callbacks run without the lock held.

#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

#include "common/kafka/publisher.h"

namespace wi::fakes {

class FakePublisher final : public kafka::Publisher {
 public:
  void publish(kafka::OutgoingRecord record, DeliveryCallback on_delivery) override {
    auto outcome = take(std::move(record));
    on_delivery(std::move(outcome));
  }
  void publish_or_return(kafka::OutgoingRecord record, ReturningCallback on_delivery) override {
    auto copy = record;
    auto outcome = take(std::move(record));
    on_delivery(std::move(outcome), std::move(copy));
  }
  Status flush(std::chrono::milliseconds) override { return {}; }
  std::size_t in_flight() const override { return 0; }

  void fail_next(int n, bool retryable = true) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
    fail_retryable_ = retryable;
  }
  std::vector<kafka::OutgoingRecord> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  std::vector<kafka::OutgoingRecord> refused() const {
    std::lock_guard lock(mu_);
    return refused_;
  }

 private:
  Result<kafka::Delivery> take(kafka::OutgoingRecord record) {
    std::lock_guard lock(mu_);
    if (fail_next_ > 0) {
      --fail_next_;
      refused_.push_back(std::move(record));
      return fail_retryable_ ? Error::unavailable("broker down")
                             : Error::invalid("record refused for good");
    }
    std::int32_t partition = record.partition.value_or(0);
    records_.push_back(std::move(record));
    return kafka::Delivery{partition, static_cast<std::int64_t>(records_.size() - 1)};
  }

  mutable std::mutex mu_;
  std::vector<kafka::OutgoingRecord> records_;
  std::vector<kafka::OutgoingRecord> refused_;
  int fail_next_ = 0;
  bool fail_retryable_ = true;
};

}  // namespace wi::fakes
