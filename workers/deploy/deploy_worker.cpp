#include "workers/deploy/deploy_worker.h"

#include <charconv>
#include <memory>

#include "common/curl_http_client.h"
#include "common/log.h"
#include "workers/deploy/command_runner.h"
#include "workers/deploy/deploy_config.h"
#include "workers/deploy/deploy_handler.h"
#include "workers/deploy/deploy_ledger.h"
#include "workers/deploy/git_repo.h"
#include "workers/deploy/status_reporter.h"

namespace wi::deploy {

namespace {

// Owns the adapters and the handler; the runtime sees only a RecordHandler.
class DeployAgent final : public worker::RecordHandler {
 public:
  DeployAgent(config::Loader& loader, const worker::WorkerConfig& worker_config,
              kafka::Publisher& publisher)
      : config_(load_deploy_config(loader, process_environment())),
        git_(runner_, config_.base_env, config_.git_timeout),
        http_(config_.github_token ? std::make_unique<http_client::CurlHttpClient>() : nullptr),
        statuses_(http_.get(), config_.github_api_url, config_.github_token, config_.host) {
    validate_work_trees(config_, git_, loader);
    HandlerOptions options;
    options.max_attempts = worker_config.max_attempts;
    handler_ = std::make_unique<DeployHandler>(config_, git_, ledger_, runner_, statuses_,
                                               publisher, clock_, options);
  }

  worker::HandleResult handle(const kafka::ConsumedRecord& record,
                              worker::HandlerContext& context) override {
    return handler_->handle(record, context);
  }

  const DeployConfig& config() const { return config_; }
  DeployHandler& handler() { return *handler_; }

 private:
  DeployConfig config_;
  PosixCommandRunner runner_;
  GitRepo git_;
  FileDeployLedger ledger_;
  std::unique_ptr<http_client::HttpClient> http_;
  StatusReporter statuses_;
  SystemClock clock_;
  std::unique_ptr<DeployHandler> handler_;
};

// librdkafka drops a consumer that does not poll within max.poll.interval.ms, and a deploy
// blocks polling. The ledger keeps a redelivered push from running twice, but an operator
// should know when the limits allow it.
void warn_about_limits(const DeployConfig& config, const worker::WorkerConfig& worker_config) {
  auto log = log::get("deploy-worker");
  std::int64_t poll_ms = 300000;
  if (auto it = worker_config.common.kafka_properties.find("max.poll.interval.ms");
      it != worker_config.common.kafka_properties.end()) {
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), poll_ms);
  }
  if (config.targets.empty()) {
    log->warn("no deploy.targets configured: every push is logged and committed, nothing deploys");
  }
  for (const auto& t : config.targets) {
    auto worst = std::chrono::duration_cast<std::chrono::milliseconds>(
        config.git_timeout + t.timeout * static_cast<int>(t.commands.size()));
    if (worst.count() > poll_ms) {
      log->warn(
          "target {}: a deploy may take up to {} s, longer than max.poll.interval.ms ({} "
          "ms); raise kafka.properties.max.poll.interval.ms or lower timeout_s",
          t.name(), worst.count() / 1000, poll_ms);
    }
  }
  log->info("deploy agent host={} targets={} statuses={}", config.host, config.targets.size(),
            config.github_token ? "on" : "off");
}

}  // namespace

worker::WorkerDescription deploy_worker_description(const config::Environment& env) {
  worker::WorkerDescription description;
  description.defaults = {"deploy", "deploy-" + default_host(env), ":9103"};
  description.summary =
      "deploy-worker: deploys GitHub pushes to this host's git work trees (SPEC §5)";
  description.config_section = "deploy";
  description.build = [](config::Loader& loader, const worker::WorkerConfig& worker_config,
                         kafka::Publisher& publisher, metrics::Registry& registry) {
    auto agent = std::make_unique<DeployAgent>(loader, worker_config, publisher);
    agent->handler().attach_metrics(registry);
    worker::WorkerParts parts;
    // The agent (its config) lives in the handler, which parts own.
    parts.announce = [agent = agent.get(), worker_config] {
      warn_about_limits(agent->config(), worker_config);
    };
    parts.topics = {worker_config.layout.webhook_topic(agent->config().source)};
    // A new host (a group with no committed offsets) deploys the next push, not every push
    // still retained: history is not replayed by accident. The README shows how to deploy
    // the current tip at first start (ingestctl replay).
    parts.auto_offset_reset = "latest";
    parts.handler = std::move(agent);
    return parts;
  };
  return description;
}

}  // namespace wi::deploy
