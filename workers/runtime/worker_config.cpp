#include "workers/runtime/worker_config.h"

#include <charconv>

#include <fmt/format.h>

namespace wi::worker {

kafka::ClientOptions WorkerConfig::client(const std::string& client_id) const {
  kafka::ClientOptions c;
  c.brokers = common.kafka_brokers;
  c.client_id = client_id;
  c.properties.assign(common.kafka_properties.begin(), common.kafka_properties.end());
  return c;
}

WorkerConfig load_worker_config(config::Loader& loader, const WorkerDefaults& defaults) {
  WorkerConfig c;
  c.common = config::load_common(loader);
  c.layout = topics::load_layout(loader);
  c.group = loader.string({"worker", "group"}, "KAFKA_GROUP", defaults.group);
  auto listen =
      loader.string({"worker", "metrics_listen"}, "WORKER_METRICS_LISTEN", defaults.metrics_listen);
  auto colon = listen.rfind(':');
  unsigned port = 0;
  bool ok = colon != std::string::npos;
  if (ok) {
    auto [end, ec] = std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), port);
    ok = ec == std::errc() && end == listen.data() + listen.size() && port <= 65535;
  }
  if (!ok) {
    loader.problem(fmt::format("WORKER_METRICS_LISTEN: '{}' is not host:port", listen));
  } else {
    c.metrics_host = colon == 0 ? "0.0.0.0" : listen.substr(0, colon);
    c.metrics_port = static_cast<std::uint16_t>(port);
  }
  c.max_attempts = static_cast<int>(
      loader.integer({"worker", "max_attempts"}, "WORKER_MAX_ATTEMPTS", c.max_attempts, 1, 1000));
  c.backoff_initial = std::chrono::milliseconds(
      loader.integer({"worker", "backoff_initial_ms"}, "WORKER_BACKOFF_INITIAL_MS",
                     c.backoff_initial.count(), 1, 3600000));
  c.backoff_max = std::chrono::milliseconds(loader.integer(
      {"worker", "backoff_max_ms"}, "WORKER_BACKOFF_MAX_MS", c.backoff_max.count(), 1, 3600000));
  if (c.backoff_max < c.backoff_initial) {
    loader.problem("WORKER_BACKOFF_MAX_MS must not be below WORKER_BACKOFF_INITIAL_MS");
  }
  return c;
}

}  // namespace wi::worker
