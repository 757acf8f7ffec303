#include "common/kafka/rdkafka_util.h"

#include <fmt/format.h>

#include "common/log.h"

namespace wi::kafka::detail {

namespace {

// librdkafka's own log lines (connection failures and the like) go to our "kafka" logger.
void log_callback(const rd_kafka_t*, int level, const char* facility, const char* message) {
  static auto logger = wi::log::get("kafka");
  if (level <= 3) {
    logger->error("rdkafka {}: {}", facility, message);
  } else if (level <= 5) {
    logger->warn("rdkafka {}: {}", facility, message);
  } else {
    logger->debug("rdkafka {}: {}", facility, message);
  }
}

}  // namespace

Result<ConfPtr> make_conf(const ClientOptions& client,
                          const std::vector<std::pair<std::string, std::string>>& settings) {
  ConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  auto set = [&](const std::string& name, const std::string& value) -> Status {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return Error::invalid(fmt::format("kafka property {}: {}", name, errstr));
    }
    return {};
  };
  std::vector<std::pair<std::string, std::string>> all = {
      {"bootstrap.servers", client.brokers}, {"client.id", client.client_id}};
  all.insert(all.end(), settings.begin(), settings.end());
  all.insert(all.end(), client.properties.begin(), client.properties.end());
  for (const auto& [name, value] : all) {
    if (auto s = set(name, value); !s) return s.error();
  }
  rd_kafka_conf_set_log_cb(conf.get(), log_callback);
  return conf;
}

Result<HandlePtr> make_handle(rd_kafka_type_t type, ConfPtr conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (!rk) return Error::invalid(fmt::format("cannot create kafka client: {}", errstr));
  conf.release();  // owned by rk now
  return HandlePtr(rk);
}

Error map_error(rd_kafka_resp_err_t err, std::string_view context) {
  std::string msg = fmt::format("{}: {} ({})", context, rd_kafka_err2str(err), rd_kafka_err2name(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return {ErrorCode::kTimeout, std::move(msg), true};
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return {ErrorCode::kTooLarge, std::move(msg), false};
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      // Retryable: the topic may be being created; an operator can fix it without a release.
      return {ErrorCode::kNotFound, std::move(msg), true};
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return {ErrorCode::kInvalidArgument, std::move(msg), false};
    case RD_KAFKA_RESP_ERR__FATAL:
      return {ErrorCode::kInternal, std::move(msg), false};
    default:
      return {ErrorCode::kUnavailable, std::move(msg), true};
  }
}

Headers copy_headers(const rd_kafka_message_t* msg) {
  Headers out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs) return out;
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    out.push_back({name, value ? std::string(static_cast<const char*>(value), size) : ""});
  }
  return out;
}

PartitionListPtr to_list(const std::vector<TopicPartitionOffset>& offsets) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& tpo : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tpo.topic.c_str(), tpo.partition)->offset =
        tpo.offset;
  }
  return list;
}

std::vector<TopicPartitionOffset> from_list(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartitionOffset> out;
  if (!list) return out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    out.push_back({e.topic, e.partition, e.offset});
  }
  return out;
}

}  // namespace wi::kafka::detail
