// dropbox-worker end to end (SPEC §5 "dropbox-worker"): the real broker, real worker
// processes, a real ingestd where the edge matters, and the Dropbox API stand-in (a real HTTP
// server with switchable faults, per-account call counts and overlap detection).
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "tests/system/dropbox_fixture.h"
#include "tests/system/ingestd_fixture.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

// The entries the stand-in stored, as the changes on dropbox.changes must carry them.
struct Served {
  std::map<std::string, std::string> fields;
  std::int64_t size = -1;
};

std::vector<Served> parse_served(const std::string& json_array) {
  std::vector<Served> out;
  simdjson::dom::parser parser;
  simdjson::dom::array entries;
  if (parser.parse(json_array).get(entries)) {
    ADD_FAILURE() << "not a JSON array: " << json_array;
    return out;
  }
  for (auto e : entries) {
    Served s;
    for (auto [key, value] : simdjson::dom::object(e)) {
      std::string_view text;
      if (!value.get(text))
        s.fields[std::string(key) == ".tag" ? "tag" : std::string(key)] = std::string(text);
      if (std::string(key) == "size") s.size = int64_t(value);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Every SPEC field of `change` equals what the stand-in served (null where it had none).
void expect_change_is(const Change& change, const Served& served, const std::string& account,
                      const std::string& event_id) {
  EXPECT_EQ(change.key, account);
  EXPECT_EQ(change["account_id"], account);
  EXPECT_EQ(change["event_id"], event_id);
  EXPECT_EQ(change.event_id_header, event_id);
  for (const char* field : {"tag", "id", "name", "path_lower", "path_display", "rev",
                            "server_modified", "content_hash"}) {
    auto it = served.fields.find(field);
    EXPECT_EQ(change[field], it == served.fields.end() ? "null" : it->second)
        << field << " of " << change["path_display"];
  }
  EXPECT_EQ(change.size, served.size) << change["path_display"];
}

std::string cursor_of(const std::string& state_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(state_json).get(doc)) return "<not json>";
  std::string_view cursor;
  return doc["cursor"].get(cursor) ? "null" : std::string(cursor);
}

// A group's assignment for a failure message: "member: 0 1 2; ...".
std::string describe(const std::map<std::string, std::set<std::int32_t>>& assignment) {
  std::string out;
  for (const auto& [member, partitions] : assignment) {
    out += member + ":";
    for (auto p : partitions) out += " " + std::to_string(p);
    out += "; ";
  }
  return out;
}

class DropboxWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    standin_ = std::make_unique<DropboxStandin>(dir_.path());
    publisher_ = test_publisher();
    group_ = unique_name("dropbox-worker");
  }

  void write_tokens(const std::string& json) { tokens_file_ = dir_.write("tokens.json", json); }

  // A new stand-in account ("dbid:<name>-…") with the access token "token-<name>", which is
  // also the tokens file's only entry. Its id.
  std::string account_with_token(const std::string& name) {
    const std::string account = "dbid:" + unique_name(name);
    standin_->account_with_access_token(account, "token-" + name);
    write_tokens(R"({")" + account + R"(": {"access_token": "token-)" + name + R"("}})");
    return account;
  }

  // `n` new stand-in accounts ("dbid:<name>-…-<i>") with the access tokens "token-<name>-<i>",
  // all of them in the tokens file. Their ids.
  std::vector<std::string> accounts_with_tokens(const std::string& name, int n) {
    std::vector<std::string> accounts;
    std::string tokens = "{";
    for (int i = 0; i < n; ++i) {
      const std::string token = "token-" + name + "-" + std::to_string(i);
      accounts.push_back("dbid:" + unique_name(name) + "-" + std::to_string(i));
      standin_->account_with_access_token(accounts.back(), token);
      tokens += std::string(i ? "," : "") + json::quote(accounts.back()) +
                R"(: {"access_token": )" + json::quote(token) + "}";
    }
    write_tokens(tokens + "}");
    return accounts;
  }

  std::unique_ptr<DropboxWorkerProcess> start(const DropboxTopics& topics,
                                              std::map<std::string, std::string> env = {}) {
    return std::make_unique<DropboxWorkerProcess>(dir_.path(), topics, standin_->url(),
                                                  tokens_file_, group_, std::move(env));
  }

  void notify(const DropboxTopics& topics, const std::vector<std::string>& accounts,
              const std::string& event_id) {
    publish_notifications(*publisher_, topics.webhook, {{event_id, notification_for(accounts)}});
  }

  // Establishes the account's cursor with a first (skipped) listing.
  void first_poll(const DropboxTopics& topics, const std::string& account,
                  DropboxWorkerProcess& worker) {
    notify(topics, {account}, "ev-first-" + account);
    ASSERT_TRUE(eventually([&] { return latest_cursors(topics.cursors).count(account); }, 30s))
        << worker.log();
    ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker.log();
    // A valid configuration's startup line (WorkerParts::announce) was logged.
    EXPECT_NE(worker.log().find("dropbox worker: notifications="), std::string::npos)
        << worker.log();
  }

  // Waits until `topic` holds at least `n` records.
  static bool wait_for_records(const std::string& topic, std::int64_t n,
                               std::chrono::milliseconds limit = 45s) {
    return eventually([&] { return record_count(topic) >= n; }, limit);
  }

  TempDir dir_;
  std::unique_ptr<DropboxStandin> standin_;
  std::unique_ptr<kafka::RdKafkaPublisher> publisher_;
  std::string group_;
  std::string tokens_file_;
};

