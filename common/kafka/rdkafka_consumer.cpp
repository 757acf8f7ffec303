#include "common/kafka/rdkafka_consumer.h"

#include <cstring>

#include <fmt/format.h>

#include "common/kafka/rdkafka_util.h"
#include "common/log.h"

namespace wi::kafka {

struct RdKafkaConsumer::Impl {
  detail::HandlePtr rk;
  RebalanceListener* listener = nullptr;
  bool closed = false;
};

namespace {

std::vector<TopicPartition> partitions_in(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  for (int i = 0; i < list->cnt; ++i) out.push_back({list->elems[i].topic, list->elems[i].partition});
  return out;
}

// Runs inside rd_kafka_consumer_poll on the polling thread.
void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
               void* opaque) {
  static auto logger = wi::log::get("kafka");
  auto* listener = static_cast<RebalanceListener*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_assign(rk, parts)) {
        logger->error("incremental assign failed: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, parts);
    }
    if (listener) listener->on_assigned(partitions_in(parts));
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    // Let the listener commit before the partitions move on.
    if (listener) listener->on_revoked(partitions_in(parts), rd_kafka_assignment_lost(rk) != 0);
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_unassign(rk, parts)) {
        logger->error("incremental unassign failed: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  } else {
    logger->error("rebalance error: {}", rd_kafka_err2str(err));
    rd_kafka_assign(rk, nullptr);
  }
}

}  // namespace

Result<std::unique_ptr<RdKafkaConsumer>> RdKafkaConsumer::create(const ConsumerOptions& options) {
  std::vector<std::pair<std::string, std::string>> settings = {
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", options.auto_offset_reset},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"fetch.max.bytes", std::to_string(options.max_fetch_bytes)},
      {"max.partition.fetch.bytes", std::to_string(options.max_partition_fetch_bytes)},
      {"receive.message.max.bytes", std::to_string(options.max_fetch_bytes + 1024 * 1024)},
      {"session.timeout.ms", std::to_string(options.session_timeout_ms)},
      {"max.poll.interval.ms", std::to_string(options.max_poll_interval_ms)},
  };
  // librdkafka 2.0 refuses assign() without a group.id; a consumer that only assigns never
  // joins or commits to this throwaway group.
  settings.push_back({"group.id", options.group_id.value_or(fmt::format(
                                      "wi-assign-only-{}", static_cast<const void*>(&options)))});
  auto conf = detail::make_conf(options.client, settings);
  if (!conf) return conf.error();
  rd_kafka_conf_set_opaque(conf->get(), options.listener);
  if (options.group_id) rd_kafka_conf_set_rebalance_cb(conf->get(), rebalance);
  auto handle = detail::make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!handle) return handle.error();
  auto impl = std::make_unique<Impl>();
  impl->rk = std::move(*handle);
  impl->listener = options.listener;
  rd_kafka_poll_set_consumer(impl->rk.get());
  return std::unique_ptr<RdKafkaConsumer>(new RdKafkaConsumer(std::move(impl)));
}

RdKafkaConsumer::RdKafkaConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RdKafkaConsumer::~RdKafkaConsumer() { close(); }

Status RdKafkaConsumer::subscribe(const std::vector<std::string>& topics) {
  detail::PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (auto err = rd_kafka_subscribe(impl_->rk.get(), list.get())) {
    return detail::map_error(err, "subscribe");
  }
  return {};
}

Status RdKafkaConsumer::assign(const std::vector<TopicPartitionOffset>& partitions) {
  auto list = detail::to_list(partitions);
  if (auto err = rd_kafka_assign(impl_->rk.get(), list.get())) {
    return detail::map_error(err, "assign");
  }
  return {};
}

Result<std::optional<ConsumedRecord>> RdKafkaConsumer::poll(std::chrono::milliseconds timeout) {
  rd_kafka_message_t* msg =
      rd_kafka_consumer_poll(impl_->rk.get(), static_cast<int>(timeout.count()));
  if (!msg) return std::optional<ConsumedRecord>{};
  std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(
      msg, rd_kafka_message_destroy);
  if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return std::optional<ConsumedRecord>{};
  if (msg->err) {
    return detail::map_error(msg->err, fmt::format("consume {}",
                                                   msg->rkt ? rd_kafka_topic_name(msg->rkt) : "?"));
  }
  ConsumedRecord rec;
  rec.topic = rd_kafka_topic_name(msg->rkt);
  rec.partition = msg->partition;
  rec.offset = msg->offset;
  rd_kafka_timestamp_type_t ts_type;
  rec.timestamp_ms = rd_kafka_message_timestamp(msg, &ts_type);
  if (msg->key) rec.key.emplace(static_cast<const char*>(msg->key), msg->key_len);
  if (msg->payload) {
    rec.value.assign(static_cast<const char*>(msg->payload), msg->len);
  } else {
    rec.null_value = true;
  }
  rec.headers = detail::copy_headers(msg);
  return std::optional<ConsumedRecord>(std::move(rec));
}

namespace {

detail::PartitionListPtr partition_list(const std::vector<TopicPartition>& partitions) {
  detail::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  }
  return list;
}

}  // namespace

Status RdKafkaConsumer::pause(const std::vector<TopicPartition>& partitions) {
  auto list = partition_list(partitions);
  if (auto err = rd_kafka_pause_partitions(impl_->rk.get(), list.get())) {
    return detail::map_error(err, "pause");
  }
  return {};
}

Status RdKafkaConsumer::resume(const std::vector<TopicPartition>& partitions) {
  auto list = partition_list(partitions);
  if (auto err = rd_kafka_resume_partitions(impl_->rk.get(), list.get())) {
    return detail::map_error(err, "resume");
  }
  return {};
}

