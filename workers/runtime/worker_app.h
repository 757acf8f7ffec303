#pragma once
// The process around a worker kind: flags, config, logging, Kafka clients, /metrics, the
// runtime, and SIGTERM/SIGINT → stop fetching, commit, leave the group, exit 0 (SPEC §5).
// Each worker's main() is one call to run_worker with its description.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/kafka/publisher.h"
#include "common/metrics.h"
#include "workers/runtime/record_handler.h"
#include "workers/runtime/worker_config.h"

namespace wi::worker {

// One consumer loop of a worker: a handler with its topics and its own consumer group. Each
// stage runs its own WorkerRuntime on its own thread, so its partitions are balanced among
// the processes on their own (a group balances partition counts per member, not per topic:
// two topics in one group can leave one process with all of one topic).
struct WorkerStage {
  std::string name;  // "fanout", "poll", ...: in logs and the Kafka client id
  std::shared_ptr<RecordHandler> handler;  // called from this stage's thread only
  std::vector<std::string> topics;
  std::optional<std::string> state_topic;  // co-partitioned with topics[0]
  // Appended to the worker's group (worker.group / KAFKA_GROUP): "" or ".fanout".
  std::string group_suffix;
  // Where a group without committed offsets starts: "earliest" (every retained record) or
  // "latest" (only records published after it joined).
  std::string auto_offset_reset = "earliest";
};

// What a worker kind contributes, built from its own config sections: either one stage in
// the fields below (handler, topics, ...; the worker's group as it is), or several `stages`.
struct WorkerParts {
  std::unique_ptr<RecordHandler> handler;
  std::vector<std::string> topics;
  std::optional<std::string> state_topic;
  // Where a group without committed offsets starts: "earliest" (every retained record) or
  // "latest" (only records published after it joined).
  std::string auto_offset_reset = "earliest";
  // When not empty, these run (sharing the publisher, /metrics and the stop signal) and the
  // single-stage fields above must be empty.
  std::vector<WorkerStage> stages;
  // The kind's startup lines (its settings, warnings about them). Logged only once the whole
  // configuration has been found valid: an invalid one prints its problems and nothing that
  // reads as if the worker were starting.
  std::function<void()> announce;
};

struct WorkerDescription {
  WorkerDefaults defaults;
  std::string config_section;  // the kind's own YAML section (validated by build())
  std::string summary;  // for --help
  // Reads the kind's settings from `loader` (problems go to the loader) and builds the
  // handler. Logging is already set up (format, level, and redaction of every secret the
  // loader has read or reads from now on); startup lines go in WorkerParts::announce. `publisher`
  // (acks=all) may be kept for result records; it takes records only after build() returned
  // (the Kafka producer is created once the whole configuration is known to be valid).
  // `registry` is the one the worker serves on /metrics: the kind registers its own series in
  // it (it outlives the parts).
  std::function<WorkerParts(config::Loader& loader, const WorkerConfig& config,
                            kafka::Publisher& publisher, metrics::Registry& registry)>
      build;
};

// Exit codes: 0 after a clean stop, 1 when it cannot start or a stage fails (the other stages
// then stop too), 2 for configuration or usage.
int run_worker(int argc, char** argv, const WorkerDescription& description);

}  // namespace wi::worker