TEST_F(DropboxWorkerTest, SignedNotificationForTwoAccountsEmitsTheirEntriesExactlyAsServed) {
  IngestdProcess ingestd;  // the real edge: a signed POST → webhooks.<prefix>dropbox
  std::string webhook = ingestd.topic("dropbox");
  DropboxTopics topics(3, 3, webhook.substr(0, webhook.size() - std::string("dropbox").size()));
  const std::string a = "dbid:AAH4f99T0taONIb-" + unique_name("a");
  const std::string b = "dbid:BBH4f99T0taONIb-" + unique_name("b");
  standin_->account_with_refresh_token(a, "refresh-token-of-a");
  standin_->account_with_access_token(b, "fixed-access-token-of-b");
  standin_->add_entries(a, R"([{".tag":"file","path_display":"/Before.txt"}])");
  standin_->add_entries(b, R"([{".tag":"folder","path_display":"/Existing"}])");
  write_tokens(R"({")" + a + R"(": {"refresh_token": "refresh-token-of-a"}, ")" + b +
               R"(": {"access_token": "fixed-access-token-of-b"}})");
  auto worker = start(topics);

  auto post = [&](const std::string& body) {
    auto r = ingestd.post("dropbox",
                          {"Content-Type: application/json",
                           "X-Dropbox-Signature: " + hex_hmac(kDropboxSecret, body)},
                          body);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer") << ingestd.log();
    simdjson::dom::parser parser;
    std::string_view id;
    if (!r || parser.parse(r->body)["event_id"].get(id)) return std::string();
    return std::string(id);
  };

  // First notification: no cursors yet, initial_sync skip → listed, nothing emitted.
  post(notification_for({a, b}));
  ASSERT_TRUE(eventually([&] { return latest_cursors(topics.cursors).size() == 2; }, 30s))
      << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();
  EXPECT_EQ(record_count(topics.changes), 0) << "the first listing is not emitted by default";
  auto first_cursors = latest_cursors(topics.cursors);

  auto served_a = parse_served(standin_->add_entries(a, R"([
      {".tag":"file","path_display":"/Docs/Report.pdf","size":123456},
      {".tag":"folder","path_display":"/Docs"},
      {".tag":"deleted","path_display":"/Before.txt"}])"));
  auto served_b = parse_served(standin_->add_entries(b, R"([
      {".tag":"deleted","path_display":"/Existing"},
      {".tag":"file","path_display":"/Photo.jpg"},
      {".tag":"folder","path_display":"/Albums"}])"));
  auto event_id = post(notification_for({b, a}));
  ASSERT_FALSE(event_id.empty());
  ASSERT_TRUE(wait_for_records(topics.changes, 6)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();

  auto changes_a = changes_for(topics.changes, a);
  auto changes_b = changes_for(topics.changes, b);
  ASSERT_EQ(changes_a.size(), 3u);
  ASSERT_EQ(changes_b.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    expect_change_is(changes_a[i], served_a[i], a, event_id);
    expect_change_is(changes_b[i], served_b[i], b, event_id);
  }
  EXPECT_EQ(changes_a[0]["tag"], "file");
  EXPECT_EQ(changes_a[1]["tag"], "folder");
  EXPECT_EQ(changes_a[2]["tag"], "deleted");
  EXPECT_EQ(record_count(topics.changes), 6);

  auto cursors = latest_cursors(topics.cursors);
  for (const auto& account : {a, b}) {
    ASSERT_TRUE(cursors.count(account));
    EXPECT_NE(cursor_of(cursors[account]), "null");
    EXPECT_NE(cursor_of(cursors[account]), cursor_of(first_cursors[account]))
        << "the cursor advanced";
  }
  EXPECT_EQ(worker->metric(R"(dropbox_changes_total{tag="file"})"), 2);
  EXPECT_EQ(worker->metric(R"(dropbox_changes_total{tag="folder"})"), 2);
  EXPECT_EQ(worker->metric(R"(dropbox_changes_total{tag="deleted"})"), 2);
  EXPECT_EQ(worker->metric(R"(dropbox_polls_total{outcome="ok"})"), 4);
  EXPECT_EQ(standin_->refreshes(a), 1) << "the refreshed token is cached";
  EXPECT_EQ(worker->stop(), 0) << worker->log();
}

