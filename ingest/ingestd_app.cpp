#include "ingest/ingestd_app.h"

#include <sys/resource.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/kafka/rdkafka_publisher.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/metrics.h"
#include "common/http/server.h"
#include "ingest/drain.h"
#include "ingest/ingest_service.h"
#include "ingest/readiness.h"
#include "ingest/spool/spooling_sink.h"

namespace wi::ingest {

namespace {

// How long Kafka may keep a direct record before its verdict: with a spool only the short
// bound before the record is spooled instead.
std::chrono::milliseconds delivery_bound(const IngestConfig& config) {
  return config.spool_dir ? config.spool_after : config.publish_timeout;
}

kafka::PublisherOptions publisher_options_of(const IngestConfig& config) {
  kafka::PublisherOptions options;
  options.client.brokers = config.common.kafka_brokers;
  options.client.client_id = "ingestd";
  options.client.properties.assign(config.common.kafka_properties.begin(),
                                   config.common.kafka_properties.end());
  options.linger_ms = config.linger_ms;
  options.compression = config.compression;
  options.max_message_bytes = static_cast<std::size_t>(config.layout.max_message_bytes);
  options.delivery_timeout_ms = static_cast<int>(delivery_bound(config).count());
  return options;
}

http::ServerOptions server_options_of(const IngestConfig& config) {
  http::ServerOptions options;
  options.host = config.listen_host;
  options.port = config.listen_port;
  options.threads = config.threads;
  options.max_head_bytes = static_cast<std::size_t>(config.max_head_bytes);
  options.header_timeout = config.header_timeout;
  options.body_timeout = config.body_timeout;
  options.idle_timeout = config.idle_timeout;
  options.max_connections = static_cast<std::size_t>(config.max_connections);
  options.max_buffered_body_bytes = static_cast<std::size_t>(config.max_buffered_bytes);
  options.min_body_rate = static_cast<std::size_t>(config.min_body_rate);
  options.tls_cert = config.tls_cert;
  options.tls_key = config.tls_key;
  return options;
}

// Every connection is a file descriptor: raise the soft limit to what INGEST_MAX_CONNECTIONS
// needs (plus room for Kafka's sockets, the spool and logs), up to the hard limit; when even
// that is too low, serve fewer connections and say so, rather than fail accept() at random.
void fit_connections_to_fd_limit(IngestConfig& config, spdlog::logger& log) {
  constexpr rlim_t kReserve = 256;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const auto wanted = static_cast<rlim_t>(config.max_connections) + kReserve;
  if (limit.rlim_cur < wanted && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    (void)setrlimit(RLIMIT_NOFILE, &limit);
    (void)getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < wanted) {
    const auto fitting = static_cast<std::int64_t>(
        limit.rlim_cur > 2 * kReserve ? limit.rlim_cur - kReserve : limit.rlim_cur / 2);
    log.warn("INGEST_MAX_CONNECTIONS={} needs {} file descriptors but the limit is {} "
             "(ulimit -n): serving at most {} connections",
             config.max_connections, wanted, limit.rlim_cur, fitting);
    config.max_connections = fitting;
  }
}

DrainOptions drain_options_of(const IngestConfig& config) {
  DrainOptions options;
  options.timeout = config.drain_timeout;
  options.delivery_bound = delivery_bound(config) + std::chrono::seconds(1);
  return options;
}

// The SIGTERM drain (ingest/drain.h) over the running service, server and direct producer.
DrainReport drain_on_signal(int sig, const IngestConfig& config, IngestService& service,
                            http::HttpServer& server, kafka::RdKafkaPublisher& publisher,
                            const Clock& clock, spdlog::logger& log) {
  auto unanswered = [&] {
    return std::max<std::int64_t>(service.in_flight(),
                                  static_cast<std::int64_t>(server.awaiting_responses()));
  };
  auto receiving = [&] { return static_cast<std::int64_t>(server.receiving_requests()); };
  const auto limits = drain_options_of(config);
  log.info(
      "received {}: draining ({} requests in flight, {} still receiving); requests still "
      "being received get 503 after {} ms",
      sig == SIGTERM ? "SIGTERM" : "SIGINT", unanswered(), receiving(),
      receive_cutoff(limits).count());
  DrainSteps steps;
  steps.stop_accepting = [&] {
    service.begin_drain();
    server.begin_drain();
  };
  steps.unanswered = unanswered;
  // A request whose bytes were arriving when the drain began is in flight too (the server's
  // comment on receiving_locked says why from its first byte): the drain waits for its body,
  // the service then handles it as any other, and at the cutoff the server answers it 503.
  steps.receiving = receiving;
  steps.refuse_receiving = [&] { return static_cast<std::int64_t>(server.refuse_receiving()); };
  steps.awaiting_verdict = [&] { return static_cast<std::int64_t>(publisher.in_flight()); };
  steps.flush = [&](std::chrono::milliseconds bound) { return publisher.flush(bound); };
  return drain(steps, limits, clock,
               [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); });
}

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
  fit_connections_to_fd_limit(config, *log);

