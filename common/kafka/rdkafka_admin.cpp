#include "common/kafka/rdkafka_admin.h"

#include <thread>

#include <fmt/format.h>

#include "common/kafka/rdkafka_util.h"

namespace wi::kafka {

struct RdKafkaAdmin::Impl {
  detail::HandlePtr rk;
};

namespace {

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

// Waits for the one result event of an admin request on its private queue.
Result<EventPtr> await_result(rd_kafka_queue_t* queue, std::chrono::milliseconds timeout,
                              std::string_view what) {
  EventPtr event(rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000));
  if (!event) return Error::timeout(fmt::format("{}: no answer from Kafka in time", what));
  if (auto err = rd_kafka_event_error(event.get())) {
    return Error{detail::map_error(err, what).code,
                 fmt::format("{}: {}", what, rd_kafka_event_error_string(event.get())), true};
  }
  return event;
}

struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};

std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> admin_options(
    rd_kafka_t* rk, rd_kafka_admin_op_t op, std::chrono::milliseconds timeout) {
  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> opts(rd_kafka_AdminOptions_new(rk, op));
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), static_cast<int>(timeout.count()), errstr,
                                            sizeof errstr);
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {
    rd_kafka_AdminOptions_set_operation_timeout(opts.get(), static_cast<int>(timeout.count()),
                                                errstr, sizeof errstr);
  }
  return opts;
}

// Partition count of `name` from the broker's metadata; kNotFound while it does not know it.
Result<int> partition_count(rd_kafka_t* rk, const std::string& name,
                            std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, name.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 0, rkt, &md, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(rkt);
  if (err) return detail::map_error(err, fmt::format("metadata for {}", name));
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> guard(
      md, rd_kafka_metadata_destroy);
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (name != md->topics[i].topic) continue;
    if (md->topics[i].err) {
      return detail::map_error(md->topics[i].err, fmt::format("topic {}", name));
    }
    return md->topics[i].partition_cnt;
  }
  return Error::not_found(fmt::format("topic {} is not in the metadata", name));
}

}  // namespace

Result<std::unique_ptr<RdKafkaAdmin>> RdKafkaAdmin::create(const ClientOptions& client) {
  auto conf = detail::make_conf(client, {});
  if (!conf) return conf.error();
  auto handle = detail::make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle) return handle.error();
  auto impl = std::make_unique<Impl>();
  impl->rk = std::move(*handle);
  return std::unique_ptr<RdKafkaAdmin>(new RdKafkaAdmin(std::move(impl)));
}

RdKafkaAdmin::RdKafkaAdmin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RdKafkaAdmin::~RdKafkaAdmin() = default;