TEST_F(DropboxWorkerTest, BurstOfFiftyNotificationsForOneAccountIsCoalescedAndLosesNothing) {
  DropboxTopics topics;
  const std::string a = account_with_token("burst");
  auto worker = start(topics);
  first_poll(topics, a, *worker);
  auto calls_before = standin_->calls("list_folder_continue", a);

  // Edits while notifications pour in, as one user's rapid edits do.
  std::vector<Served> served;
  for (int round = 0; round < 5; ++round) {
    auto stored = parse_served(standin_->add_entries(
        a, R"([{".tag":"file","path_display":"/burst/f)" + std::to_string(round) + R"(.txt"}])"));
    served.insert(served.end(), stored.begin(), stored.end());
    std::vector<std::pair<std::string, std::string>> batch;
    for (int i = 0; i < 10; ++i) {
      batch.push_back({"ev-burst-" + std::to_string(round * 10 + i), notification_for({a})});
    }
    publish_notifications(*publisher_, topics.webhook, batch);
  }
  ASSERT_TRUE(wait_for_records(topics.changes, 5)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();

  auto list_calls = standin_->calls("list_folder_continue", a) - calls_before;
  EXPECT_LE(list_calls, 10) << "50 notifications must coalesce into far fewer list calls";
  // Every account record was either polled or coalesced into a later one.
  EXPECT_EQ(worker->metric("dropbox_coalesced_total") +
                worker->metric(R"(dropbox_polls_total{outcome="ok"})"),
            50 + 1)
      << "50 burst records and the first poll";
  // Every change exactly once: each poll continued from the previous poll's cursor.
  auto changes = changes_for(topics.changes, a);
  ASSERT_EQ(changes.size(), served.size());
  for (std::size_t i = 0; i < served.size(); ++i) {
    EXPECT_EQ(changes[i]["path_display"], served[i].fields["path_display"]);
    EXPECT_EQ(changes[i]["rev"], served[i].fields["rev"]);
  }
  std::cout << "[ burst ] 50 notifications → " << list_calls << " list_folder/continue calls\n";
  EXPECT_EQ(worker->stop(), 0) << worker->log();
}

TEST_F(DropboxWorkerTest, RateLimitAnswersAreWaitedOutWithoutRetriesOrDeadLetters) {
  DropboxTopics topics;
  const std::string a = account_with_token("limited");
  auto worker = start(topics);
  first_poll(topics, a, *worker);

  auto served = parse_served(standin_->add_entries(
      a, R"([{".tag":"file","path_display":"/a.txt"},{".tag":"file","path_display":"/b.txt"}])"));
  standin_->fault(
      R"({"status":429,"count":1,"retry_after":1,"retry_after_in":"header","account":")" + a +
      R"("})");
  standin_->fault(R"({"status":429,"count":1,"retry_after":2,"retry_after_in":"body","account":")" +
                  a + R"("})");
  auto calls_before = standin_->calls("list_folder_continue", a);
  notify(topics, {a}, "ev-limited");
  ASSERT_TRUE(wait_for_records(topics.changes, 2)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();

  EXPECT_EQ(standin_->calls("list_folder_continue", a) - calls_before, 3) << "429, 429, 200";
  EXPECT_EQ(worker->metric("dropbox_rate_limit_wait_seconds_total"), 3);
  EXPECT_EQ(worker->metric(R"(worker_records_total{worker="dropbox",outcome="retried"})"), 0);
  EXPECT_EQ(worker->metric(R"(worker_records_total{worker="dropbox",outcome="dead_lettered"})"), 0);
  EXPECT_EQ(
      worker->metric(R"(dropbox_api_calls_total{endpoint="list_folder_continue",status="429"})"),
      2);
  auto changes = changes_for(topics.changes, a);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0]["rev"], served[0].fields["rev"]);
  EXPECT_EQ(changes[1]["rev"], served[1].fields["rev"]);
  EXPECT_EQ(record_count(topics.accounts + ".dlq"), 0);
  EXPECT_EQ(worker->stop(), 0) << worker->log();
}

