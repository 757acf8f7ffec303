#pragma once
// WorkerRuntime: correct Kafka consumption for every worker kind (SPEC §5), so that a worker
// is only its RecordHandler.
//
// - One consumer group, cooperative-sticky; one consumer thread handles records one at a time,
//   in offset order within a partition.
// - At-least-once: an offset is committed only after its record was processed, skipped or
//   dead-lettered; pending offsets are committed after every batch, before a partition is
//   given up (revocation) and at shutdown.
// - A retryable failure pauses only its partition, seeks back to the record and resumes after
//   an exponential backoff with jitter; other partitions keep flowing and poll() keeps being
//   called, so the group's poll interval is never at risk from a backoff.
// - After max_attempts, or at once for a permanent failure, the record goes to <topic>.dlq
//   with its key, value and headers plus dlq-* headers, and is then committed.
// - With a state topic, each assigned partition's StateStore is restored from the compacted
//   changelog before the partition's first record is handled.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/kafka/consumer.h"
#include "common/kafka/publisher.h"
#include "common/kafka/rdkafka_consumer.h"
#include "common/metrics.h"
#include "workers/runtime/record_handler.h"
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
  std::string auto_offset_reset = "earliest";  // for a group without committed offsets
};

struct RuntimeMetrics {
  RuntimeMetrics(metrics::Registry& registry, const std::string& worker);
  metrics::Family<metrics::Counter>& records;  // {worker,outcome}
  metrics::Histogram& handle_seconds;
  metrics::Counter& rebalances;
  metrics::Gauge& assigned_partitions;
  metrics::Gauge& state_keys;
};

class WorkerRuntime final : public kafka::RebalanceListener {
 public:
  // `publisher` is used for dead letters and state writes (acks=all); `registry` receives the
  // worker_* metrics. All must outlive the runtime.
  WorkerRuntime(RuntimeOptions options, RecordHandler& handler, kafka::Publisher& publisher,
                metrics::Registry& registry, const Clock& clock);
  ~WorkerRuntime() override;

  // Creates the consumer and subscribes. Errors are configuration or connection problems.
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
  // Handles one record; false when its partition must not go on in this batch (retry).
  bool handle_record(const kafka::ConsumedRecord& record,
                     std::span<const kafka::ConsumedRecord> later, const std::atomic<bool>& stop);
  void schedule_retry(const kafka::ConsumedRecord& record, int attempt, const std::string& reason);
  Status dead_letter(const kafka::ConsumedRecord& record, int attempts, const std::string& reason);
  void resume_due_partitions();
  void commit_pending(const std::vector<kafka::TopicPartition>* only = nullptr);
  void restore_state(const std::vector<kafka::TopicPartition>& partitions);
  void update_lag();
  std::chrono::milliseconds backoff(int attempt);

  RuntimeOptions options_;
  RecordHandler& handler_;
  kafka::Publisher& publisher_;
  metrics::Registry& registry_;
  const Clock& clock_;
  RuntimeMetrics metrics_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<kafka::RdKafkaConsumer> consumer_;

  std::set<kafka::TopicPartition> assigned_;
  std::map<kafka::TopicPartition, std::int64_t> pending_commits_;
  std::map<kafka::TopicPartition, Retry> retries_;
  std::set<kafka::TopicPartition> paused_;
  std::map<std::int32_t, std::unique_ptr<StateStore>> state_;  // by partition of topics[0]
  std::mt19937 rng_{std::random_device{}()};
  SteadyTime last_commit_{};

  std::mutex lag_mu_;  // lag_ is read by the metrics endpoint's thread
  std::map<kafka::TopicPartition, std::int64_t> lag_;
};

}  // namespace wi::worker
