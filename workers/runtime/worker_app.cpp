#include "workers/runtime/worker_app.h"

#include <signal.h>

#include <atomic>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/kafka/rdkafka_publisher.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/metrics.h"
#include "common/http/server.h"
#include "workers/runtime/deferred_publisher.h"
#include "workers/runtime/metrics_endpoint.h"
#include "workers/runtime/rdkafka_consumers.h"
#include "workers/runtime/worker_runtime.h"

namespace wi::worker {

int run_worker(int argc, char** argv, const WorkerDescription& description) {
  const auto& name = description.defaults.name;
  CLI::App app{description.summary};
  std::optional<std::string> config_file;
  app.add_option("--config", config_file, "YAML config file (default: $INGEST_CONFIG)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  // SIGTERM/SIGINT are taken by a dedicated thread; every other thread has them blocked.
  sigset_t signals = block_termination_signals();

  auto env = config::Environment::from_process();
  std::optional<config::Loader> loader;
  WorkerConfig config;
  try {
    loader.emplace(config::config_path(config_file, env), env);
    config = load_worker_config(*loader, description.defaults);
  } catch (const config::ConfigError& e) {
    std::cerr << name << "-worker: " << e.what() << "\n";
    return 2;
  }
  // Declared before the parts: a handler may keep references into these until it is destroyed.
  metrics::Registry registry;
  DeferredPublisher publisher;  // bound to the real producer once logging is set up
  std::unique_ptr<kafka::RdKafkaPublisher> producer;
  WorkerParts parts;
  try {
    parts = description.build(*loader, config, publisher);
    // Sections of other binaries are theirs to validate; this kind's own is checked in full.
    for (const char* other : {"ingest", "sources", "dropbox", "chargify", "deploy", "test_worker"}) {
      if (other == description.config_section || !loader->has({other})) continue;
      loader->ignore({other});
    }
    loader->finish();
  } catch (const config::ConfigError& e) {
    std::cerr << name << "-worker: " << e.what() << "\n";
    return 2;
  }
  // Before the first Kafka client: librdkafka logs from its own threads, through this setup.
  log::setup({config.common.log_level, config.common.log_format}, loader->secrets());
  auto log = log::get(name + "-worker");

  kafka::PublisherOptions publisher_options;
  publisher_options.client = config.client(name + "-worker");
  auto created = kafka::RdKafkaPublisher::create(publisher_options);
  if (!created) {
    log->error("cannot create the Kafka producer: {}", created.error().message);
    return 1;
  }
  producer = std::move(*created);
  publisher.bind(*producer);

  if (parts.attach_metrics) parts.attach_metrics(registry);
  SystemClock clock;
  RuntimeOptions options;
  options.worker = name;
  options.group = config.group;
  options.topics = parts.topics;
  options.state_topic = parts.state_topic;
  options.auto_offset_reset = parts.auto_offset_reset;
  options.client = config.client(name + "-worker");
  options.max_attempts = config.max_attempts;
  options.backoff_initial = config.backoff_initial;
  options.backoff_max = config.backoff_max;
  WorkerRuntime runtime(options, *parts.handler, rdkafka_consumers(options), *producer, registry,
                        clock);

  std::atomic<bool> healthy{false};
  MetricsEndpoint endpoint(registry, healthy);
  http::ServerOptions server_options;
  server_options.host = config.metrics_host;
  server_options.port = config.metrics_port;
  server_options.threads = 1;
  http::HttpServer server(server_options, endpoint);
  if (auto s = server.start(); !s) {
    log->error("{}", s.error().message);
    return 1;
  }
  if (auto s = runtime.start(); !s) {
    log->error("cannot start consuming: {}", s.error().message);
    return 1;
  }
  log->info("{}-worker up: group={} metrics on {}:{}", name, config.group, config.metrics_host,
            server.port());

  std::atomic<bool> stop{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    log->info("received {}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    stop = true;
  });
  healthy = true;
  int code = 0;
  try {
    runtime.run(stop);
  } catch (const std::exception& e) {
    log->error("worker failed: {}", e.what());
    code = 1;
  }
  healthy = false;
  if (!stop) {
    // The loop ended by itself (an error): let the signal thread go.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  if (auto s = producer->flush(std::chrono::seconds(5)); !s) {
    log->warn("flush at exit: {}", s.error().message);
  }
  server.stop();
  log->info("stopped");
  return code;
}

}  // namespace wi::worker