TEST_F(DropboxWorkerTest, ARetryAfterLongerThanTheWaitBudgetRequeuesTheAccountAndIsHonoured) {
  DropboxTopics topics;
  const std::string a = account_with_token("deferred");
  // One second of waiting per record at most, and only two attempts: a rate limit that used
  // attempts would end in a dead letter quickly.
  auto worker =
      start(topics, {{"DROPBOX_MAX_RATE_LIMIT_WAIT_S", "1"}, {"WORKER_MAX_ATTEMPTS", "2"}});
  first_poll(topics, a, *worker);

  auto served =
      parse_served(standin_->add_entries(a, R"([{".tag":"file","path_display":"/late.txt"}])"));
  standin_->fault(R"({"status":429,"count":1,"retry_after":4,"account":")" + a + R"("})");
  notify(topics, {a}, "ev-deferred");
  ASSERT_TRUE(wait_for_records(topics.changes, 1)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();

  // The calls for the account after the first poll: the 429, then (no call before Dropbox's
  // time) the one that succeeded, at least 4 s later.
  simdjson::dom::parser parser;
  auto stats = standin_->stats();
  std::vector<std::pair<std::int64_t, double>> calls;  // status, start
  for (auto entry : parser.parse(stats)["log"]) {
    if (std::string_view(entry["account"]) != a ||
        std::string_view(entry["endpoint"]) != "list_folder_continue") {
      continue;
    }
    calls.push_back({int64_t(entry["status"]), double(entry["start"])});
  }
  ASSERT_EQ(calls.size(), 2u) << stats.substr(0, 2000);
  EXPECT_EQ(calls[0].first, 429);
  EXPECT_EQ(calls[1].first, 200);
  EXPECT_GE(calls[1].second - calls[0].second, 4.0) << "Retry-After honoured";

  auto changes = changes_for(topics.changes, a);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["rev"], served[0].fields["rev"]);
  EXPECT_EQ(changes[0]["event_id"], "ev-deferred");
  EXPECT_EQ(record_count(topics.accounts + ".dlq"), 0);
  EXPECT_EQ(worker->metric(R"(worker_records_total{worker="dropbox",outcome="retried"})"), 0);
  // Re-queued at least once (how often depends on when each copy comes up).
  EXPECT_GE(worker->metric(R"(dropbox_polls_total{outcome="deferred"})"), 1);
  EXPECT_EQ(worker->stop(), 0) << worker->log();
}

TEST_F(DropboxWorkerTest, ResetRelistsFromScratchAndEmitsEveryEntryDespiteInitialSyncSkip) {
  DropboxTopics topics;
  const std::string a = "dbid:" + unique_name("reset");
  standin_->account_with_access_token(a, "token-reset");
  // Before the worker ever saw the account: the first listing skips these.
  standin_->add_entries(a, R"([{".tag":"file","path_display":"/one.txt"},
                              {".tag":"folder","path_display":"/two"}])");
  write_tokens(R"({")" + a + R"(": {"access_token": "token-reset"}})");
  auto worker = start(topics);
  first_poll(topics, a, *worker);
  EXPECT_EQ(record_count(topics.changes), 0);

  // A change, then Dropbox expires the cursor, then another change.
  standin_->add_entries(a, R"([{".tag":"file","path_display":"/three.txt"}])");
  standin_->reset_cursors(a);
  standin_->add_entries(a, R"([{".tag":"deleted","path_display":"/one.txt"}])");
  notify(topics, {a}, "ev-after-reset");
  ASSERT_TRUE(wait_for_records(topics.changes, 3)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();

  // The re-list is the current state: /one.txt (deleted), /two, /three.txt — all emitted, so
  // the change to /three.txt made before the reset is not lost.
  auto changes = changes_for(topics.changes, a);
  ASSERT_EQ(changes.size(), 3u);
  std::set<std::string> seen;
  for (const auto& c : changes) seen.insert(c["tag"] + " " + c["path_display"]);
  EXPECT_EQ(seen, (std::set<std::string>{"deleted /one.txt", "folder /two", "file /three.txt"}));
  EXPECT_EQ(worker->metric("dropbox_resets_total"), 1);
  EXPECT_EQ(standin_->calls("list_folder", a), 2) << "the first listing and the re-list";

  // The new cursor works: the next change is emitted alone.
  standin_->add_entries(a, R"([{".tag":"file","path_display":"/four.txt"}])");
  notify(topics, {a}, "ev-next");
  ASSERT_TRUE(wait_for_records(topics.changes, 4)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();
  changes = changes_for(topics.changes, a);
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[3]["path_display"], "/four.txt");
  EXPECT_EQ(worker->stop(), 0) << worker->log();
}

