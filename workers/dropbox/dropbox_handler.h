#pragma once
// DropboxHandler: dropbox-worker's one RecordHandler. One runtime consumes both topics
// (`topics = {dropbox.accounts, webhooks.dropbox}`, state restored for dropbox.accounts'
// partitions) and this dispatches on the record's topic: notifications are fanned out,
// account records are polled. Anything else is a wiring bug, retried loudly.

#include <string>

#include "workers/dropbox/account_poller.h"
#include "workers/dropbox/fan_out.h"
#include "workers/runtime/record_handler.h"

namespace wi::dropbox {

class DropboxHandler final : public worker::RecordHandler {
 public:
  DropboxHandler(std::string notifications_topic, std::string accounts_topic,
                 NotificationFanOut& fan_out, AccountPoller& poller)
      : notifications_topic_(std::move(notifications_topic)),
        accounts_topic_(std::move(accounts_topic)),
        fan_out_(fan_out),
        poller_(poller) {}

  worker::HandleResult handle(const kafka::ConsumedRecord& record,
                              worker::HandlerContext& context) override {
    if (record.topic == accounts_topic_) return poller_.handle(record, context);
    if (record.topic == notifications_topic_) return fan_out_.handle(record);
    return worker::HandleResult::retry("dropbox-worker does not consume " + record.topic);
  }

 private:
  std::string notifications_topic_;
  std::string accounts_topic_;
  NotificationFanOut& fan_out_;
  AccountPoller& poller_;
};

}  // namespace wi::dropbox
