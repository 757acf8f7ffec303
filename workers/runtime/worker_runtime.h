#pragma once
// WorkerRuntime: correct Kafka consumption for every worker kind (SPEC §5), so that a worker
// is only its RecordHandler.
//
// - One consumer group, cooperative-sticky; one consumer thread handles records one at a time,
//   in offset order within a partition.
// - At-least-once: an offset is committed only after its record was processed, skipped or
//   dead-lettered; pending offsets are committed after every batch, every second within a long
//   batch, before a partition is given up (revocation) and at shutdown.
// - A retryable failure (or a handler exception) pauses only its partition, seeks back to the
//   record and resumes after an exponential backoff with jitter (backoff.h); other partitions
//   keep flowing and poll() keeps being called, so the group's poll interval is never at risk
//   from a backoff.
// - After max_attempts, or at once for a permanent failure, the record goes to <topic>.dlq
//   (dead_letter.h) and is then committed.
// - A record whose redrive-for-group header names another group is skipped and committed.
// - With a state topic, each assigned partition's StateStore is restored from the compacted
//   changelog (state_restore.h) before the partition's first record is handled.
//
// The Kafka clients come in through RuntimeConsumers and the Publisher, so the whole
// behaviour is unit-tested with fakes (tests/unit/workers/runtime/).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/kafka/consumer.h"
#include "common/kafka/publisher.h"
#include "common/metrics.h"
#include "workers/runtime/backoff.h"
#include "workers/runtime/record_handler.h"
#include "workers/runtime/runtime_metrics.h"
#include "workers/runtime/state_store.h"

namespace spdlog {
class logger;
}

namespace wi::worker {

struct RuntimeOptions {
  std::string worker;                     // "dropbox", "chargify", "deploy", ... (metrics, dlq-worker)
  std::string group;
  std::vector<std::string> topics;
  std::optional<std::string> state_topic;  // changelog co-partitioned with topics[0]
  kafka::ClientOptions client;
  int max_attempts = 5;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
  std::size_t max_batch = 500;
  int session_timeout_ms = 10000;
  int max_poll_interval_ms = 300000;
  // Seeds the backoff jitter; unset: a random seed (tests set it to get repeatable delays).
  std::optional<std::uint32_t> jitter_seed;
  std::string auto_offset_reset = "earliest";  // for a group without committed offsets
};

// Where the runtime gets its Kafka consumers: run_worker makes RdKafkaConsumers
// (rdkafka_consumers.h), unit tests make fakes. A factory rather than a ready consumer because
// the group consumer must know its RebalanceListener (the runtime) when it is created.
struct RuntimeConsumers {
  using ConsumerPtr = std::unique_ptr<kafka::Consumer>;
  // The group member. It reports assignment changes to `listener` from inside poll().
  std::function<Result<ConsumerPtr>(kafka::RebalanceListener& listener)> group;
  // A fresh consumer outside any group, used for one state restore and then closed.
  std::function<Result<ConsumerPtr>()> restore;
};

class WorkerRuntime final : public kafka::RebalanceListener {
 public:
  // `publisher` is used for dead letters and state writes (acks=all); `registry` receives the
  // worker_* metrics. All must outlive the runtime.
  WorkerRuntime(RuntimeOptions options, RecordHandler& handler, RuntimeConsumers consumers,
                kafka::Publisher& publisher, metrics::Registry& registry, const Clock& clock);
  ~WorkerRuntime() override;

  // Creates the group consumer and subscribes. Errors are configuration or connection problems.
  Status start();
  // Consumes until `stop` becomes true, then commits, leaves the group and returns.
  void run(const std::atomic<bool>& stop);

  // RebalanceListener (called inside poll on the runtime's thread).
  void on_assigned(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_revoked(const std::vector<kafka::TopicPartition>& partitions, bool lost) override;

 private:
  struct Retry {
    std::int64_t offset = -1;
    int attempts = 0;
    SteadyTime resume_at{};
  };

  std::vector<kafka::ConsumedRecord> poll_batch();
  void handle_batch(std::vector<kafka::ConsumedRecord> batch, const std::atomic<bool>& stop);
  // Handles one record; false when its partition must not go on in this batch (retry).
  bool handle_record(const kafka::ConsumedRecord& record,
                     std::span<const kafka::ConsumedRecord> later, const std::atomic<bool>& stop);
  HandleResult call_handler(const kafka::ConsumedRecord& record, HandlerContext& context);
  void schedule_retry(const kafka::ConsumedRecord& record, int attempt, const std::string& reason);
  Status dead_letter(const kafka::ConsumedRecord& record, int attempts, const std::string& reason);
  void resume_due_partitions();
  void commit_pending(const std::vector<kafka::TopicPartition>* only = nullptr);
  void restore_state(const std::vector<kafka::TopicPartition>& partitions);
  void update_state_keys();
  void update_lag();

  RuntimeOptions options_;
  RecordHandler& handler_;
  RuntimeConsumers consumers_;
  kafka::Publisher& publisher_;
  metrics::Registry& registry_;
  const Clock& clock_;
  RuntimeMetrics metrics_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<kafka::Consumer> consumer_;
  Backoff backoff_;

  std::set<kafka::TopicPartition> assigned_;
  std::map<kafka::TopicPartition, std::int64_t> pending_commits_;
  std::map<kafka::TopicPartition, Retry> retries_;
  std::set<kafka::TopicPartition> paused_;
  std::map<std::int32_t, std::unique_ptr<StateStore>> state_;  // by partition of topics[0]
  SteadyTime last_commit_{};

  std::mutex lag_mu_;  // lag_ is read by the metrics endpoint's thread
  std::map<kafka::TopicPartition, std::int64_t> lag_;
};

}  // namespace wi::worker