TEST_F(DropboxWorkerTest, UnauthorizedRefreshesOnceThenDeadLettersAndNoTokenLeaks) {
  DropboxTopics topics;
  const std::string a = "dbid:" + unique_name("auth");
  const std::string refresh = "refresh-token-" + unique_name("secret");
  standin_->account_with_refresh_token(a, refresh);
  write_tokens(R"({")" + a + R"(": {"refresh_token": ")" + refresh + R"("}})");
  auto worker = start(topics);
  first_poll(topics, a, *worker);
  EXPECT_EQ(standin_->refreshes(a), 1);

  // Dropbox revokes the access token: one refresh, and the poll goes on.
  standin_->revoke(a);
  standin_->add_entries(a, R"([{".tag":"file","path_display":"/after-revoke.txt"}])");
  notify(topics, {a}, "ev-revoked");
  ASSERT_TRUE(wait_for_records(topics.changes, 1)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();
  EXPECT_EQ(standin_->refreshes(a), 2);
  EXPECT_EQ(record_count(topics.accounts + ".dlq"), 0);

  // Still 401 after the refresh: dead letter `unauthorized`, after exactly one more refresh.
  standin_->fault(R"({"status":401,"count":5,"endpoint":"list_folder_continue","account":")" + a +
                  R"("})");
  notify(topics, {a}, "ev-unauthorized");
  ASSERT_TRUE(wait_for_records(topics.accounts + ".dlq", 1)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();
  EXPECT_EQ(standin_->refreshes(a), 3);
  auto dead = read_topic(topics.accounts + ".dlq", 1);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].key, a);
  EXPECT_EQ(*kafka::find_header(dead[0].headers, "dlq-reason"), "unauthorized");
  EXPECT_EQ(*kafka::find_header(dead[0].headers, "event-id"), "ev-unauthorized");
  EXPECT_EQ(worker->metric(R"(dropbox_polls_total{outcome="unauthorized"})"), 1);

  // No token (refresh, app secret or any access token handed out) in the log, the metrics or
  // the dead letter.
  std::vector<std::string> secrets = standin_->issued_tokens();
  ASSERT_EQ(secrets.size(), 3u);
  secrets.push_back(refresh);
  secrets.push_back(kDropboxAppSecret);
  std::string dead_text = dead[0].value;
  for (const auto& h : dead[0].headers) dead_text += h.name + "=" + h.value + "\n";
  auto log = worker->log();
  auto metrics = worker->metrics();
  for (const auto& secret : secrets) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "in the log: " << secret;
    EXPECT_EQ(metrics.find(secret), std::string::npos) << "in the metrics: " << secret;
    EXPECT_EQ(dead_text.find(secret), std::string::npos) << "in the dead letter: " << secret;
  }
  EXPECT_EQ(worker->stop(), 0) << log;
}

TEST_F(DropboxWorkerTest, ServerErrorsAndSlowAnswersAreRetriedWithBackoffAndLoseNothing) {
  DropboxTopics topics;
  const std::string a = account_with_token("flaky");
  auto worker = start(topics, {{"DROPBOX_API_TIMEOUT_MS", "1000"}});
  first_poll(topics, a, *worker);

  auto served = parse_served(standin_->add_entries(
      a, R"([{".tag":"file","path_display":"/x.txt"},{".tag":"folder","path_display":"/y"}])"));
  standin_->fault(R"({"status":500,"count":2,"account":")" + a + R"("})");
  standin_->fault(R"({"status":200,"delay_ms":3000,"count":1,"account":")" + a + R"("})");
  notify(topics, {a}, "ev-flaky");
  ASSERT_TRUE(wait_for_records(topics.changes, 2)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();

  EXPECT_EQ(worker->metric(R"(worker_records_total{worker="dropbox",outcome="retried"})"), 3)
      << "500, 500, timeout: each a backoff retry";
  EXPECT_EQ(
      worker->metric(R"(dropbox_api_calls_total{endpoint="list_folder_continue",status="500"})"),
      2);
  EXPECT_EQ(
      worker->metric(R"(dropbox_api_calls_total{endpoint="list_folder_continue",status="error"})"),
      1);
  EXPECT_EQ(record_count(topics.accounts + ".dlq"), 0);
  auto changes = changes_for(topics.changes, a);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0]["id"], served[0].fields["id"]);
  EXPECT_EQ(changes[1]["id"], served[1].fields["id"]);
  EXPECT_EQ(worker->stop(), 0) << worker->log();
}

