// `ingestctl bench`: signed load against ingestd, then the end-to-end check that every event
// ingestd acknowledged with 200 is in Kafka. The pieces: bench_requests/bench_bodies (what is
// sent), bench_feed (built ahead), bench_client (epoll load), bench_histogram (latency),
// bench_ack_check (Kafka), bench_process_cpu (CPU of the server and broker), bench_report
// (output).
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <iostream>

#include "common/clock.h"
#include "ctl/bench/ack_check.h"
#include "ctl/bench/client.h"
#include "ctl/bench/feed.h"
#include "ctl/bench/process_cpu.h"
#include "ctl/bench/report.h"
#include "ctl/bench/requests.h"
#include "ctl/command.h"
#include "ctl/ingestd_target.h"

namespace wi::ctl {

namespace {

constexpr std::size_t kFeedBytes = 32 * 1024 * 1024;

// A CPU window over process `pid`, when there is one (--server-pid and --broker-pid are
// optional).
Result<std::optional<ProcessCpuWindow>> watch_cpu(const std::optional<int>& pid) {
  if (!pid) return std::optional<ProcessCpuWindow>();
  auto window = ProcessCpuWindow::begin(*pid);
  if (!window) return window.error();
  return std::optional<ProcessCpuWindow>(*window);
}

// The CPU the window saw; none (with a warning) when the process is gone by now.
std::optional<double> cpu_used(const std::optional<ProcessCpuWindow>& window,
                               const char* what) {
  if (!window) return std::nullopt;
  auto used = window->end();
  if (used) return *used;
  std::cerr << fmt::format("ingestctl bench: warning: no {} CPU figure: {}\n", what,
                           used.error().message);
  return std::nullopt;
}

// Enough descriptors for the connections (the soft limit is often 1024).
void raise_fd_limit(int connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const auto want = static_cast<rlim_t>(connections) + 256;
  if (limit.rlim_cur >= want) return;
  limit.rlim_cur = std::min(want, limit.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

class BenchCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& parent) override {
    auto* cmd = parent.add_subcommand(
        "bench",
        "Signed load against ingestd over keep-alive HTTP/1.1 connections (one epoll thread; "
        "requests built ahead on a second thread), then a check that every event answered 200 "
        "is in Kafka (with Kafka down, e.g. to measure the spool, the check waits for it to "
        "come back).\n"
        "Each request is signed as the source's provider would sign it, its body exactly "
        "--body-bytes long (JSON, or a form for chargify), its event id unique.\n"
        "Prints requests by status, throughput, latency p50/p90/p99/p99.9/max (first byte "
        "written to complete response), the check (missing: acknowledged but not in "
        "webhooks.<source>; duplicates: ids seen more than once), then one JSON line.\n"
        "Exit 0 when at least one request was acknowledged and missing is 0 (duplicates are "
        "reported, not failed: delivery is at-least-once); 1 otherwise; 2 for usage or "
        "configuration problems.\n"
        "--target healthz measures GET /healthz instead (the HTTP ceiling; no signing, no "
        "Kafka check; exit 0 when every answer was 2xx).");
    cmd->add_option("--source", source_, "Source to sign for and post to (/webhooks/<source>)");
    cmd->add_option("--target", target_, "webhook (default) or healthz")
        ->check(CLI::IsMember({"webhook", "healthz"}));
    auto* rate = cmd->add_option("--rate", rate_,
                                 "Open loop: start this many requests per second, spread over "
                                 "the --concurrency connections (a request with no free "
                                 "connection waits; the wait is reported as start lag)");
    rate->check(CLI::PositiveNumber);
    cmd->add_option("--concurrency", concurrency_,
                    "Connections (closed loop: requests in flight); default 64")
        ->check(CLI::Range(1, 50000));
    cmd->add_option("--duration", duration_, "How long to send (e.g. 20s, 2m)")->default_val("10s");
    cmd->add_option("--body-bytes", body_bytes_, "Exact body size in bytes")
        ->default_val(2048)
        ->check(CLI::Range(1, 1 << 30));
    cmd->add_option("--url", url_,
                    "Where to send (default http://127.0.0.1:<port of INGEST_LISTEN>/webhooks/"
                    "<source>, or /healthz); plain http only");
    cmd->add_option("--ack-check-timeout", ack_check_timeout_,
                    "How long the Kafka check may take to find every acknowledged id")
        ->default_val("60s");
    cmd->add_option("--request-timeout", request_timeout_,
                    "A request unanswered this long counts as a timeout")
        ->default_val("30s");
    cmd->add_option("--server-pid", server_pid_,
                    "Also report the CPU of this process and its descendants (e.g. gunicorn's "
                    "workers; user+sys from /proc, over the load, not the Kafka check) per 2xx "
                    "answer: server_cpu_us_per_req")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--broker-pid", broker_pid_,
                    "The same for the Kafka broker's process: broker_cpu_us_per_req")
        ->check(CLI::PositiveNumber);
    return cmd;
  }