  // With a spool, Kafka gets only the short bound before a record is spooled instead.
  auto publisher_options = publisher_options_of(config);
  auto publisher = kafka::RdKafkaPublisher::create(publisher_options);
  if (!publisher) {
    log->error("cannot create the Kafka producer: {}", publisher.error().message);
    return 1;
  }

  metrics::Registry registry;
  SystemClock clock;
  // Probed on its own thread every couple of seconds, so /readyz answers at once.
  ProbedReadiness kafka_readiness(
      [&p = **publisher] { return p.probe(std::chrono::milliseconds(1500)).ok(); });
  // A pointer so that the teardown can stop it before the producer it probes goes.
  auto refresher = std::make_unique<ReadinessRefresher>(kafka_readiness, std::chrono::seconds(2));
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
  KafkaOrSpoolReadiness readiness(
      kafka_readiness,
      spool ? std::function<bool()>([&spool] { return !spool->full(); }) : nullptr);
  EventSink& sink = spooling_sink ? static_cast<EventSink&>(*spooling_sink) : kafka_sink;
  IngestService service(config, sink, readiness, registry, clock);

  http::HttpServer server(server_options_of(config), service);
  // Read at scrape time; the server outlives every scrape (they are served by it).
  registry.gauge_callback("ingest_open_connections", "Open HTTP connections", {}, [&server] {
    return std::vector<metrics::Registry::Sample>{
        {{}, static_cast<double>(server.open_connections())}};
  });
  registry.gauge_callback(
      "ingest_buffered_body_bytes",
      "Bytes held by unanswered request bodies (bounded by INGEST_MAX_BUFFERED_BYTES)", {},
      [&server] {
        return std::vector<metrics::Registry::Sample>{
            {{}, static_cast<double>(server.buffered_body_bytes())}};
      });
  if (auto s = server.start(); !s) {
    log->error("{}", s.error().message);
    return 1;
  }
  log->info("listening on {}:{} ({}, {} threads, ack={}, kafka={})", config.listen_host,
            server.port(), config.tls_cert ? "https" : "http", config.threads,
            config.ack == AckMode::kDurable ? "durable" : "enqueued", config.common.kafka_brokers);

  int sig = 0;
  sigwait(&signals, &sig);
  auto drained = drain_on_signal(sig, config, service, server, **publisher, clock, *log);
  // Teardown, in this order, so that no callback outlives what it calls into (locals would
  // otherwise go in reverse order of declaration, the producer last: its purge would answer
  // through the already destroyed service, spool and server):
  // 1. The server stops: its reactor threads are joined, so nothing more reaches the service
  //    and through it the sinks; an answer given from now on is dropped, not written.
  server.stop();
  // 2. Nothing probes the producer any more.
  refresher.reset();
  if (spooling_sink) {
    // Whatever is still spooled stays on disk and is drained after the next start; records
    // the drain producer still holds are purged now, while the spool is there to hear it.
    spooling_sink->stop();
    // Within what is left of SPEC's 10 s: a record it does not confirm in time stays spooled.
    const auto left = std::max(std::chrono::milliseconds(0), kShutdownLimit - drained.took);
    (void)drain_publisher->flush(std::min(left, std::chrono::milliseconds(500)));
    drain_publisher.reset();
  }
  // 3. The direct producer purges what the drain could not flush: each purged record's
  //    callback runs now, while the spooling sink, the spool, the service, the server and
  //    the registry are all still there.
  publisher->reset();
  // 4. The spool completes what it still queues (its callbacks answer through the service).
  spooling_sink.reset();
  spool.reset();
  if (drained.refused > 0) {
    log->warn(
        "drain receive cutoff ({} ms) passed with {} request(s) still being received: "
        "answered 503 + Retry-After, nothing of them published",
        receive_cutoff(drain_options_of(config)).count(), drained.refused);
  }
  if (!drained.complete()) {
    log->error("drain incomplete after {} ms: {} requests unanswered, {} still receiving{}",
               drained.took.count(), drained.unanswered, drained.receiving,
               drained.flushed ? "" : ", " + drained.flushed.error().message);
  } else {
    log->info("drained in {} ms; bye", drained.took.count());
  }
  return 0;
}

}  // namespace wi::ingest