TEST_F(DropboxWorkerTest, NoTokenAndMalformedNotificationsAreDeadLetteredAndSighupReloadsTokens) {
  DropboxTopics topics;
  const std::string known = "dbid:" + unique_name("known");
  const std::string unknown = "dbid:" + unique_name("unknown");
  standin_->account_with_access_token(known, "token-known");
  standin_->account_with_access_token(unknown, "token-unknown");
  write_tokens(R"({")" + known + R"(": {"access_token": "token-known"}})");
  auto worker = start(topics, {{"DROPBOX_INITIAL_SYNC", "emit"}});

  publish_notifications(*publisher_, topics.webhook,
                        {{"ev-garbage", R"({"delta":{"users":[1]}})"},
                         {"ev-two", notification_for({known, unknown})}});
  ASSERT_TRUE(wait_for_records(topics.webhook + ".dlq", 1)) << worker->log();
  ASSERT_TRUE(wait_for_records(topics.accounts + ".dlq", 1)) << worker->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << worker->log();

  auto bad = read_topic(topics.webhook + ".dlq", 1);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].value, R"({"delta":{"users":[1]}})") << "the original body, untouched";
  EXPECT_EQ(*kafka::find_header(bad[0].headers, "dlq-reason"),
            "notification: no list_folder object");
  EXPECT_EQ(*kafka::find_header(bad[0].headers, "event-id"), "ev-garbage");
  auto no_token = read_topic(topics.accounts + ".dlq", 1);
  ASSERT_EQ(no_token.size(), 1u);
  EXPECT_EQ(no_token[0].key, unknown);
  EXPECT_EQ(*kafka::find_header(no_token[0].headers, "dlq-reason"), "no_token");
  EXPECT_EQ(standin_->calls("list_folder", unknown), 0);
  EXPECT_EQ(latest_cursors(topics.cursors).count(known), 1u) << "the known account was polled";

  // The operator adds the account and sends SIGHUP: the next notification is polled.
  standin_->add_entries(unknown, R"([{".tag":"file","path_display":"/now-visible.txt"}])");
  write_tokens(R"({")" + known + R"(": {"access_token": "token-known"}, ")" + unknown +
               R"(": {"access_token": "token-unknown"}})");
  worker->process().signal(SIGHUP);
  notify(topics, {unknown}, "ev-after-sighup");  // the reload happens before this record
  ASSERT_TRUE(eventually([&] { return changes_for(topics.changes, unknown).size() == 1; }, 30s))
      << worker->log();
  EXPECT_TRUE(worker->process().running()) << "SIGHUP must not end the worker";
  EXPECT_NE(worker->log().find("SIGHUP: tokens file reloaded: 2 account(s)"), std::string::npos);
  EXPECT_EQ(record_count(topics.accounts + ".dlq"), 1);
  EXPECT_EQ(worker->stop(), 0) << worker->log();
}

TEST_F(DropboxWorkerTest, KillNineBetweenEmittingAndStoringTheCursorReemitsAndNeverSkips) {
  DropboxTopics topics;
  const std::string a = account_with_token("crash");
  std::map<std::string, std::string> env = {{"DROPBOX_API_TIMEOUT_MS", "60000"}};
  auto worker = start(topics, env);
  first_poll(topics, a, *worker);
  const std::string cursor_before = cursor_of(latest_cursors(topics.cursors)[a]);

  // Five changes = two pages (3 + 2). The first page answers at once; the second hangs, so the
  // worker has emitted page one and not yet stored a cursor when it is killed.
  auto served = parse_served(standin_->add_entries(a, R"([
      {".tag":"file","path_display":"/c1"},{".tag":"file","path_display":"/c2"},
      {".tag":"file","path_display":"/c3"},{".tag":"file","path_display":"/c4"},
      {".tag":"file","path_display":"/c5"}])"));
  standin_->fault(R"({"status":200,"count":1,"account":")" + a + R"("})");
  standin_->fault(R"({"status":200,"delay_ms":30000,"count":1,"account":")" + a + R"("})");
  notify(topics, {a}, "ev-crash");
  ASSERT_TRUE(wait_for_records(topics.changes, 3)) << worker->log();
  ASSERT_TRUE(eventually(
      [&] {
        return standin_->calls("list_folder_continue", a) == 2;  // page 1, then page 2 hangs
      },
      10s));
  worker->kill9();
  EXPECT_EQ(record_count(topics.changes), 3) << "page one only";
  EXPECT_EQ(cursor_of(latest_cursors(topics.cursors)[a]), cursor_before)
      << "killed before the cursor was stored";

  auto restarted = start(topics, env);
  ASSERT_TRUE(wait_for_records(topics.changes, 8, 60s)) << restarted->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << restarted->log();

  // Page one twice (duplicates allowed), then page two: every change present, none skipped.
  auto changes = changes_for(topics.changes, a);
  ASSERT_EQ(changes.size(), 8u);
  std::vector<std::string> paths;
  for (const auto& c : changes) paths.push_back(c["path_display"]);
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/c1", "/c2", "/c3", "/c1", "/c2", "/c3", "/c4", "/c5"}));
  auto cursor_after = cursor_of(latest_cursors(topics.cursors)[a]);
  EXPECT_NE(cursor_after, cursor_before) << "the cursor advanced after the restart";
  EXPECT_NE(cursor_after, "null");

  // And from there on, nothing is repeated.
  standin_->add_entries(a, R"([{".tag":"file","path_display":"/c6"}])");
  notify(topics, {a}, "ev-after-crash");
  ASSERT_TRUE(wait_for_records(topics.changes, 9)) << restarted->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << restarted->log();
  EXPECT_EQ(record_count(topics.changes), 9);
  EXPECT_EQ(restarted->stop(), 0) << restarted->log();
}

