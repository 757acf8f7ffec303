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

// What a worker kind contributes, built from its own config sections.
struct WorkerParts {
  std::unique_ptr<RecordHandler> handler;
  std::vector<std::string> topics;
  std::optional<std::string> state_topic;
  // Registers the kind's own metrics in the registry the worker serves on /metrics.
  std::function<void(metrics::Registry&)> attach_metrics;
  // Where a group without committed offsets starts: "earliest" (every retained record) or
  // "latest" (only records published after it joined).
  std::string auto_offset_reset = "earliest";
};

struct WorkerDescription {
  WorkerDefaults defaults;
  std::string config_section;  // the kind's own YAML section (validated by build())
  std::string summary;  // for --help
  // Reads the kind's settings from `loader` (problems go to the loader) and builds the
  // handler. `publisher` (acks=all) may be kept for result records; it takes records only
  // after build() returned (the Kafka producer is created once logging is set up).
  std::function<WorkerParts(config::Loader& loader, const WorkerConfig& config,
                            kafka::Publisher& publisher)>
      build;
};

// Exit codes: 0 after a clean stop, 1 when it cannot start, 2 for configuration or usage.
int run_worker(int argc, char** argv, const WorkerDescription& description);

}  // namespace wi::worker
