#include "workers/dropbox/fan_out.h"

#include <fmt/format.h>

#include "common/json_text.h"
#include "common/log.h"
#include "workers/dropbox/notification.h"

namespace wi::dropbox {

using worker::event_id_of;
using worker::HandleResult;

NotificationFanOut::NotificationFanOut(std::string accounts_topic, kafka::Publisher& publisher,
                                       DropboxMetrics& metrics,
                                       std::chrono::milliseconds publish_timeout)
    : accounts_topic_(std::move(accounts_topic)),
      publisher_(publisher),
      metrics_(metrics),
      publish_timeout_(publish_timeout),
      log_(log::get("dropbox-worker")) {}

HandleResult NotificationFanOut::handle(const kafka::ConsumedRecord& record) {
  const std::string event_id = event_id_of(record);
  if (record.null_value) return HandleResult::skipped("empty record");
  auto accounts = parse_notification(record.value);
  if (!accounts) {
    metrics_.fan_out_rejected();
    log_->warn("notification event_id={} rejected: {}", json::quote(event_id),
               accounts.error().message);
    return HandleResult::dead_letter(accounts.error().message);
  }
  if (accounts->empty()) {
    log_->info("notification event_id={} names no account", json::quote(event_id));
    return HandleResult::skipped("no accounts");
  }
  std::vector<kafka::OutgoingRecord> out;
  for (const auto& account : *accounts) {
    kafka::OutgoingRecord r;
    r.topic = accounts_topic_;
    r.key = account;
    r.value =
        "{\"account_id\":" + json::quote(account) + ",\"event_id\":" + json::quote(event_id) + "}";
    r.headers = {{"event-id", event_id}, {"content-type", "application/json"}};
    for (const char* copied : {"source", "received-at"}) {
      if (const std::string* v = kafka::find_header(record.headers, copied)) {
        r.headers.push_back({copied, *v});
      }
    }
    out.push_back(std::move(r));
  }
  if (auto s = kafka::publish_all_and_wait(publisher_, std::move(out), publish_timeout_); !s) {
    log_->warn("notification event_id={}: fan-out not published: {}", json::quote(event_id),
               s.error().message);
    return HandleResult::retry("fan-out not published: " + s.error().message);
  }
  metrics_.fanned_out(accounts->size());
  log_->info("notification event_id={} fanned out to {} account(s)", json::quote(event_id),
             accounts->size());
  return HandleResult::processed();
}

}  // namespace wi::dropbox