TEST_F(DropboxWorkerTest, TwoWorkerProcessesNeverPollOneAccountAtTheSameTime) {
  // Seven partitions in all: each of the two members owns at least two account partitions.
  DropboxTopics topics(6, 1);
  // 24 accounts over 6 partitions: every member's partitions hold some of them.
  const auto accounts = accounts_with_tokens("two", 24);
  standin_->delay_every_call(40);  // every call takes a while: overlaps would show
  auto polled_by = [](const DropboxWorkerProcess& w) {
    return w.metric(R"(dropbox_polls_total{outcome="ok"})");
  };
  std::map<std::string, std::string> env = {{"DROPBOX_INITIAL_SYNC", "emit"}};
  auto first = start(topics, env);
  std::unique_ptr<DropboxWorkerProcess> second;

  std::size_t expected = 0;
  for (int round = 0; round < 6; ++round) {
    for (const auto& account : accounts) {
      standin_->add_entries(
          account, R"([{".tag":"file","path_display":"/r)" + std::to_string(round) + R"(.txt"}])");
      ++expected;
    }
    std::vector<std::pair<std::string, std::string>> batch;
    for (int n = 0; n < 4; ++n) {
      batch.push_back({"ev-two-" + std::to_string(round) + "-" + std::to_string(n),
                       notification_for(accounts)});
    }
    publish_notifications(*publisher_, topics.webhook, batch);
    if (round == 1) {
      // The second joins while the first is busy: once the first has polled an account (it
      // has two rounds of slow calls queued), and the later rounds go out only once the
      // broker shows both members in the poll group, each holding account partitions.
      ASSERT_TRUE(eventually([&] { return polled_by(*first) > 0; }, 60s)) << first->log();
      second = start(topics, env);
      std::map<std::string, std::set<std::int32_t>> members;
      ASSERT_TRUE(eventually(
          [&] {
            members = group_assignment(group_, topics.accounts);
            return members.size() == 2 && !members.begin()->second.empty() &&
                   !members.rbegin()->second.empty();
          },
          60s))
          << describe(members) << first->log() << second->log();
    }
  }
  ASSERT_TRUE(dropbox_quiescent(group_, topics, 60s)) << first->log() << second->log();

  // Every entry emitted at least once (initial_sync emit and re-polls may repeat some).
  std::set<std::string> seen;
  for (const auto& account : accounts) {
    for (const auto& c : changes_for(topics.changes, account))
      seen.insert(account + c["path_display"]);
  }
  EXPECT_EQ(seen.size(), expected);

  auto stats = standin_->stats();
  simdjson::dom::parser parser;
  simdjson::dom::object overlaps;
  ASSERT_FALSE(parser.parse(stats)["overlaps"].get(overlaps)) << stats;
  EXPECT_EQ(overlaps.size(), 0u) << "accounts polled by two calls at once: "
                                 << stats.substr(0, 2000);
  EXPECT_GT(polled_by(*first), 0) << "both processes polled accounts";
  EXPECT_GT(polled_by(*second), 0) << "both processes polled accounts";
  EXPECT_EQ(first->stop(), 0) << first->log();
  EXPECT_EQ(second->stop(), 0) << second->log();
}

}  // namespace
}  // namespace wi::testing

