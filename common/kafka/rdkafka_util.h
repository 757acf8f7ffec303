#pragma once
// Internal to common/kafka: librdkafka configuration and error mapping shared by the adapters.

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/kafka/record.h"
#include "common/result.h"

namespace wi::kafka::detail {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// A conf with bootstrap servers, client id, our log callback, then `settings`, then the
// operator's extra properties (which win). Errors name the offending property.
Result<ConfPtr> make_conf(const ClientOptions& client,
                          const std::vector<std::pair<std::string, std::string>>& settings);

// Creates the handle; takes ownership of `conf` on success.
Result<HandlePtr> make_handle(rd_kafka_type_t type, ConfPtr conf);

// Maps a librdkafka error to ours; `retryable` follows librdkafka's own classification where
// it has one and errs towards retrying transport and timeout errors.
Error map_error(rd_kafka_resp_err_t err, std::string_view context);

Headers copy_headers(const rd_kafka_message_t* msg);

PartitionListPtr to_list(const std::vector<TopicPartitionOffset>& offsets);
std::vector<TopicPartitionOffset> from_list(const rd_kafka_topic_partition_list_t* list);

}  // namespace wi::kafka::detail
