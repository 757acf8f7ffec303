// AccountPoller with a fake HttpClient, a StateStore over a fake publisher and a fake clock:
// the paging loop, coalescing, initial_sync, and every API status.
#include "workers/dropbox/account_poller.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "common/json_text.h"
#include "common/log.h"
#include "tests/unit/workers/dropbox/dropbox_fakes.h"
#include "workers/dropbox/cursor_state.h"
#include "workers/runtime/state_store.h"

namespace wi::dropbox {
namespace {

using test::answer;
using test::request_header;
using worker::Outcome;
using namespace std::chrono_literals;

const std::string kChanges = "dropbox.changes";
const std::string kFixed = "dbid:FIXED";      // a fixed access token in the tokens file
const std::string kRefreshed = "dbid:FRESH";  // a refresh token

// A list_folder page with one file entry per name.
std::string page(const std::vector<std::string>& names, const std::string& cursor, bool more) {
  std::string out = "{\"entries\":[";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ",";
    out += R"({".tag":"file","name":)" + json::quote(names[i]) + R"(,"path_lower":)" +
           json::quote("/" + names[i]) + R"(,"path_display":)" + json::quote("/" + names[i]) +
           R"(,"id":"id:)" + names[i] + R"(","rev":"015f","size":3,)" +
           R"("server_modified":"2026-11-27T01:35:50Z","content_hash":"abc"})";
  }
  out += "],\"cursor\":" + json::quote(cursor) + ",\"has_more\":" + (more ? "true" : "false") + "}";
  return out;
}

std::string reset_body() {
  return R"({"error_summary":"reset/..","error":{".tag":"reset"}})";
}

std::string token_answer(const std::string& token) {
  return R"({"access_token":")" + token + R"(","token_type":"bearer","expires_in":14400})";
}

class AccountPollerTest : public ::testing::Test {
 protected:
  AccountPoller& poller() {
    if (!poller_) {
      poller_ = std::make_unique<AccountPoller>(options_, api_, tokens_, pacer_, waiter_,
                                                publisher_, metrics_, clock_);
    }
    return *poller_;
  }

  static kafka::ConsumedRecord account_record(const std::string& account,
                                              const std::string& event_id, std::int64_t offset) {
    kafka::ConsumedRecord r;
    r.topic = "dropbox.accounts";
    r.partition = 2;
    r.offset = offset;
    r.key = account;
    r.headers = {{"event-id", event_id}, {"content-type", "application/json"}};
    r.value = R"({"account_id":")" + account + R"("})";
    return r;
  }

  worker::HandleResult handle(const std::string& account,
                              const std::vector<kafka::ConsumedRecord>& later = {}) {
    auto record = account_record(account, "ev-" + account, 10);
    worker::HandlerContext context;
    context.state = &state_;
    context.later_in_partition = later;
    return poller().handle(record, context);
  }

  void store_cursor(const std::string& account, const std::string& cursor) {
    state_.apply(account, cursor_state_json({cursor, false}, "ev-0", "t"));
  }
  CursorState stored(const std::string& account) {
    auto value = state_.get(account);
    return value ? parse_cursor_state(*value) : CursorState{};
  }
  std::vector<std::string> changed_names() {
    std::vector<std::string> out;
    simdjson::dom::parser parser;
    for (const auto& r : publisher_.on(kChanges)) {
      auto doc = parser.parse(r.value);
      out.emplace_back(std::string_view(doc["name"]));
    }
    return out;
  }
  std::vector<std::string> urls() {
    std::vector<std::string> out;
    for (const auto& r : http_.requests) out.push_back(r.url.substr(r.url.find('/', 8)));
    return out;
  }

