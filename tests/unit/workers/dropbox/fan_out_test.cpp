// NotificationFanOut and the topic dispatch of DropboxHandler.
#include "workers/dropbox/fan_out.h"

#include <gtest/gtest.h>

#include "tests/unit/workers/dropbox/dropbox_fakes.h"
#include "workers/dropbox/dropbox_handler.h"
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
  test::FakePublisher publisher_;
  DropboxMetrics metrics_;
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
  EXPECT_EQ(metrics_.value("dropbox_fanout_accounts_total", {"published"}), 2);
}

TEST_F(FanOutTest, AMalformedNotificationIsADeadLetterWithTheReason) {
  auto result = fan_out_.handle(notification(R"({"delta":{"users":[12345]}})"));
  EXPECT_EQ(result.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(result.reason, "notification: no list_folder object");
  EXPECT_TRUE(publisher_.records.empty());
  EXPECT_EQ(metrics_.value("dropbox_fanout_accounts_total", {"rejected"}), 1);
}

TEST_F(FanOutTest, ANotificationWithoutAccountsIsSkipped) {
  auto result = fan_out_.handle(notification(R"({"list_folder":{"accounts":[]}})"));
  EXPECT_EQ(result.outcome, Outcome::kSkipped);
  EXPECT_TRUE(publisher_.records.empty());
}

TEST_F(FanOutTest, AFailedPublishIsARetry) {
  publisher_.fail_next(1);
  auto result =
      fan_out_.handle(notification(R"({"list_folder":{"accounts":["dbid:A","dbid:B"]}})"));
  EXPECT_EQ(result.outcome, Outcome::kRetry);
  EXPECT_NE(result.reason.find("broker down"), std::string::npos) << result.reason;
}

TEST(DropboxHandlerTest, DispatchesOnTheRecordsTopic) {
  test::FakePublisher publisher;
  test::FakePublisher state_publisher;
  fakes::FakeClock clock;
  test::FakeWaiter waiter(clock);
  test::FakeHttpClient http;
  DropboxMetrics metrics;
  DropboxApi api(http, metrics, "http://api.test", "http://oauth.test",
                 std::chrono::milliseconds(1000), std::nullopt, std::nullopt);
  TokenStore tokens(api, clock, std::nullopt, false, {});
  CallPacer pacer(clock, waiter, 0);
  NotificationFanOut fan_out("dropbox.accounts", publisher, metrics);
  AccountPoller poller(PollerOptions{"dropbox.changes"}, api, tokens, pacer, waiter, publisher,
                       metrics, clock);
  DropboxHandler handler("webhooks.dropbox", "dropbox.accounts", fan_out, poller);
  worker::StateStore state(state_publisher, "dropbox.cursors", 0);
  worker::HandlerContext context;
  context.state = &state;

  auto fanned = handler.handle(notification(R"({"list_folder":{"accounts":["dbid:A"]}})"), context);
  EXPECT_EQ(fanned.outcome, Outcome::kProcessed);
  ASSERT_EQ(publisher.on("dropbox.accounts").size(), 1u);

  kafka::ConsumedRecord account;
  account.topic = "dropbox.accounts";
  account.key = "dbid:A";
  auto polled = handler.handle(account, context);
  EXPECT_EQ(polled.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(polled.reason, "no_token") << "went to the poller";

  account.topic = "something.else";
  EXPECT_EQ(handler.handle(account, context).outcome, Outcome::kRetry);
}

}  // namespace
}  // namespace wi::dropbox
