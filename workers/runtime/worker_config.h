#pragma once
// Settings every worker kind shares (SPEC §5), from YAML `worker:` and the environment.

#include <chrono>
#include <string>

#include "common/config.h"
#include "common/kafka/record.h"
#include "common/topics.h"

namespace wi::worker {

struct WorkerDefaults {
  std::string name;             // "dropbox", "chargify", "deploy", "test"
  std::string group;            // default consumer group
  std::string metrics_listen;   // default WORKER_METRICS_LISTEN
};

struct WorkerConfig {
  config::CommonConfig common;
  topics::Layout layout;
  std::string group;
  std::string metrics_host = "0.0.0.0";
  std::uint16_t metrics_port = 0;
  int max_attempts = 5;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};

  kafka::ClientOptions client(const std::string& client_id) const;
};

// Reads `worker.{group,metrics_listen,max_attempts,backoff_initial_ms,backoff_max_ms}` and
// KAFKA_GROUP, WORKER_METRICS_LISTEN, WORKER_MAX_ATTEMPTS, WORKER_BACKOFF_INITIAL_MS,
// WORKER_BACKOFF_MAX_MS.
WorkerConfig load_worker_config(config::Loader& loader, const WorkerDefaults& defaults);

}  // namespace wi::worker
