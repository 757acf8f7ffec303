#include "workers/dropbox/dropbox_worker.h"

#include <signal.h>

#include <atomic>
#include <memory>

#include "common/curl_http_client.h"
#include "common/log.h"
#include "workers/dropbox/account_poller.h"
#include "workers/dropbox/call_pacer.h"
#include "workers/dropbox/dropbox_api.h"
#include "workers/dropbox/dropbox_config.h"
#include "workers/dropbox/dropbox_metrics.h"
#include "workers/dropbox/fan_out.h"
#include "workers/dropbox/token_store.h"

namespace wi::dropbox {

namespace {

// SIGHUP → re-read the tokens file. The runtime's threads (librdkafka's among them) exist
// before this worker's parts are built, so the signal cannot be blocked everywhere and taken
// by sigwait(); an async-signal-safe handler sets this flag, and the poll stage's thread (the
// only user of the tokens) acts on it before its next account record. (Without a handler,
// SIGHUP would terminate the process.)
std::atomic<bool> reload_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_sighup(int) {
  reload_requested.store(true);
}

void install_sighup_handler() {
  struct sigaction action {};
  action.sa_handler = on_sighup;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGHUP, &action, nullptr);
}

TokenMap initial_tokens(const DropboxConfig& config, config::Loader& loader) {
  if (!config.tokens_file) return {};
  auto tokens = load_tokens_file(*config.tokens_file, config.app_key.has_value());
  if (!tokens) {
    loader.problem(tokens.error().message);
    return {};
  }
  return std::move(*tokens);
}

PollerOptions poller_options(const DropboxConfig& config) {
  PollerOptions options;
  options.changes_topic = config.changes_topic;
  options.accounts_topic = config.accounts_topic;
  options.initial_sync = config.initial_sync;
  options.max_rate_limit_wait = config.max_rate_limit_wait;
  return options;
}

// Owns the adapters; the two stages' handlers (below) reach them through it. The fan-out
// uses only the publisher and the metrics (both thread-safe); everything else (the API, the
// tokens, the pacer) is the poll stage's alone, so the stages' threads share no unguarded
// state.
class DropboxAgent {
 public:
  DropboxAgent(config::Loader& loader, kafka::Publisher& publisher, metrics::Registry& registry)
      : config_(load_dropbox_config(loader)),
        metrics_(registry),
        api_(http_, metrics_, config_.api_url, config_.oauth_url, config_.api_timeout,
             config_.app_key, config_.app_secret),
        tokens_(api_, clock_, config_.tokens_file, config_.app_key.has_value(),
                initial_tokens(config_, loader)),
        pacer_(clock_, waiter_, config_.max_calls_per_second),
        fan_out_(config_.accounts_topic, publisher, metrics_),
        poller_(poller_options(config_), api_, tokens_, pacer_, waiter_, publisher, metrics_,
                clock_),
        log_(log::get("dropbox-worker")) {}

  worker::HandleResult fan_out(const kafka::ConsumedRecord& record) {
    return fan_out_.handle(record);
  }

  // On the poll stage's thread, which alone uses the tokens.
  worker::HandleResult poll(const kafka::ConsumedRecord& record, worker::HandlerContext& context) {
    if (reload_requested.exchange(false)) {
      if (auto s = tokens_.reload(); !s) {
        log_->error("SIGHUP: tokens file not reloaded, the previous tokens stay: {}",
                    s.error().message);
      } else {
        log_->info("SIGHUP: tokens file reloaded: {} account(s)", tokens_.accounts());
      }
    }
    return poller_.handle(record, context);
  }

  const DropboxConfig& config() const { return config_; }
  std::size_t accounts() const { return tokens_.accounts(); }