Status RdKafkaConsumer::seek(const TopicPartitionOffset& position) {
  auto list = detail::to_list({position});
  rd_kafka_error_t* error = rd_kafka_seek_partitions(impl_->rk.get(), list.get(), 5000);
  if (error) {
    Error e = detail::map_error(rd_kafka_error_code(error),
                                fmt::format("seek {}/{}", position.topic, position.partition));
    rd_kafka_error_destroy(error);
    return e;
  }
  if (list->elems[0].err) {
    return detail::map_error(list->elems[0].err,
                             fmt::format("seek {}/{}", position.topic, position.partition));
  }
  return {};
}

Status RdKafkaConsumer::commit(const std::vector<TopicPartitionOffset>& offsets) {
  if (offsets.empty()) return {};
  auto list = detail::to_list(offsets);
  if (auto err = rd_kafka_commit(impl_->rk.get(), list.get(), 0 /* synchronous */)) {
    return detail::map_error(err, "commit");
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err) {
      return detail::map_error(list->elems[i].err,
                               fmt::format("commit {}/{}", list->elems[i].topic,
                                           list->elems[i].partition));
    }
  }
  return {};
}

Result<std::vector<TopicPartitionOffset>> RdKafkaConsumer::committed(
    const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout) {
  std::vector<TopicPartitionOffset> query;
  for (const auto& tp : partitions) query.push_back({tp.topic, tp.partition, kOffsetInvalid});
  auto list = detail::to_list(query);
  if (auto err = rd_kafka_committed(impl_->rk.get(), list.get(), static_cast<int>(timeout.count()))) {
    return detail::map_error(err, "committed offsets");
  }
  return detail::from_list(list.get());
}

Result<std::vector<std::int32_t>> RdKafkaConsumer::partitions_of(
    const std::string& topic, std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(impl_->rk.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(impl_->rk.get(), 0, rkt, &md, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(rkt);
  if (err) return detail::map_error(err, fmt::format("metadata for {}", topic));
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> guard(
      md, rd_kafka_metadata_destroy);
  std::vector<std::int32_t> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err) return detail::map_error(t.err, fmt::format("topic {}", topic));
    for (int p = 0; p < t.partition_cnt; ++p) out.push_back(t.partitions[p].id);
  }
  if (out.empty()) return Error::not_found(fmt::format("topic {} does not exist", topic));
  return out;
}

Result<std::vector<TopicPartitionOffset>> RdKafkaConsumer::offsets_for_time(
    const std::string& topic, std::int64_t timestamp_ms, std::chrono::milliseconds timeout) {
  // The ends are read before the lookup: a partition with no record at or after the time then
  // starts where it ended before the lookup, so records written in between (all newer than
  // the time) are not skipped, as they would be with an end read afterwards.
  auto ends = end_offsets(topic, timeout);
  if (!ends) return ends.error();
  std::vector<TopicPartitionOffset> query;
  for (const auto& e : *ends) query.push_back({topic, e.partition, timestamp_ms});
  auto list = detail::to_list(query);
  if (auto err = rd_kafka_offsets_for_times(impl_->rk.get(), list.get(),
                                            static_cast<int>(timeout.count()))) {
    return detail::map_error(err, fmt::format("offsets for time on {}", topic));
  }
  // A partition can fail on its own (e.g. LEADER_NOT_AVAILABLE while a broker restarts); its
  // offset is then not an answer, and taking the end for it would skip records.
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err) {
      return detail::map_error(list->elems[i].err,
                               fmt::format("offsets for time on {}/{}", topic,
                                           list->elems[i].partition));
    }
  }
  auto out = detail::from_list(list.get());
  // -1 means "no record at or after that time" (when asked): start at that earlier end.
  for (auto& tpo : out) {
    if (tpo.offset >= 0) continue;
    for (const auto& e : *ends) {
      if (e.partition == tpo.partition) tpo.offset = e.offset;
    }
  }
  return out;
}

Result<std::int64_t> RdKafkaConsumer::end_offset(std::int32_t partition, const std::string& topic,
                                                 std::chrono::milliseconds timeout) {
  int64_t low = 0, high = 0;
  if (auto err = rd_kafka_query_watermark_offsets(impl_->rk.get(), topic.c_str(), partition, &low,
                                                  &high, static_cast<int>(timeout.count()))) {
    return detail::map_error(err, fmt::format("end offset of {}/{}", topic, partition));
  }
  return high;
}

Result<std::vector<TopicPartitionOffset>> RdKafkaConsumer::end_offsets(
    const std::string& topic, std::chrono::milliseconds timeout) {
  auto parts = partitions_of(topic, timeout);
  if (!parts) return parts.error();
  std::vector<TopicPartitionOffset> out;
  for (auto p : *parts) {
    auto end = end_offset(p, topic, timeout);
    if (!end) return end.error();
    out.push_back({topic, p, *end});
  }
  return out;
}

std::vector<std::pair<TopicPartition, std::int64_t>> RdKafkaConsumer::lag() {
  std::vector<std::pair<TopicPartition, std::int64_t>> out;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(impl_->rk.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || !raw) return out;
  detail::PartitionListPtr list(raw);
  rd_kafka_position(impl_->rk.get(), list.get());
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    int64_t low = -1, high = -1;
    rd_kafka_get_watermark_offsets(impl_->rk.get(), e.topic, e.partition, &low, &high);
    std::int64_t lag = -1;
    if (high >= 0 && e.offset >= 0) lag = std::max<std::int64_t>(0, high - e.offset);
    out.push_back({{e.topic, e.partition}, lag});
  }
  return out;
}

void RdKafkaConsumer::close() {
  if (impl_->closed || !impl_->rk) return;
  impl_->closed = true;
  rd_kafka_consumer_close(impl_->rk.get());
}

}  // namespace wi::kafka
