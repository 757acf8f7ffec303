#include "ingest/ingestd_app.h"

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/kafka/rdkafka_publisher.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/metrics.h"
#include "common/http/server.h"
#include "ingest/ingest_service.h"
#include "ingest/spool/spooling_sink.h"

namespace wi::ingest {

namespace {

// Probes Kafka every couple of seconds on its own thread, so /readyz answers at once.
class KafkaReadiness final : public Readiness {
 public:
  // Probes once before returning, so the first requests see the real state (with a spool, an
  // unknown state would send them to disk).
  explicit KafkaReadiness(kafka::RdKafkaPublisher& publisher)
      : publisher_(publisher),
        ready_(publisher.probe(std::chrono::milliseconds(1500)).ok()),
        thread_([this] { loop(); }) {}
  ~KafkaReadiness() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool ready() const override { return ready_.load(); }

 private:
  void loop() {
    auto log = log::get("ingestd");
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      bool now_ready = publisher_.probe(std::chrono::milliseconds(1500)).ok();
      if (now_ready != ready_.exchange(now_ready)) {
        if (now_ready) {
          log->info("kafka reachable: ready");
        } else {
          log->warn("kafka unreachable: not ready (requests get 503 until it returns)");
        }
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(2), [this] { return stop_; });
    }
  }

  kafka::RdKafkaPublisher& publisher_;
  std::atomic<bool> ready_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

class CombinedReadiness final : public Readiness {
 public:
  CombinedReadiness(const Readiness& kafka, const spool::Spool* spool) : kafka_(kafka), spool_(spool) {}
  bool ready() const override { return kafka_.ready() || (spool_ && !spool_->full()); }