 private:
  DropboxConfig config_;
  SystemClock clock_;
  SleepingWaiter waiter_;
  http_client::CurlHttpClient http_;
  DropboxMetrics metrics_;
  DropboxApi api_;
  TokenStore tokens_;
  CallPacer pacer_;
  NotificationFanOut fan_out_;
  AccountPoller poller_;
  std::shared_ptr<spdlog::logger> log_;
};

// webhooks.dropbox → one record per account on dropbox.accounts.
class FanOutStage final : public worker::RecordHandler {
 public:
  explicit FanOutStage(std::shared_ptr<DropboxAgent> agent) : agent_(std::move(agent)) {}
  worker::HandleResult handle(const kafka::ConsumedRecord& record,
                              worker::HandlerContext&) override {
    return agent_->fan_out(record);
  }

 private:
  std::shared_ptr<DropboxAgent> agent_;
};

// dropbox.accounts → the account's changes on dropbox.changes, cursor in dropbox.cursors.
class PollStage final : public worker::RecordHandler {
 public:
  explicit PollStage(std::shared_ptr<DropboxAgent> agent) : agent_(std::move(agent)) {}
  worker::HandleResult handle(const kafka::ConsumedRecord& record,
                              worker::HandlerContext& context) override {
    return agent_->poll(record, context);
  }

 private:
  std::shared_ptr<DropboxAgent> agent_;
};

}  // namespace

worker::WorkerDescription dropbox_worker_description() {
  worker::WorkerDescription description;
  description.defaults = {"dropbox", "dropbox-worker", ":9101"};
  description.summary =
      "dropbox-worker: fans Dropbox notifications out per account and emits each account's "
      "file changes (SPEC §5)";
  description.config_section = "dropbox";
  description.build = [](config::Loader& loader, const worker::WorkerConfig& worker_config,
                         kafka::Publisher& publisher, metrics::Registry& registry) {
    auto agent = std::make_shared<DropboxAgent>(loader, publisher, registry);
    install_sighup_handler();
    const auto& c = agent->config();
    // Two stages, each in its own group, so that each topic's partitions are spread over the
    // processes on their own: in one group for both topics, cooperative-sticky balances the
    // partition count per member, and of two processes one got every notification partition
    // and the other every account partition (all the polling). DROPBOX_CONSUME picks stages.
    const std::string notifications = worker_config.layout.webhook_topic(c.source);
    worker::WorkerParts parts;
    parts.announce = [agent, notifications] {
      const auto& c = agent->config();
      auto log = log::get("dropbox-worker");
      if (!c.tokens_file) {
        log->warn("DROPBOX_TOKENS_FILE is not set: every account will be dead-lettered no_token");
      }
      log->info(
          "dropbox worker: notifications={} accounts={} changes={} cursors={} consume={} "
          "initial_sync={} api={} token accounts={} max_calls_per_second={}",
          notifications, c.accounts_topic, c.changes_topic, c.cursors_topic,
          c.consume == Consume::kBoth       ? "both"
          : c.consume == Consume::kAccounts ? "accounts"
                                            : "notifications",
          c.initial_sync == InitialSync::kEmit ? "emit" : "skip", c.api_url, agent->accounts(),
          c.max_calls_per_second);
    };
    if (c.consume != Consume::kAccounts) {
      worker::WorkerStage fan_out;
      fan_out.name = "fanout";
      fan_out.handler = std::make_shared<FanOutStage>(agent);
      fan_out.topics = {notifications};
      fan_out.group_suffix = ".fanout";
      parts.stages.push_back(std::move(fan_out));
    }
    if (c.consume != Consume::kNotifications) {
      worker::WorkerStage poll;
      poll.name = "poll";
      poll.handler = std::make_shared<PollStage>(agent);
      poll.topics = {c.accounts_topic};
      // Co-partitioned with dropbox.accounts: the runtime restores the cursors of the
      // partitions this process polls.
      poll.state_topic = c.cursors_topic;
      parts.stages.push_back(std::move(poll));
    }
    return parts;
  };
  return description;
}

}  // namespace wi::dropbox
