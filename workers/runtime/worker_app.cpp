#include "workers/runtime/worker_app.h"

#include <signal.h>

#include <atomic>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/kafka/rdkafka_publisher.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/metrics.h"
#include "common/http/server.h"
#include "workers/runtime/consumer_lag_gauge.h"
#include "workers/runtime/deferred_publisher.h"
#include "workers/runtime/metrics_endpoint.h"
#include "workers/runtime/rdkafka_consumers.h"
#include "workers/runtime/worker_runtime.h"

namespace wi::worker {

namespace {

// A kind with one stage fills WorkerParts' own fields: that is one stage in the worker's group.
std::vector<WorkerStage> stages_of(WorkerParts parts) {
  if (!parts.stages.empty()) {
    if (parts.handler || !parts.topics.empty()) {
      throw std::logic_error("WorkerParts: give either stages or one handler, not both");
    }
    return std::move(parts.stages);
  }
  WorkerStage only;
  only.handler = std::move(parts.handler);
  only.topics = std::move(parts.topics);
  only.state_topic = std::move(parts.state_topic);
  only.auto_offset_reset = std::move(parts.auto_offset_reset);
  return {std::move(only)};
}

}  // namespace

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
  // Logging is set up once, here, before the kind builds its parts, so that the lines it logs
  // while building already have the configured format and redaction. The secrets it reads
  // then (SMTP_PASSWORD, DROPBOX_APP_SECRET, a deploy target's env values, ...) join the
  // redaction as the loader reads them, before any line could carry them. Before the first
  // Kafka client too: librdkafka logs from its own threads, through this setup.
  log::setup({config.common.log_level, config.common.log_format}, loader->secrets());
  loader->on_secret([](const Secret& secret) { log::add_secrets({secret}); });
  auto log = log::get(name + "-worker");

  // Declared before the parts: a handler may keep references into these until it is destroyed.
  metrics::Registry registry;
  DeferredPublisher publisher;  // bound to the real producer once the configuration is valid
  std::unique_ptr<kafka::RdKafkaPublisher> producer;
  WorkerParts parts;
  try {
    parts = description.build(*loader, config, publisher, registry);
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
  if (parts.announce) parts.announce();
  kafka::PublisherOptions publisher_options;
  publisher_options.client = config.client(name + "-worker");
  auto created = kafka::RdKafkaPublisher::create(publisher_options);
  if (!created) {
    log->error("cannot create the Kafka producer: {}", created.error().message);
    return 1;
  }
  producer = std::move(*created);
  publisher.bind(*producer);

  auto stages = stages_of(std::move(parts));
  SystemClock clock;
  ConsumerLagGauge lag_gauge(registry);
  std::vector<std::unique_ptr<WorkerRuntime>> runtimes;
  std::vector<std::string> groups;
  for (const auto& stage : stages) {
    RuntimeOptions options;
    options.worker = name;
    options.group = config.group + stage.group_suffix;
    options.topics = stage.topics;
    options.state_topic = stage.state_topic;
    options.auto_offset_reset = stage.auto_offset_reset;
    options.client =
        config.client(name + "-worker" + (stage.name.empty() ? "" : "-" + stage.name));
    options.max_attempts = config.max_attempts;
    options.backoff_initial = config.backoff_initial;
    options.backoff_max = config.backoff_max;
    groups.push_back(options.group);
    runtimes.push_back(std::make_unique<WorkerRuntime>(options, *stage.handler,
                                                       rdkafka_consumers(options), *producer,
                                                       registry, clock, &lag_gauge));
  }

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
  for (auto& runtime : runtimes) {
    if (auto s = runtime->start(); !s) {
      log->error("cannot start consuming: {}", s.error().message);
      return 1;
    }
  }
  log->info("{}-worker up: group={} metrics on {}:{}", name, fmt::join(groups, ","),
            config.metrics_host, server.port());

  std::atomic<bool> stop{false};
  std::atomic<bool> signalled{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!stop) log->info("received {}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    signalled = true;
    stop = true;
  });
  healthy = true;
  // One thread per stage; a stage that fails stops the others, and the process exits 1.
  std::atomic<int> code{0};
  auto run_stage = [&](WorkerRuntime& runtime) {
    try {
      runtime.run(stop);
    } catch (const std::exception& e) {
      log->error("worker failed: {}", e.what());
      code = 1;
    }
    stop = true;
  };
  std::vector<std::thread> stage_threads;
  for (std::size_t i = 1; i < runtimes.size(); ++i) {
    stage_threads.emplace_back(run_stage, std::ref(*runtimes[i]));
  }
  run_stage(*runtimes[0]);
  for (auto& t : stage_threads) t.join();
  healthy = false;
  if (!signalled) {
    // The loops ended by themselves (an error): let the signal thread go.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  if (auto s = producer->flush(std::chrono::seconds(5)); !s) {
    log->warn("flush at exit: {}", s.error().message);
  }
  server.stop();
  log->info("stopped");
  return code.load();
}

}  // namespace wi::worker