  int run(const GlobalFlags& flags) override {
    const bool healthz = target_ == "healthz";
    if (!healthz && source_.empty()) return usage("--source is required (or --target healthz)");
    auto duration = parse_duration(duration_);
    auto check_timeout = parse_duration(ack_check_timeout_);
    auto request_timeout = parse_duration(request_timeout_);
    if (!duration || duration->count() <= 0) return usage("--duration: expected e.g. 20s");
    if (!check_timeout) return usage("--ack-check-timeout: expected e.g. 60s");
    if (!request_timeout || request_timeout->count() <= 0) {
      return usage("--request-timeout: expected e.g. 30s");
    }

    auto config = load_ingestd_config(flags);
    const ingest::SourceConfig* source = nullptr;
    if (!healthz) {
      auto found = find_source(config, source_);
      if (!found) return usage(found.error().message);
      source = *found;
      if (static_cast<std::int64_t>(body_bytes_) > source->max_body_bytes) {
        std::cerr << fmt::format(
            "ingestctl bench: warning: --body-bytes {} is over the source's limit of {}: "
            "expect 413\n",
            body_bytes_, source->max_body_bytes);
      }
    }
    const std::string base = default_base_url(config);
    auto url =
        parse_http_url(url_.value_or(healthz ? base + "/healthz" : base + "/webhooks/" + source_));
    if (!url) return usage(url.error().message);

    std::unique_ptr<RequestFactory> factory;
    if (healthz) {
      factory = make_get_requests(*url);
    } else {
      auto made = make_webhook_requests(source->settings, *url, body_bytes_);
      if (!made) return usage(made.error().message);
      factory = std::move(*made);
    }
    auto address = resolve_tcp(url->host, url->port);
    if (!address) return fail(address.error().message);

    std::optional<AckCheck> check;
    if (!healthz) {
      kafka::ClientOptions client;
      client.brokers = config.common.kafka_brokers;
      client.client_id = "ingestctl-bench";
      client.properties.assign(config.common.kafka_properties.begin(),
                               config.common.kafka_properties.end());
      auto started = AckCheck::start(client, source->topic);
      if (!started) return fail("cannot read the topic's end offsets: " + started.error().message);
      check.emplace(std::move(*started));
      if (!check->started_from_offsets()) {
        std::cerr << "ingestctl bench: Kafka is unreachable; the check will start from records "
                     "stamped after this run began and wait for the broker (--ack-check-timeout)\n";
      }
    }

    BenchSetup setup{url->to_string(),
                     healthz ? "" : source_,
                     healthz ? "" : ingest::to_string(source->settings.kind),
                     concurrency_,
                     rate_,
                     std::chrono::duration<double>(*duration).count(),
                     healthz ? 0 : body_bytes_};
    RequestFeed feed(*factory, kFeedBytes);
    feed.prefill();
    raise_fd_limit(concurrency_);

    LoadOptions options;
    options.address = *address;
    options.connections = concurrency_;
    options.rate = rate_;
    options.duration = *duration;
    options.request_timeout = *request_timeout;
    // The CPU windows cover the load only: not the Kafka check, its start or the prefill.
    auto server_cpu = watch_cpu(server_pid_);
    if (!server_cpu) return usage("--server-pid: " + server_cpu.error().message);
    auto broker_cpu = watch_cpu(broker_pid_);
    if (!broker_cpu) return usage("--broker-pid: " + broker_cpu.error().message);
    const auto client_cpu =
        watch_cpu(static_cast<int>(::getpid())).value_or(std::optional<ProcessCpuWindow>());
    LoadResult load = run_load(options, feed, setup.body_bytes);
    const LoadCpu cpu{cpu_used(client_cpu, "client").value_or(0),
                      cpu_used(*server_cpu, "server"), cpu_used(*broker_cpu, "broker")};
    print_load(std::cout, setup, load, cpu);
    std::cout << std::flush;

    std::optional<AckCheckResult> checked;
    if (check) {
      auto result = check->verify(load.acked_ids, *check_timeout);
      if (!result) {
        std::cout << json_summary(setup, load, std::nullopt, cpu) << "\n";
        return fail("the Kafka check failed: " + result.error().message);
      }
      checked = *result;
      print_check(std::cout, check->topic(), *checked);
    }
    std::cout << json_summary(setup, load, checked, cpu) << "\n" << std::flush;

    if (load.answered == 0) return fail("no request was answered");
    if (healthz) {
      if (load.answered_2xx() != load.answered) return fail("some answers were not 2xx");
      return kExitOk;
    }
    if (checked->acknowledged == 0) return fail("no request was acknowledged with 200");
    if (checked->missing > 0) {
      return fail(fmt::format("{} acknowledged event(s) are missing from {}", checked->missing,
                              check->topic()));
    }
    return kExitOk;
  }

 private:
  static int usage(const std::string& message) {
    std::cerr << "ingestctl bench: " << message << "\n";
    return kExitUsage;
  }
  static int fail(const std::string& message) {
    std::cerr << "ingestctl bench: " << message << "\n";
    return kExitFailure;
  }

  std::string source_;
  std::string target_ = "webhook";
  std::optional<double> rate_;
  int concurrency_ = 64;
  std::string duration_ = "10s";
  std::size_t body_bytes_ = 2048;
  std::optional<std::string> url_;
  std::string ack_check_timeout_ = "60s";
  std::string request_timeout_ = "30s";
  std::optional<int> server_pid_;
  std::optional<int> broker_pid_;
};

}  // namespace

std::unique_ptr<Command> make_bench_command() {
  return std::make_unique<BenchCommand>();
}

}  // namespace wi::ctl
