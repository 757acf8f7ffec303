#pragma once
// DeferredPublisher: a Publisher that forwards to a target bound later. run_worker hands it
// to the worker kind's build() before the real producer exists: the producer is created only
// once the whole configuration, the kind's own section included, is known to be valid, so a
// bad configuration exits 2 without having made a Kafka client. Until bind(), every record is
// refused at once (a kind must not publish while it is being built). Thread-safe once bound.

#include <atomic>

#include "common/kafka/publisher.h"

namespace wi::worker {

class DeferredPublisher final : public kafka::Publisher {
 public:
  // Call once, before any thread other than the caller's uses this publisher.
  void bind(kafka::Publisher& target) { target_ = &target; }

  void publish(kafka::OutgoingRecord record, DeliveryCallback on_delivery) override {
    if (auto* t = target_.load()) return t->publish(std::move(record), std::move(on_delivery));
    on_delivery(unbound());
  }
  void publish_or_return(kafka::OutgoingRecord record, ReturningCallback on_delivery) override {
    if (auto* t = target_.load()) {
      return t->publish_or_return(std::move(record), std::move(on_delivery));
    }
    on_delivery(unbound(), std::move(record));
  }
  Status flush(std::chrono::milliseconds timeout) override {
    if (auto* t = target_.load()) return t->flush(timeout);
    return {};
  }
  std::size_t in_flight() const override {
    auto* t = target_.load();
    return t ? t->in_flight() : 0;
  }

 private:
  static Error unbound() {
    return Error::internal("publisher used before the Kafka producer was created");
  }
  std::atomic<kafka::Publisher*> target_{nullptr};
};

}  // namespace wi::worker