namespace wi::testing {
namespace {

TEST_F(DropboxWorkerTest, DedicatedPollersShareTheAccountPartitionsOfTheGroup) {
  DropboxTopics topics(6, 3);
  const auto accounts = accounts_with_tokens("split", 24);
  for (const auto& account : accounts) {
    standin_->add_entries(account, R"([{".tag":"file","path_display":"/only.txt"}])");
  }
  // Two processes poll, one fans out (DROPBOX_CONSUME picks the stages): the fan-out process
  // joins last and runs only the fan-out stage, so it takes no account partitions.
  std::map<std::string, std::string> poller_env = {{"DROPBOX_CONSUME", "accounts"},
                                                   {"DROPBOX_INITIAL_SYNC", "emit"}};
  auto first = start(topics, poller_env);
  auto second = start(topics, poller_env);
  ASSERT_TRUE(eventually(
      [&] {
        return first->metric(R"(worker_assigned_partitions{worker="dropbox"})") == 3 &&
               second->metric(R"(worker_assigned_partitions{worker="dropbox"})") == 3;
      },
      60s))
      << first->log() << second->log();
  auto fan_out = start(topics, {{"DROPBOX_CONSUME", "notifications"}});
  ASSERT_TRUE(eventually(
      [&] { return fan_out->metric(R"(worker_assigned_partitions{worker="dropbox"})") == 3; }, 60s))
      << fan_out->log();
  EXPECT_NE(fan_out->log().find("consuming " + topics.webhook + " as group"), std::string::npos);
  EXPECT_NE(first->log().find("consuming " + topics.accounts + " as group"), std::string::npos);

  notify(topics, accounts, "ev-split");
  ASSERT_TRUE(wait_for_records(topics.changes, 24)) << first->log() << second->log();
  ASSERT_TRUE(dropbox_quiescent(group_, topics)) << first->log() << second->log();

  EXPECT_EQ(fan_out->metric(R"(dropbox_fanout_accounts_total{outcome="published"})"), 24);
  EXPECT_EQ(fan_out->metric(R"(dropbox_polls_total{outcome="ok"})"), 0) << "it only fans out";
  auto polled_first = first->metric(R"(dropbox_polls_total{outcome="ok"})");
  auto polled_second = second->metric(R"(dropbox_polls_total{outcome="ok"})");
  EXPECT_GT(polled_first, 0);
  EXPECT_GT(polled_second, 0);
  EXPECT_EQ(polled_first + polled_second, 24);
  EXPECT_EQ(record_count(topics.changes), 24);
  EXPECT_EQ(fan_out->stop(), 0) << fan_out->log();
  EXPECT_EQ(first->stop(), 0) << first->log();
  EXPECT_EQ(second->stop(), 0) << second->log();
}

}  // namespace
}  // namespace wi::testing

namespace wi::testing {
namespace {

TEST_F(DropboxWorkerTest, TwoDefaultProcessesSplitBothStagesAndEachPollsAccounts) {
  // As many notification partitions as account partitions: in one group for both topics,
  // cooperative-sticky gave one process all six of one topic and the other all six of the
  // other. With a group per stage, each topic is spread over both processes on its own, and
  // both processes poll accounts.
  DropboxTopics topics(6, 6);
  // 24 accounts over 6 partitions: both members' partitions hold some of them.
  const auto accounts = accounts_with_tokens("pair", 24);
  auto first = start(topics);
  ASSERT_TRUE(eventually([&] { return group_assignment(group_, topics.accounts).size() == 1; },
                         60s))
      << first->log();
  auto second = start(topics);

  // Both members of the poll group hold three account partitions, and both members of the
  // fan-out group three notification partitions (read from the broker's group description).
  auto balanced = [](const std::map<std::string, std::set<std::int32_t>>& assignment) {
    if (assignment.size() != 2) return false;
    std::set<std::int32_t> all;
    for (const auto& [member, partitions] : assignment) {
      if (partitions.size() != 3) return false;
      all.insert(partitions.begin(), partitions.end());
    }
    return all.size() == 6;
  };
  std::map<std::string, std::set<std::int32_t>> polls, fan_outs;
  bool settled = eventually(
      [&] {
        polls = group_assignment(group_, topics.accounts);
        fan_outs = group_assignment(fan_out_group(group_), topics.webhook);
        return balanced(polls) && balanced(fan_outs);
      },
      60s);
  EXPECT_TRUE(settled) << "poll group " << group_ << ": " << describe(polls) << "\nfan-out group: "
                       << describe(fan_outs) << "\n"
                       << first->log() << second->log();
  for (const auto& [member, partitions] : polls) {
    EXPECT_FALSE(partitions.empty()) << "member " << member << " polls no account partition";
  }
  // Each process's gauge adds up its two stages: three partitions of each topic.
  auto assigned = [](const DropboxWorkerProcess& w) {
    return w.metric(R"(worker_assigned_partitions{worker="dropbox"})");
  };
  EXPECT_TRUE(eventually([&] { return assigned(*first) == 6 && assigned(*second) == 6; }, 30s))
      << "first " << assigned(*first) << ", second " << assigned(*second);

  // One notification for every account: each process polls the accounts of its partitions,
  // every account exactly once in all.
  notify(topics, accounts, "ev-pair");
  ASSERT_TRUE(dropbox_quiescent(group_, topics, 60s)) << first->log() << second->log();
  auto polled = [](const DropboxWorkerProcess& w) {
    return w.metric(R"(dropbox_polls_total{outcome="ok"})");
  };
  const double polled_first = polled(*first);
  const double polled_second = polled(*second);
  EXPECT_GT(polled_first, 0) << "the first process polled no account";
  EXPECT_GT(polled_second, 0) << "the second process polled no account";
  EXPECT_EQ(polled_first + polled_second, 24);
  EXPECT_EQ(first->stop(), 0) << first->log();
  EXPECT_EQ(second->stop(), 0) << second->log();
}

}  // namespace
}  // namespace wi::testing
