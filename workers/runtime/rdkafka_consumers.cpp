#include "workers/runtime/rdkafka_consumers.h"

#include "common/kafka/rdkafka_consumer.h"

namespace wi::worker {

RuntimeConsumers rdkafka_consumers(const RuntimeOptions& options) {
  RuntimeConsumers consumers;
  consumers.group =
      [options](kafka::RebalanceListener& listener) -> Result<RuntimeConsumers::ConsumerPtr> {
    kafka::ConsumerOptions group;
    group.client = options.client;
    group.group_id = options.group;
    group.listener = &listener;
    group.session_timeout_ms = options.session_timeout_ms;
    group.max_poll_interval_ms = options.max_poll_interval_ms;
    group.auto_offset_reset = options.auto_offset_reset;
    auto created = kafka::RdKafkaConsumer::create(group);
    if (!created) return created.error();
    return RuntimeConsumers::ConsumerPtr(std::move(*created));
  };
  consumers.restore = [options]() -> Result<RuntimeConsumers::ConsumerPtr> {
    kafka::ConsumerOptions reader;
    reader.client = options.client;
    reader.client.client_id = options.worker + "-restore";
    auto created = kafka::RdKafkaConsumer::create(reader);
    if (!created) return created.error();
    return RuntimeConsumers::ConsumerPtr(std::move(*created));
  };
  return consumers;
}

}  // namespace wi::worker
