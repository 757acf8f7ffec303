#include "common/kafka/rdkafka_publisher.h"

#include <fmt/format.h>

#include "common/kafka/rdkafka_util.h"
#include "common/log.h"
#include "common/thread_name.h"

namespace wi::kafka {

namespace {

// Owns a record until its delivery report: librdkafka reads key and value from here without
// copying them (a 25 MiB body is not duplicated). Exactly one of the two callbacks is set; the
// report calls it directly (no std::function wrapping another per record: this is the hot
// path).
struct Pending {
  OutgoingRecord record;
  Publisher::DeliveryCallback on_delivery;
  Publisher::ReturningCallback on_delivery_or_return;

  void report(Result<Delivery> outcome) {
    if (on_delivery) {
      on_delivery(std::move(outcome));
    } else {
      on_delivery_or_return(std::move(outcome), std::move(record));
    }
  }
};

}  // namespace

struct RdKafkaPublisher::Impl {
  detail::HandlePtr rk;
  std::thread poller;
  std::atomic<bool> stop{false};
};

Result<std::unique_ptr<RdKafkaPublisher>> RdKafkaPublisher::create(
    const PublisherOptions& options) {
  auto conf = detail::make_conf(
      options.client,
      {
          {"enable.idempotence", "true"},
          {"acks", "all"},
          {"compression.type", options.compression},
          {"linger.ms", std::to_string(options.linger_ms)},
          {"message.max.bytes", std::to_string(options.max_message_bytes)},
          {"message.timeout.ms", std::to_string(options.delivery_timeout_ms)},
          // Fail fast enough to notice a dead broker, reconnect quickly when it returns.
          {"socket.connection.setup.timeout.ms", "5000"},
          {"reconnect.backoff.max.ms", "1000"},
      });
  if (!conf) return conf.error();
  auto impl = std::make_unique<Impl>();
  std::unique_ptr<RdKafkaPublisher> self(new RdKafkaPublisher(std::move(impl)));
  rd_kafka_conf_set_opaque(conf->get(), self.get());
  // Delivery reports: the publisher's bookkeeping first, then the record's own callback.
  rd_kafka_conf_set_dr_msg_cb(conf->get(), [](rd_kafka_t*, const rd_kafka_message_t* msg,
                                              void* opaque) {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(msg->_private));
    auto* me = static_cast<RdKafkaPublisher*>(opaque);
    const bool ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (ok) me->brokers_down_ = false;
    --me->in_flight_;
    if (ok) {
      pending->report(Delivery{msg->partition, msg->offset});
    } else {
      pending->report(
          detail::map_error(msg->err, fmt::format("publish to {}", pending->record.topic)));
    }
  });
  rd_kafka_conf_set_error_cb(conf->get(), [](rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* me = static_cast<RdKafkaPublisher*>(opaque);
    static auto logger = wi::log::get("kafka");
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) me->brokers_down_ = true;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512];
      rd_kafka_fatal_error(rk, buf, sizeof buf);
      logger->error("producer fatal error: {}", buf);
    } else {
      logger->warn("producer: {} ({})", reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
    }
  });
  auto handle = detail::make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle) return handle.error();
  self->impl_->rk = std::move(*handle);
  Impl* impl_ptr = self->impl_.get();
  self->impl_->poller = std::thread([impl_ptr] {
    name_this_thread("kafka:reports");  // delivery reports: their callbacks run here
    while (!impl_ptr->stop.load()) rd_kafka_poll(impl_ptr->rk.get(), 100);
  });
  return self;
}

RdKafkaPublisher::RdKafkaPublisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RdKafkaPublisher::~RdKafkaPublisher() {
  if (!impl_->rk) return;
  impl_->stop = true;
  if (impl_->poller.joinable()) impl_->poller.join();
  // Whatever is still queued gets its callback with a purge error, never silence.
  rd_kafka_purge(impl_->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(impl_->rk.get(), 0);
  rd_kafka_flush(impl_->rk.get(), 1000);
  impl_->rk.reset();
}

void RdKafkaPublisher::publish(OutgoingRecord record, DeliveryCallback on_delivery) {
  produce(std::move(record), std::move(on_delivery), {});
}

void RdKafkaPublisher::publish_or_return(OutgoingRecord record, ReturningCallback on_delivery) {
  produce(std::move(record), {}, std::move(on_delivery));
}

void RdKafkaPublisher::produce(OutgoingRecord record, DeliveryCallback on_delivery,
                               ReturningCallback on_delivery_or_return) {
  auto pending = std::make_unique<Pending>(
      Pending{std::move(record), std::move(on_delivery), std::move(on_delivery_or_return)});
  // Counted before producing: the report may arrive on the poller thread before produce returns.
  ++in_flight_;
  auto& rec = pending->record;
  rd_kafka_headers_t* headers = rd_kafka_headers_new(rec.headers.size());
  for (const auto& h : rec.headers) {
    rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.value.data(), static_cast<ssize_t>(h.value.size()));
  }
  const void* key = rec.key ? rec.key->data() : nullptr;
  size_t key_len = rec.key ? rec.key->size() : 0;
  const std::int32_t partition = rec.partition.value_or(RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_producev(
      impl_->rk.get(), RD_KAFKA_V_TOPIC(rec.topic.c_str()),
      RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_KEY(const_cast<void*>(key), key_len),
      RD_KAFKA_V_VALUE(rec.tombstone ? nullptr : static_cast<void*>(rec.value.data()),
                       rec.tombstone ? 0 : rec.value.size()),
      RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(pending.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(headers);  // not taken over on failure
    --in_flight_;
    pending->report(detail::map_error(err, fmt::format("publish to {}", rec.topic)));
    return;
  }
  pending.release();  // owned by librdkafka until delivery_report
}

Status RdKafkaPublisher::flush(std::chrono::milliseconds timeout) {
  rd_kafka_resp_err_t err = rd_kafka_flush(impl_->rk.get(), static_cast<int>(timeout.count()));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && in_flight_.load() == 0) return {};
  return Error::timeout(fmt::format("{} records still awaiting Kafka's confirmation", in_flight_.load()));
}

}  // namespace wi::kafka

namespace wi::kafka {

Status RdKafkaPublisher::probe(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(impl_->rk.get(), 0, nullptr, &md, static_cast<int>(timeout.count()));
  if (err) return detail::map_error(err, "kafka metadata");
  rd_kafka_metadata_destroy(md);
  return {};
}

}  // namespace wi::kafka
