#pragma once
// RdKafkaPublisher: Publisher over librdkafka's idempotent producer (acks=all). A private
// thread serves delivery reports, so callbacks run there.

#include <atomic>
#include <memory>
#include <thread>

#include "common/kafka/publisher.h"

namespace wi::kafka {

struct PublisherOptions {
  ClientOptions client;
  int linger_ms = 1;                     // STACK.md: answering from delivery reports makes
                                         // linger the floor of every request's latency
  std::string compression = "lz4";
  std::size_t max_message_bytes = 27 * 1024 * 1024;  // 25 MiB body + headers and overhead
  int delivery_timeout_ms = 30000;       // message.timeout.ms: librdkafka's final verdict
                                         // (0: never give up, retry until delivered)
};

class RdKafkaPublisher final : public Publisher {
 public:
  static Result<std::unique_ptr<RdKafkaPublisher>> create(const PublisherOptions& options);
  ~RdKafkaPublisher() override;  // purges what is still queued (callbacks get an error)

  void publish(OutgoingRecord record, DeliveryCallback on_delivery) override;
  void publish_or_return(OutgoingRecord record, ReturningCallback on_delivery) override;
  Status flush(std::chrono::milliseconds timeout) override;
  std::size_t in_flight() const override { return in_flight_.load(); }

  // Asks the cluster for broker metadata: ok when some broker answers within `timeout`.
  Status probe(std::chrono::milliseconds timeout);

  // True after librdkafka reported that every broker is down, until a delivery succeeds.
  bool brokers_down() const { return brokers_down_.load(); }

 private:
  struct Impl;
  explicit RdKafkaPublisher(std::unique_ptr<Impl> impl);
  // Exactly one of the callbacks is set.
  void produce(OutgoingRecord record, DeliveryCallback on_delivery,
               ReturningCallback on_delivery_or_return);
  std::unique_ptr<Impl> impl_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> brokers_down_{false};
};

}  // namespace wi::kafka