  fakes::FakeClock clock_;
  test::FakeWaiter waiter_{clock_};
  // The dropbox_* series, as /metrics serves them.
  double polls(const char* outcome) {
    return registry_.counter("dropbox_polls_total", "", {"outcome"}).with({outcome}).value();
  }
  double changes(const char* tag) {
    return registry_.counter("dropbox_changes_total", "", {"tag"}).with({tag}).value();
  }
  double unlabelled(const std::string& name) {
    return registry_.counter(name, "").with({}).value();
  }

  fakes::FakeHttpClient http_{200};
  metrics::Registry registry_;
  DropboxMetrics metrics_{registry_};
  DropboxApi api_{http_,  metrics_,          "http://api.test",   "http://oauth.test",
                  1000ms, Secret("app-key"), Secret("app-secret")};
  TokenStore tokens_{api_, clock_, std::nullopt, true,
                     TokenMap{{kFixed, {std::nullopt, Secret("sl.FIXED-TOKEN")}},
                              {kRefreshed, {Secret("REFRESH-TOKEN"), std::nullopt}}}};
  CallPacer pacer_{clock_, waiter_, 0};
  fakes::FakePublisher publisher_;        // dropbox.changes
  fakes::FakePublisher state_publisher_;  // dropbox.cursors
  worker::StateStore state_{state_publisher_, "dropbox.cursors", 2};
  PollerOptions options_{kChanges, InitialSync::kSkip, 120s};
  std::unique_ptr<AccountPoller> poller_;
};

TEST_F(AccountPollerTest, WithACursorContinuesUntilHasMoreIsFalseAndEmitsEveryEntryInOrder) {
  store_cursor(kFixed, "c0");
  http_.answers.push_back(answer(200, page({"a", "b"}, "c1", true)));
  http_.answers.push_back(answer(200, page({"c"}, "c2", true)));
  http_.answers.push_back(answer(200, page({}, "c3", false)));
  auto result = handle(kFixed);
  EXPECT_EQ(result.outcome, Outcome::kProcessed) << result.reason;

  ASSERT_EQ(http_.requests.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(urls()[i], "/2/files/list_folder/continue");
    EXPECT_EQ(request_header(http_.requests[i], "Authorization"), "Bearer sl.FIXED-TOKEN");
  }
  EXPECT_EQ(http_.requests[0].body, R"({"cursor":"c0"})");
  EXPECT_EQ(http_.requests[1].body, R"({"cursor":"c1"})");
  EXPECT_EQ(http_.requests[2].body, R"({"cursor":"c2"})");

  EXPECT_EQ(changed_names(), (std::vector<std::string>{"a", "b", "c"}));
  for (const auto& r : publisher_.on(kChanges)) {
    EXPECT_EQ(r.key, kFixed);
    EXPECT_EQ(*kafka::find_header(r.headers, "event-id"), "ev-" + kFixed);
    EXPECT_NE(r.value.find(R"("event_id":"ev-dbid:FIXED")"), std::string::npos);
  }
  EXPECT_EQ(stored(kFixed).cursor, "c3");
  // One state write, after the last page, on the input's partition.
  ASSERT_EQ(state_publisher_.records().size(), 1u);
  EXPECT_EQ(state_publisher_.records()[0].partition, 2);
  EXPECT_EQ(state_publisher_.records()[0].key, kFixed);
  EXPECT_EQ(changes("file"), 3);
  EXPECT_EQ(polls("ok"), 1);
}

TEST_F(AccountPollerTest, FirstListingWithInitialSyncSkipStoresTheCursorAndEmitsNothing) {
  http_.answers.push_back(answer(200, page({"old1", "old2"}, "l1", true)));
  http_.answers.push_back(answer(200, page({"old3"}, "l2", false)));
  EXPECT_EQ(handle(kFixed).outcome, Outcome::kProcessed);
  EXPECT_EQ(urls(),
            (std::vector<std::string>{"/2/files/list_folder", "/2/files/list_folder/continue"}));
  EXPECT_EQ(http_.requests[0].body, R"({"path":"","recursive":true,"include_deleted":true})");
  EXPECT_TRUE(publisher_.on(kChanges).empty());
  EXPECT_EQ(stored(kFixed).cursor, "l2");
}

TEST_F(AccountPollerTest, FirstListingWithInitialSyncEmitEmitsTheExistingEntries) {
  options_.initial_sync = InitialSync::kEmit;
  http_.answers.push_back(answer(200, page({"old1", "old2"}, "l1", true)));
  http_.answers.push_back(answer(200, page({"old3"}, "l2", false)));
  EXPECT_EQ(handle(kFixed).outcome, Outcome::kProcessed);
  EXPECT_EQ(changed_names(), (std::vector<std::string>{"old1", "old2", "old3"}));
  EXPECT_EQ(stored(kFixed).cursor, "l2");
}

TEST_F(AccountPollerTest, ALaterRecordForTheSameAccountInTheBatchCoalescesThisOne) {
  store_cursor(kFixed, "c0");
  auto result = handle(
      kFixed, {account_record("dbid:OTHER", "x", 11), account_record(kFixed, "ev-later", 12)});
  EXPECT_EQ(result.outcome, Outcome::kSkipped);
  EXPECT_EQ(result.reason, "coalesced");
  EXPECT_TRUE(http_.requests.empty());
  EXPECT_EQ(unlabelled("dropbox_coalesced_total"), 1);

  // Other accounts later in the batch do not stop this one.
  http_.answers.push_back(answer(200, page({"a"}, "c1", false)));
  EXPECT_EQ(handle(kFixed, {account_record("dbid:OTHER", "x", 11)}).outcome, Outcome::kProcessed);
  EXPECT_EQ(http_.requests.size(), 1u);
}

TEST_F(AccountPollerTest, RateLimitWaitsRetryAfterAndRepeatsTheSameCallWithoutAnAttempt) {
  store_cursor(kFixed, "c0");
  http_.answers.push_back(answer(429, "", {{"retry-after", "7"}}));
  http_.answers.push_back(
      answer(429, R"({"error_summary":"too_many_requests/..","error":{"retry_after":3}})"));
  http_.answers.push_back(answer(200, page({"a"}, "c1", false)));
  auto result = handle(kFixed);
  EXPECT_EQ(result.outcome, Outcome::kProcessed) << result.reason;
  EXPECT_EQ(waiter_.waits, (std::vector<std::chrono::milliseconds>{7s, 3s}));
  ASSERT_EQ(http_.requests.size(), 3u);
  for (const auto& r : http_.requests) EXPECT_EQ(r.body, R"({"cursor":"c0"})");
  EXPECT_EQ(changed_names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(unlabelled("dropbox_rate_limit_wait_seconds_total"), 10);
}

TEST_F(AccountPollerTest, RateLimitBeyondTheWaitBudgetRequeuesTheRecordWithItsTime) {
  options_.max_rate_limit_wait = 10s;
  store_cursor(kFixed, "c0");
  http_.answers.push_back(answer(429, "", {{"retry-after", "8"}}));
  http_.answers.push_back(answer(429, "", {{"retry-after", "8"}}));
  auto result = handle(kFixed);
  EXPECT_EQ(result.outcome, Outcome::kSkipped) << "neither an attempt used nor a dead letter";
  EXPECT_EQ(waiter_.waits, (std::vector<std::chrono::milliseconds>{8s}));
  EXPECT_EQ(stored(kFixed).cursor, "c0");
  auto requeued = publisher_.on("dropbox.accounts");
  ASSERT_EQ(requeued.size(), 1u);
  EXPECT_EQ(requeued[0].key, kFixed);
  EXPECT_EQ(*kafka::find_header(requeued[0].headers, "event-id"), "ev-" + kFixed);
  // Due 8 s after the second 429 (the clock already moved 8 s for the first wait).
  EXPECT_EQ(*kafka::find_header(requeued[0].headers, "dropbox-not-before"),
            std::to_string(to_unix_ms(clock_.now() + 8s)));
  EXPECT_EQ(polls("deferred"), 1);
}

TEST_F(AccountPollerTest, ARequeuedRecordWaitsForItsTimeThenPolls) {
  store_cursor(kFixed, "c0");
  auto record = account_record(kFixed, "ev-deferred", 20);
  record.headers.push_back({"dropbox-not-before", std::to_string(to_unix_ms(clock_.now() + 7s))});
  http_.answers.push_back(answer(200, page({"a"}, "c1", false)));
  worker::HandlerContext context;
  context.state = &state_;
  auto result = poller().handle(record, context);
  EXPECT_EQ(result.outcome, Outcome::kProcessed) << result.reason;
  EXPECT_EQ(waiter_.waits, (std::vector<std::chrono::milliseconds>{7s}));
  EXPECT_EQ(http_.requests.size(), 1u);
  EXPECT_EQ(stored(kFixed).cursor, "c1");
}

TEST_F(AccountPollerTest, ARequeuedRecordStillTooEarlyAfterTheBudgetIsRequeuedAgain) {
  options_.max_rate_limit_wait = 10s;
  store_cursor(kFixed, "c0");
  auto due = to_unix_ms(clock_.now() + 25s);
  auto record = account_record(kFixed, "ev-deferred", 20);
  record.headers.push_back({"dropbox-not-before", std::to_string(due)});
  worker::HandlerContext context;
  context.state = &state_;
  auto result = poller().handle(record, context);
  EXPECT_EQ(result.outcome, Outcome::kSkipped);
  EXPECT_EQ(waiter_.waits, (std::vector<std::chrono::milliseconds>{10s}));
  EXPECT_TRUE(http_.requests.empty()) << "no call before Dropbox's time";
  auto requeued = publisher_.on("dropbox.accounts");
  ASSERT_EQ(requeued.size(), 1u);
  ASSERT_EQ(requeued[0].headers.size(), record.headers.size()) << "one not-before header, replaced";
  EXPECT_EQ(*kafka::find_header(requeued[0].headers, "dropbox-not-before"), std::to_string(due));
}

TEST_F(AccountPollerTest, ShutdownDuringARateLimitWaitAbandonsTheRecord) {
  store_cursor(kFixed, "c0");
  waiter_.stop_after(1);
  // One page read (its cursor c1 not stored yet), then a 429 whose wait the shutdown ends.
  http_.answers.push_back(answer(200, page({"a"}, "c1", true)));
  http_.answers.push_back(answer(429, "", {{"retry-after", "30"}}));
  EXPECT_EQ(handle(kFixed).outcome, Outcome::kRetry);
  EXPECT_EQ(http_.requests.size(), 2u) << "no call after the shutdown";
  EXPECT_EQ(waiter_.waits, (std::vector<std::chrono::milliseconds>{30s}));
  // Abandoned, not deferred: no copy of the record re-queued for later...
  EXPECT_TRUE(publisher_.on("dropbox.accounts").empty());
  EXPECT_EQ(polls("deferred"), 0);
  // ...and the cursor stays where it was: the next owner polls again from c0 (the page's
  // change, already emitted, comes again: at least once, never a gap).
  EXPECT_TRUE(state_publisher_.records().empty());
  EXPECT_EQ(stored(kFixed).cursor, "c0");
  EXPECT_EQ(changed_names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(unlabelled("dropbox_rate_limit_wait_seconds_total"), 0) << "the wait did not end";
}

TEST_F(AccountPollerTest, ResetDropsTheCursorAndEmitsTheWholeRelistDespiteInitialSyncSkip) {
  store_cursor(kFixed, "c0");
  http_.answers.push_back(answer(409, reset_body()));
  http_.answers.push_back(answer(200, page({"x", "y"}, "l1", true)));
  http_.answers.push_back(answer(200, page({"z"}, "l2", false)));
  auto result = handle(kFixed);
  EXPECT_EQ(result.outcome, Outcome::kProcessed) << result.reason;
  EXPECT_EQ(urls(),
            (std::vector<std::string>{"/2/files/list_folder/continue", "/2/files/list_folder",
                                      "/2/files/list_folder/continue"}));
  EXPECT_EQ(changed_names(), (std::vector<std::string>{"x", "y", "z"}));
  // First the dropped cursor (remembering the reset), then the new one.
  ASSERT_EQ(state_publisher_.records().size(), 2u);
  auto dropped = parse_cursor_state(state_publisher_.records()[0].value);
  EXPECT_FALSE(dropped.cursor.has_value());
  EXPECT_TRUE(dropped.relist_pending);
  EXPECT_EQ(stored(kFixed).cursor, "l2");
  EXPECT_FALSE(stored(kFixed).relist_pending);
  EXPECT_EQ(unlabelled("dropbox_resets_total"), 1);
}

TEST_F(AccountPollerTest, AResetRememberedAcrossACrashStillEmitsTheRelist) {
  state_.apply(kFixed, cursor_state_json({std::nullopt, true}, "ev-0", "t"));
  http_.answers.push_back(answer(200, page({"x"}, "l1", false)));
  EXPECT_EQ(handle(kFixed).outcome, Outcome::kProcessed);
  EXPECT_EQ(urls(), (std::vector<std::string>{"/2/files/list_folder"}));
  EXPECT_EQ(changed_names(), (std::vector<std::string>{"x"}));
}

TEST_F(AccountPollerTest, ResetsWithoutEndAreRetriedLater) {
  ASSERT_EQ(options_.max_resets_per_poll, 3);
  store_cursor(kFixed, "c0");
  // Every listing answers one page, then "reset" on the continue: more answers than the
  // poller may use.
  http_.answers.push_back(answer(409, reset_body()));
  for (int i = 0; i < 5; ++i) {
    http_.answers.push_back(answer(200, page({"p"}, "l1", true)));
    http_.answers.push_back(answer(409, reset_body()));
  }
  auto result = handle(kFixed);
  EXPECT_EQ(result.outcome, Outcome::kRetry);
  EXPECT_EQ(result.reason, "cursor reset again and again");
  // The first reset and exactly three re-lists (each reset again), then it gives up: four
  // resets, seven calls.
  const std::string cont = "/2/files/list_folder/continue";
  const std::string list = "/2/files/list_folder";
  EXPECT_EQ(urls(), (std::vector<std::string>{cont, list, cont, list, cont, list, cont}));
  EXPECT_EQ(unlabelled("dropbox_resets_total"), 4);
  EXPECT_EQ(changed_names(), (std::vector<std::string>{"p", "p", "p"}));
  // Three resets were stored (the cursor dropped, a re-list pending), the fourth was not:
  // the retry lists from scratch again.
  EXPECT_EQ(state_publisher_.records().size(), 3u);
  EXPECT_FALSE(stored(kFixed).cursor.has_value());
  EXPECT_TRUE(stored(kFixed).relist_pending);
  EXPECT_EQ(polls("retry"), 1);
}

TEST_F(AccountPollerTest, UnauthorizedRefreshesTheTokenOnceAndGoesOn) {
  store_cursor(kRefreshed, "c0");
  http_.answers.push_back(answer(200, token_answer("sl.ONE")));
  http_.answers.push_back(answer(401, R"({"error_summary":"expired_access_token/.."})"));
  http_.answers.push_back(answer(200, token_answer("sl.TWO")));
  http_.answers.push_back(answer(200, page({"a"}, "c1", false)));
  auto result = handle(kRefreshed);
  EXPECT_EQ(result.outcome, Outcome::kProcessed) << result.reason;
  EXPECT_EQ(urls(), (std::vector<std::string>{"/oauth2/token", "/2/files/list_folder/continue",
                                              "/oauth2/token", "/2/files/list_folder/continue"}));
  EXPECT_EQ(request_header(http_.requests[1], "Authorization"), "Bearer sl.ONE");
  EXPECT_EQ(request_header(http_.requests[3], "Authorization"), "Bearer sl.TWO");
  EXPECT_EQ(stored(kRefreshed).cursor, "c1");
}

// Every log line while it lives, unredacted (so a leaked secret would show).
class LogCapture {
 public:
  LogCapture() {
    log::set_sink_for_testing(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_),
                              {"debug", "text"}, {});
  }
  ~LogCapture() {
    log::set_sink_for_testing(std::make_shared<spdlog::sinks::null_sink_mt>(), {}, {});
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

TEST_F(AccountPollerTest, StillUnauthorizedAfterOneRefreshIsADeadLetter) {
  LogCapture logs;
  store_cursor(kRefreshed, "c0");
  http_.answers.push_back(answer(200, token_answer("sl.ONE")));
  http_.answers.push_back(answer(401, "{}"));
  http_.answers.push_back(answer(200, token_answer("sl.TWO")));
  http_.answers.push_back(answer(401, R"({"error_summary":"invalid_access_token/..."})"));
  auto result = handle(kRefreshed);
  EXPECT_NE(logs.text().find("account=dbid:FRESH: list_folder_continue: HTTP 401 "
                             "invalid_access_token: the access token was refused again after a "
                             "token refresh"),
            std::string::npos)
      << logs.text();
  EXPECT_EQ(result.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(result.reason, "unauthorized");
  EXPECT_EQ(http_.requests.size(), 4u) << "exactly one refresh after the first 401";
  EXPECT_EQ(stored(kRefreshed).cursor, "c0");
  EXPECT_EQ(polls("unauthorized"), 1);
}

TEST_F(AccountPollerTest, ARefusedFixedAccessTokenIsADeadLetterAtOnce) {
  LogCapture logs;
  store_cursor(kFixed, "c0");
  http_.answers.push_back(answer(
      401,
      R"({"error_summary":"expired_access_token/..","error":{".tag":"expired_access_token"}})"));
  auto result = handle(kFixed);
  EXPECT_EQ(result.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(result.reason, "unauthorized");
  EXPECT_EQ(http_.requests.size(), 1u);
  EXPECT_NE(logs.text().find("account=dbid:FIXED: list_folder_continue: HTTP 401 "
                             "expired_access_token: the access token was refused and cannot be "
                             "refreshed (a fixed token, no refresh token configured)"),
            std::string::npos)
      << logs.text();
  EXPECT_EQ(logs.text().find("sl.FIXED-TOKEN"), std::string::npos) << logs.text();
}

TEST_F(AccountPollerTest, ARefusedRefreshTokenIsADeadLetterLoggingTheOAuthError) {
  LogCapture logs;
  // The description echoes what it was sent: only the error code is logged.
  http_.answers.push_back(
      answer(400, R"({"error":"invalid_grant","error_description":"REFRESH-TOKEN was revoked"})"));
  auto result = handle(kRefreshed);
  EXPECT_EQ(result.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(result.reason, "unauthorized");
  EXPECT_NE(logs.text().find("account=dbid:FRESH: unauthorized: oauth2/token: HTTP 400 "
                             "invalid_grant (the refresh token was revoked or expired)"),
            std::string::npos)
      << logs.text();

  http_.answers.push_back(answer(
      400, R"({"error":"invalid_client","error_description":"app-secret is not the secret"})"));
  result = handle(kRefreshed);
  EXPECT_EQ(result.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(result.reason, "unauthorized");
  EXPECT_NE(logs.text().find("oauth2/token: HTTP 400 invalid_client (the app key or app secret "
                             "is wrong)"),
            std::string::npos)
      << logs.text();
  for (const char* secret : {"REFRESH-TOKEN", "app-secret", "app-key:"}) {
    EXPECT_EQ(logs.text().find(secret), std::string::npos) << logs.text();
  }
}

TEST_F(AccountPollerTest, AnAccountWithoutATokenIsADeadLetterNoToken) {
  auto result = handle("dbid:NOBODY");
  EXPECT_EQ(result.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(result.reason, "no_token");
  EXPECT_TRUE(http_.requests.empty());
  EXPECT_EQ(polls("no_token"), 1);
}

TEST_F(AccountPollerTest, ServerErrorsAndTransportFailuresAreRetriedFromTheStoredCursor) {
  store_cursor(kFixed, "c0");
  http_.answers.push_back(answer(200, page({"a"}, "c1", true)));
  http_.answers.push_back(answer(500, "oops"));
  auto result = handle(kFixed);
  EXPECT_EQ(result.outcome, Outcome::kRetry);
  EXPECT_NE(result.reason.find("HTTP 500"), std::string::npos) << result.reason;
  EXPECT_EQ(stored(kFixed).cursor, "c0") << "not advanced past changes of an unfinished poll";
  EXPECT_TRUE(state_publisher_.records().empty());

  http_.answers.push_back(Error::timeout("http: Timeout was reached"));
  EXPECT_EQ(handle(kFixed).outcome, Outcome::kRetry);
  EXPECT_EQ(http_.requests.back().body, R"({"cursor":"c0"})");
  EXPECT_EQ(polls("retry"), 2);
}

TEST_F(AccountPollerTest, OtherClientErrorsAreDeadLettersNamingTheStatus) {
  store_cursor(kFixed, "c0");
  http_.answers.push_back(answer(400, "Error in call to API function"));
  auto result = handle(kFixed);
  EXPECT_EQ(result.outcome, Outcome::kDeadLetter);
  EXPECT_NE(result.reason.find("HTTP 400"), std::string::npos) << result.reason;
}

TEST_F(AccountPollerTest, UnpublishedChangesLeaveTheCursorWhereItWas) {
  store_cursor(kFixed, "c0");
  publisher_.fail_next(1);
  http_.answers.push_back(answer(200, page({"a", "b"}, "c1", false)));
  EXPECT_EQ(handle(kFixed).outcome, Outcome::kRetry);
  EXPECT_EQ(stored(kFixed).cursor, "c0");
  EXPECT_TRUE(state_publisher_.records().empty());
}

TEST_F(AccountPollerTest, AnUnwrittenCursorIsARetry) {
  store_cursor(kFixed, "c0");
  state_publisher_.fail_next(1);
  http_.answers.push_back(answer(200, page({"a"}, "c1", false)));
  EXPECT_EQ(handle(kFixed).outcome, Outcome::kRetry);
  EXPECT_EQ(stored(kFixed).cursor, "c0");
}

TEST_F(AccountPollerTest, ARecordWithoutAnAccountKeyIsADeadLetter) {
  auto record = account_record("x", "ev", 1);
  record.key.reset();
  worker::HandlerContext context;
  context.state = &state_;
  auto result = poller().handle(record, context);
  EXPECT_EQ(result.outcome, Outcome::kDeadLetter);
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(AccountPollerTest, TokensNeverAppearInReasonsOrChanges) {
  store_cursor(kRefreshed, "c0");
  http_.answers.push_back(answer(200, token_answer("sl.ONE")));
  http_.answers.push_back(answer(401, "{}"));
  http_.answers.push_back(answer(200, token_answer("sl.TWO")));
  http_.answers.push_back(answer(401, "{}"));
  auto result = handle(kRefreshed);
  for (const char* secret : {"sl.ONE", "sl.TWO", "REFRESH-TOKEN", "app-secret"}) {
    EXPECT_EQ(result.reason.find(secret), std::string::npos) << result.reason;
  }
}

}  // namespace
}  // namespace wi::dropbox