 private:
  const Readiness& kafka_;
  const spool::Spool* spool_;
};

}  // namespace

int run_ingestd(int argc, char** argv) {
  CLI::App app{"ingestd: verifies webhooks and lands them durably in Kafka (SPEC §3)"};
  std::optional<std::string> config_file;
  app.add_option("--config", config_file, "YAML config file (default: $INGEST_CONFIG)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  sigset_t signals = block_termination_signals();
  IngestConfig config;
  std::vector<Secret> secrets;
  try {
    auto env = config::Environment::from_process();
    config::Loader loader(config::config_path(config_file, env), env);
    config = load_ingest_config(loader);
    for (const char* section : {"worker", "dropbox", "chargify", "deploy"}) loader.ignore({section});
    loader.finish();
    secrets = loader.secrets();
  } catch (const config::ConfigError& e) {
    std::cerr << "ingestd: " << e.what() << "\n";
    return 2;
  }
  log::setup({config.common.log_level, config.common.log_format}, secrets);
  auto log = log::get("ingestd");
  for (const auto& name : config.disabled_builtins) {
    log->warn("source {} disabled: its secret is not set (requests to /webhooks/{} get 404)",
              name, name);
  }
  for (const auto& s : config.sources) {
    log->info("source {} enabled: kind={} topic={} secrets={} max_body_bytes={}",
              s.settings.name, to_string(s.settings.kind), s.topic, s.settings.secrets.size(),
              s.max_body_bytes);
  }
  if (config.sources.empty()) log->warn("no source is enabled: every webhook gets 404");

  kafka::PublisherOptions publisher_options;
  publisher_options.client.brokers = config.common.kafka_brokers;
  publisher_options.client.client_id = "ingestd";
  publisher_options.client.properties.assign(config.common.kafka_properties.begin(),
                                             config.common.kafka_properties.end());
  publisher_options.linger_ms = config.linger_ms;
  publisher_options.compression = config.compression;
  publisher_options.max_message_bytes = static_cast<std::size_t>(config.layout.max_message_bytes);
  // With a spool, Kafka gets only the short bound before a record is spooled instead.
  publisher_options.delivery_timeout_ms =
      static_cast<int>((config.spool_dir ? config.spool_after : config.publish_timeout).count());
  auto publisher = kafka::RdKafkaPublisher::create(publisher_options);
  if (!publisher) {
    log->error("cannot create the Kafka producer: {}", publisher.error().message);
    return 1;
  }

  metrics::Registry registry;
  SystemClock clock;
  KafkaReadiness kafka_readiness(**publisher);
  KafkaSink kafka_sink(**publisher);

  // The durable spool (INGEST_SPOOL_DIR): its own drain producer never gives up on a record.
  std::unique_ptr<spool::Spool> spool;
  std::unique_ptr<kafka::RdKafkaPublisher> drain_publisher;
  std::unique_ptr<spool::SpoolingSink> spooling_sink;
  if (config.spool_dir) {
    // Space comes back a whole segment at a time: keep segments a fraction of the bound.
    const auto max_bytes = static_cast<std::uint64_t>(config.spool_max_bytes);
    const std::uint64_t segment_bytes = std::clamp<std::uint64_t>(max_bytes / 8, 1 << 20, 64 << 20);
    auto opened = spool::Spool::open({*config.spool_dir, max_bytes, segment_bytes}, clock);
    if (!opened) {
      log->error("cannot open the spool in {}: {}", *config.spool_dir, opened.error().message);
      return 1;
    }
    spool = std::move(*opened);
    const auto& report = spool->recovery();
    auto& corrupt = registry
                        .counter("ingest_spool_corrupt_total",
                                 "Damaged spool regions and unreadable spooled records skipped (never published)")
                        .with({});
    corrupt.inc(static_cast<double>(report.corrupt_regions + (report.torn_tail_bytes ? 1 : 0)));
    if (report.corrupt_regions || report.torn_tail_bytes) {
      log->error("spool recovery dropped {} damaged region(s) ({} bytes) and a torn tail of {} bytes",
                 report.corrupt_regions, report.corrupt_bytes, report.torn_tail_bytes);
    }
    log->info("spool {}: {} record(s) to drain from {} segment(s)", *config.spool_dir,
              report.records, report.segments);
    auto drain_options = publisher_options;
    drain_options.client.client_id = "ingestd-spool";
    drain_options.delivery_timeout_ms = 0;
    auto created = kafka::RdKafkaPublisher::create(drain_options);
    if (!created) {
      log->error("cannot create the spool's Kafka producer: {}", created.error().message);
      return 1;
    }
    drain_publisher = std::move(*created);
    spooling_sink = std::make_unique<spool::SpoolingSink>(
        **publisher, *drain_publisher, *spool, [&kafka_readiness] { return kafka_readiness.ready(); },
        registry);
    spooling_sink->start();
  }
  // Ready when Kafka answers, or when the spool can still take records.
  CombinedReadiness readiness(kafka_readiness, spool.get());
  EventSink& sink = spooling_sink ? static_cast<EventSink&>(*spooling_sink) : kafka_sink;
  IngestService service(config, sink, readiness, registry, clock);

  http::ServerOptions server_options;
  server_options.host = config.listen_host;
  server_options.port = config.listen_port;
  server_options.threads = config.threads;
  server_options.max_head_bytes = static_cast<std::size_t>(config.max_head_bytes);
  server_options.header_timeout = config.header_timeout;
  server_options.body_timeout = config.body_timeout;
  server_options.idle_timeout = config.idle_timeout;
  server_options.tls_cert = config.tls_cert;
  server_options.tls_key = config.tls_key;
  http::HttpServer server(server_options, service);
  if (auto s = server.start(); !s) {
    log->error("{}", s.error().message);
    return 1;
  }
  log->info("listening on {}:{} ({}, {} threads, ack={}, kafka={})", config.listen_host,
            server.port(), config.tls_cert ? "https" : "http", config.threads,
            config.ack == AckMode::kDurable ? "durable" : "enqueued", config.common.kafka_brokers);

  int sig = 0;
  sigwait(&signals, &sig);
  auto started = std::chrono::steady_clock::now();
  auto deadline = started + config.drain_timeout;
  log->info("received {}: draining ({} requests in flight)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
            service.in_flight());
  service.begin_drain();
  server.begin_drain();
  while ((service.in_flight() > 0 || server.awaiting_responses() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  // Every direct record gets its verdict within the delivery bound: wait for all of them, so
  // no callback outlives the objects it answers through.
  auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(
      (config.spool_dir ? config.spool_after : config.publish_timeout) + std::chrono::seconds(1));
  auto flushed = (*publisher)->flush(std::max(remaining, bound));
  if (spooling_sink) {
    // Whatever is still spooled stays on disk and is drained after the next start; records
    // the drain producer still holds are purged now, while the spool is there to hear it.
    spooling_sink->stop();
    (void)drain_publisher->flush(std::chrono::milliseconds(500));
    drain_publisher.reset();
  }
  server.stop();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (service.in_flight() > 0 || !flushed) {
    log->error("drain incomplete after {} ms: {} requests unanswered{}", took.count(),
               service.in_flight(), flushed ? "" : ", " + flushed.error().message);
  } else {
    log->info("drained in {} ms; bye", took.count());
  }
  return 0;
}

}  // namespace wi::ingest
