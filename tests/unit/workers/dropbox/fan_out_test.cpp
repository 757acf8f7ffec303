// NotificationFanOut: one notification → one record per account on dropbox.accounts.
#include "workers/dropbox/fan_out.h"

#include <gtest/gtest.h>

#include "tests/unit/workers/dropbox/dropbox_fakes.h"
#include "workers/runtime/state_store.h"

namespace wi::dropbox {
namespace {

using worker::Outcome;

kafka::ConsumedRecord notification(const std::string& body) {
  kafka::ConsumedRecord r;
  r.topic = "webhooks.dropbox";
  r.partition = 1;
  r.offset = 5;
  r.headers = {{"source", "dropbox"},
               {"event-id", "ev-note"},
               {"event-type", "notification"},
               {"received-at", "2026-11-27T01:35:50.123Z"},
               {"content-type", "application/json"}};
  r.value = body;
  return r;
}

class FanOutTest : public ::testing::Test {
 protected:
  // dropbox_fanout_accounts_total{outcome}, as /metrics serves it.
  double fanned_out(const char* outcome) {
    return registry_.counter("dropbox_fanout_accounts_total", "", {"outcome"})
        .with({outcome})
        .value();
  }
  fakes::FakePublisher publisher_;
  metrics::Registry registry_;
  DropboxMetrics metrics_{registry_};
  NotificationFanOut fan_out_{"dropbox.accounts", publisher_, metrics_};
};

TEST_F(FanOutTest, OneRecordPerAccountKeyedByAccountWithTheNotificationsEventId) {
  auto result = fan_out_.handle(notification(
      R"({"list_folder":{"accounts":["dbid:A","dbid:B","dbid:A"]},"delta":{"users":[1,2]}})"));
  EXPECT_EQ(result.outcome, Outcome::kProcessed) << result.reason;
  auto out = publisher_.on("dropbox.accounts");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, "dbid:A");
  EXPECT_EQ(out[1].key, "dbid:B");
  for (const auto& r : out) {
    EXPECT_FALSE(r.partition.has_value()) << "the key decides the partition";
    EXPECT_EQ(*kafka::find_header(r.headers, "event-id"), "ev-note");
    EXPECT_EQ(*kafka::find_header(r.headers, "source"), "dropbox");
    EXPECT_EQ(*kafka::find_header(r.headers, "received-at"), "2026-11-27T01:35:50.123Z");
    EXPECT_EQ(*kafka::find_header(r.headers, "content-type"), "application/json");
  }
  EXPECT_EQ(out[0].value, R"({"account_id":"dbid:A","event_id":"ev-note"})");
  EXPECT_EQ(fanned_out("published"), 2);
}

TEST_F(FanOutTest, AMalformedNotificationIsADeadLetterWithTheReason) {
  auto result = fan_out_.handle(notification(R"({"delta":{"users":[12345]}})"));
  EXPECT_EQ(result.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(result.reason, "notification: no list_folder object");
  EXPECT_TRUE(publisher_.records().empty());
  EXPECT_EQ(fanned_out("rejected"), 1);
}

TEST_F(FanOutTest, ANotificationWithoutAccountsIsSkipped) {
  auto result = fan_out_.handle(notification(R"({"list_folder":{"accounts":[]}})"));
  EXPECT_EQ(result.outcome, Outcome::kSkipped);
  EXPECT_TRUE(publisher_.records().empty());
}

TEST_F(FanOutTest, AFailedPublishIsARetry) {
  publisher_.fail_next(1);
  auto result =
      fan_out_.handle(notification(R"({"list_folder":{"accounts":["dbid:A","dbid:B"]}})"));
  EXPECT_EQ(result.outcome, Outcome::kRetry);
  EXPECT_NE(result.reason.find("broker down"), std::string::npos) << result.reason;
}

}  // namespace
}  // namespace wi::dropbox