Result<std::vector<CreateOutcome>> RdKafkaAdmin::create_topics(
    const std::vector<TopicSpec>& topics, std::chrono::milliseconds timeout) {
  if (topics.empty()) return std::vector<CreateOutcome>{};
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  auto cleanup = [&] {
    for (auto* t : new_topics) rd_kafka_NewTopic_destroy(t);
  };
  char errstr[512];
  for (const auto& spec : topics) {
    auto* nt = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions, spec.replication, errstr,
                                     sizeof errstr);
    if (!nt) {
      cleanup();
      return Error::invalid(fmt::format("topic {}: {}", spec.name, errstr));
    }
    new_topics.push_back(nt);
    for (const auto& [k, v] : spec.config) {
      if (auto err = rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str())) {
        cleanup();
        return detail::map_error(err, fmt::format("topic {} config {}", spec.name, k));
      }
    }
  }
  QueuePtr queue(rd_kafka_queue_new(impl_->rk.get()));
  auto opts = admin_options(impl_->rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  rd_kafka_CreateTopics(impl_->rk.get(), new_topics.data(), new_topics.size(), opts.get(),
                        queue.get());
  cleanup();
  auto event = await_result(queue.get(), timeout, "create topics");
  if (!event) return event.error();
  const auto* result = rd_kafka_event_CreateTopics_result(event->get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  std::vector<CreateOutcome> outcomes(topics.size(), CreateOutcome::kCreated);
  for (size_t i = 0; i < count; ++i) {
    std::string name = rd_kafka_topic_result_name(results[i]);
    auto err = rd_kafka_topic_result_error(results[i]);
    std::size_t idx = 0;
    while (idx < topics.size() && topics[idx].name != name) ++idx;
    if (idx == topics.size()) continue;
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      outcomes[idx] = CreateOutcome::kAlreadyExisted;
    } else if (err) {
      const char* why = rd_kafka_topic_result_error_string(results[i]);
      auto e = detail::map_error(err, fmt::format("create topic {}", name));
      e.message = fmt::format("create topic {}: {}", name, why ? why : rd_kafka_err2str(err));
      return e;
    }
  }
  // CreateTopics answers before every broker's metadata cache knows the topic; return only
  // once the new topics are usable, so callers can describe, produce and consume at once.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (outcomes[i] != CreateOutcome::kCreated) continue;
    while (true) {
      auto count = partition_count(impl_->rk.get(), topics[i].name, timeout);
      if (count && *count == topics[i].partitions) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        return Error::timeout(fmt::format("topic {} was created but is not visible in the "
                                          "metadata yet", topics[i].name));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return outcomes;
}

Result<TopicInfo> RdKafkaAdmin::describe_topic(const std::string& name,
                                               std::chrono::milliseconds timeout) {
  TopicInfo info;
  info.name = name;
  auto partitions = partition_count(impl_->rk.get(), name, timeout);
  if (!partitions) return partitions.error();
  info.partitions = *partitions;
  // Configuration from DescribeConfigs.
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str());
  QueuePtr queue(rd_kafka_queue_new(impl_->rk.get()));
  auto opts = admin_options(impl_->rk.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  rd_kafka_DescribeConfigs(impl_->rk.get(), &resource, 1, opts.get(), queue.get());
  rd_kafka_ConfigResource_destroy(resource);
  auto event = await_result(queue.get(), timeout, "describe configs");
  if (!event) return event.error();
  const auto* result = rd_kafka_event_DescribeConfigs_result(event->get());
  size_t count = 0;
  const rd_kafka_ConfigResource_t** resources =
      rd_kafka_DescribeConfigs_result_resources(result, &count);
  for (size_t i = 0; i < count; ++i) {
    if (auto err = rd_kafka_ConfigResource_error(resources[i])) {
      return detail::map_error(err, fmt::format("describe configs of {}", name));
    }
    size_t n = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(resources[i], &n);
    for (size_t j = 0; j < n; ++j) {
      const char* value = rd_kafka_ConfigEntry_value(entries[j]);
      info.config[rd_kafka_ConfigEntry_name(entries[j])] = value ? value : "";
    }
  }
  return info;
}

namespace {

// Offset changes the broker refuses because the group is in use.
bool group_in_use(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
         err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
         err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
         err == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID;
}

// librdkafka 2.0.2 hands these group-level answers back instead of retrying them; they are
// routine on a fresh cluster (the first group request creates __consumer_offsets) and while a
// coordinator moves.
bool coordinator_moving(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_NOT_COORDINATOR ||
         err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
         err == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
}

// A group request's outcome with the broker's error code (to decide whether to try again).
template <typename T>
struct Attempt {
  Result<T> result;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// Runs `attempt` until it succeeds, fails for another reason, or the deadline passes.
template <typename T, typename F>
Result<T> retry_while_coordinator_moves(std::chrono::milliseconds timeout, F attempt) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(100);
  while (true) {
    Attempt<T> a = attempt();
    if (a.result || !coordinator_moving(a.err) ||
        std::chrono::steady_clock::now() + backoff > deadline) {
      return std::move(a.result);
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
}

Error group_error(rd_kafka_resp_err_t err, std::string context, const char* detail = nullptr) {
  auto e = detail::map_error(err, context);
  if (detail) e.message = fmt::format("{}: {}", context, detail);
  if (group_in_use(err)) {
    e.code = ErrorCode::kConflict;
    e.retryable = false;
    e.message += " — the group has active members; stop its consumers first";
  }
  return e;
}

// An admin request's result event, or the error (with its code) of the request as a whole.
Attempt<EventPtr> await_group_result(rd_kafka_queue_t* queue, std::chrono::milliseconds timeout,
                                     const std::string& what) {
  EventPtr event(rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000));
  if (!event) return {Error::timeout(fmt::format("{}: no answer from Kafka in time", what))};
  if (auto err = rd_kafka_event_error(event.get())) {
    return {group_error(err, what, rd_kafka_event_error_string(event.get())), err};
  }
  return {std::move(event)};
}

Attempt<GroupDescription> describe_group_once(rd_kafka_t* rk, const std::string& group,
                                              std::chrono::milliseconds timeout) {
  const std::string what = fmt::format("describe group {}", group);
  const char* groups[] = {group.c_str()};
  QueuePtr queue(rd_kafka_queue_new(rk));
  auto opts = admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout);
  rd_kafka_DescribeConsumerGroups(rk, groups, 1, opts.get(), queue.get());
  auto event = await_group_result(queue.get(), timeout, what);
  if (!event.result) return {event.result.error(), event.err};
  const auto* result = rd_kafka_event_DescribeConsumerGroups_result(event.result->get());
  size_t count = 0;
  const rd_kafka_ConsumerGroupDescription_t** descs =
      rd_kafka_DescribeConsumerGroups_result_groups(result, &count);
  for (size_t i = 0; i < count; ++i) {
    const auto* d = descs[i];
    if (group != rd_kafka_ConsumerGroupDescription_group_id(d)) continue;
    GroupDescription out;
    out.group = group;
    if (const rd_kafka_error_t* error = rd_kafka_ConsumerGroupDescription_error(d)) {
      auto code = rd_kafka_error_code(error);
      // Newer brokers answer GROUP_ID_NOT_FOUND where older ones describe a "Dead" group.
      if (code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        out.state = "Dead";
        return {std::move(out)};
      }
      return {group_error(code, what, rd_kafka_error_string(error)), code};
    }
    out.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
    const size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
    auto text = [](const char* s) { return std::string(s ? s : ""); };
    for (size_t m = 0; m < members; ++m) {
      const auto* member = rd_kafka_ConsumerGroupDescription_member(d, m);
      if (!member) continue;
      GroupMember described{text(rd_kafka_MemberDescription_consumer_id(member)),
                            text(rd_kafka_MemberDescription_client_id(member)),
                            text(rd_kafka_MemberDescription_host(member)),
                            {}};
      if (const auto* assignment = rd_kafka_MemberDescription_assignment(member)) {
        const auto* list = rd_kafka_MemberAssignment_partitions(assignment);
        for (int i = 0; list && i < list->cnt; ++i) {
          described.assignment.push_back({list->elems[i].topic, list->elems[i].partition});
        }
      }
      out.members.push_back(std::move(described));
    }
    return {std::move(out)};
  }
  return {Error::internal(what + ": the broker did not answer for it")};
}

Attempt<bool> alter_group_offsets_once(rd_kafka_t* rk, const std::string& group,
                                       const std::vector<TopicPartitionOffset>& offsets,
                                       std::chrono::milliseconds timeout) {
  const std::string what = fmt::format("alter offsets of group {}", group);
  auto list = detail::to_list(offsets);
  rd_kafka_AlterConsumerGroupOffsets_t* request =
      rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list.get());
  QueuePtr queue(rd_kafka_queue_new(rk));
  auto opts = admin_options(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout);
  rd_kafka_AlterConsumerGroupOffsets(rk, &request, 1, opts.get(), queue.get());
  rd_kafka_AlterConsumerGroupOffsets_destroy(request);
  auto event = await_group_result(queue.get(), timeout, what);
  if (!event.result) return {event.result.error(), event.err};
  const auto* result = rd_kafka_event_AlterConsumerGroupOffsets_result(event.result->get());
  size_t count = 0;
  const rd_kafka_group_result_t** groups =
      rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &count);
  if (count == 0) return {Error::internal(what + ": the broker did not answer for the group")};
  for (size_t i = 0; i < count; ++i) {
    if (const rd_kafka_error_t* error = rd_kafka_group_result_error(groups[i])) {
      auto code = rd_kafka_error_code(error);
      return {group_error(code, what, rd_kafka_error_string(error)), code};
    }
    const rd_kafka_topic_partition_list_t* parts = rd_kafka_group_result_partitions(groups[i]);
    for (int p = 0; parts && p < parts->cnt; ++p) {
      const auto& e = parts->elems[p];
      if (e.err) {
        return {group_error(e.err, fmt::format("{} on {}/{}", what, e.topic, e.partition)), e.err};
      }
    }
  }
  return {true};
}

}  // namespace

Result<GroupDescription> RdKafkaAdmin::describe_group(const std::string& group,
                                                      std::chrono::milliseconds timeout) {
  return retry_while_coordinator_moves<GroupDescription>(
      timeout, [&] { return describe_group_once(impl_->rk.get(), group, timeout); });
}

Status RdKafkaAdmin::alter_group_offsets(const std::string& group,
                                         const std::vector<TopicPartitionOffset>& offsets,
                                         std::chrono::milliseconds timeout) {
  if (offsets.empty()) return {};
  for (const auto& tpo : offsets) {
    if (tpo.offset < 0) {
      return Error::invalid(fmt::format("alter offsets of {}: {}/{} has no absolute offset ({})",
                                        group, tpo.topic, tpo.partition, tpo.offset));
    }
  }
  auto done = retry_while_coordinator_moves<bool>(
      timeout, [&] { return alter_group_offsets_once(impl_->rk.get(), group, offsets, timeout); });
  if (!done) return done.error();
  return {};
}

}  // namespace wi::kafka
