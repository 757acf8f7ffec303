#pragma once
// NotificationFanOut: one record of webhooks.dropbox → one record per account on
// dropbox.accounts (key = account id, so an account always lands on one partition and is
// polled by the one process that owns it). Headers: the notification's event-id, source and
// received-at, content-type application/json; value {"account_id":...,"event_id":...}.
//
//   malformed body          → dead letter (the notification, with a specific reason)
//   no accounts             → skipped
//   publish fails           → retry (accounts published already are published again:
//                             duplicates are coalesced by the poller)

#include <chrono>
#include <memory>
#include <string>

#include "common/kafka/publisher.h"
#include "workers/dropbox/dropbox_metrics.h"
#include "workers/runtime/record_handler.h"

namespace spdlog {
class logger;
}

namespace wi::dropbox {

class NotificationFanOut {
 public:
  NotificationFanOut(std::string accounts_topic, kafka::Publisher& publisher,
                     DropboxMetrics& metrics,
                     std::chrono::milliseconds publish_timeout = std::chrono::seconds(30));
  worker::HandleResult handle(const kafka::ConsumedRecord& record);

 private:
  std::string accounts_topic_;
  kafka::Publisher& publisher_;
  DropboxMetrics& metrics_;
  std::chrono::milliseconds publish_timeout_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace wi::dropbox
