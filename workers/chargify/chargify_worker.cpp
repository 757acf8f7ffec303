#include "workers/chargify/chargify_worker.h"

#include <memory>

#include "common/curl_smtp_mailer.h"
#include "common/log.h"
#include "workers/chargify/chargify_config.h"
#include "workers/chargify/chargify_handler.h"

namespace wi::chargify {

namespace {

// Owns the adapters and the handler; the runtime sees only a RecordHandler.
class Fulfiller final : public worker::RecordHandler {
 public:
  explicit Fulfiller(config::Loader& loader)
      : config_(load_chargify_config(loader)),
        mailer_(mail::SmtpOptions{config_.smtp_url, config_.smtp_username, config_.smtp_password,
                                  config_.smtp_ca_file, config_.smtp_timeout,
                                  std::chrono::seconds(10)}),
        handler_(config_, mailer_, clock_) {}

  worker::HandleResult handle(const kafka::ConsumedRecord& record,
                              worker::HandlerContext& context) override {
    return handler_.handle(record, context);
  }

  const ChargifyConfig& config() const { return config_; }
  ChargifyHandler& handler() { return handler_; }

 private:
  ChargifyConfig config_;
  mail::CurlSmtpMailer mailer_;
  SystemClock clock_;
  ChargifyHandler handler_;
};

// The URL for a log line: credentials in its userinfo never reach the log.
std::string without_userinfo(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return url;
  return url.substr(0, scheme + 3) + url.substr(at + 1);
}

}  // namespace

worker::WorkerDescription chargify_worker_description() {
  worker::WorkerDescription description;
  description.defaults = {"chargify", "chargify-worker", ":9102"};
  description.summary =
      "chargify-worker: e-mails each new Chargify subscriber their product, once (SPEC §5)";
  description.config_section = "chargify";
  description.build = [](config::Loader& loader, const worker::WorkerConfig& worker_config,
                         kafka::Publisher&, metrics::Registry& registry) {
    auto fulfiller = std::make_unique<Fulfiller>(loader);
    fulfiller->handler().attach_metrics(registry);
    const auto& config = fulfiller->config();
    worker::WorkerParts parts;
    // The fulfiller (its config) lives in the handler, which parts own.
    parts.announce = [fulfiller = fulfiller.get()] {
      const auto& config = fulfiller->config();
      auto log = log::get("chargify-worker");
      if (config.products.empty()) {
        log->warn("no chargify.products configured: every signup is skipped as an unknown product");
      }
      log->info("catalog products={} smtp={} from={} ledger={} download_links={}",
                config.products.size(), without_userinfo(config.smtp_url), config.from_address,
                config.ledger_topic, config.download_link_secret ? "on" : "off");
    };
    parts.topics = {worker_config.layout.webhook_topic(config.source)};
    parts.state_topic = config.ledger_topic;
    parts.handler = std::move(fulfiller);
    return parts;
  };
  return description;
}

}  // namespace wi::chargify
