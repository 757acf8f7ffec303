#pragma once
// dropbox-worker as a real process against the real broker and the Dropbox API stand-in
// (tests/standins/dropbox_api.py, also a real process): per-test topics, a tokens file, the
// stand-in's control API, and helpers to read what the worker produced.

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/json_text.h"
#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_publisher.h"
#include "tests/support/kafka_env.h"
#include "tests/support/process.h"
#include "tests/support/raw_http.h"
#include "tests/system/test_worker_fixture.h"

namespace wi::testing {

inline const std::string kDropboxAppKey = "test-dropbox-app-key";
inline const std::string kDropboxAppSecret = "test-dropbox-app-secret";

// ---- the stand-in ---------------------------------------------------------------------------

class DropboxStandin {
 public:
  explicit DropboxStandin(const std::string& dir, int page_size = 3) {
    log_ = dir + "/dropbox-standin-" + unique_name("s") + ".log";
    process_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"/usr/bin/python3", DROPBOX_API_STANDIN, "--page-size",
                                 std::to_string(page_size)},
        std::map<std::string, std::string>{}, log_);
    // Ready = the one {"port": N} line on stdout.
    bool ready = eventually(
        [&] {
          auto text = process_->log();
          auto at = text.find("{\"port\": ");
          if (at == std::string::npos) return false;
          port_ = static_cast<std::uint16_t>(std::stoi(text.substr(at + 9)));
          return port_ != 0;
        },
        std::chrono::seconds(20));
    if (!ready) {
      ADD_FAILURE() << "the Dropbox stand-in did not start:\n" << process_->log();
      throw std::runtime_error("dropbox stand-in did not start");
    }
    control("app", R"({"app_key":)" + json::quote(kDropboxAppKey) + R"(,"app_secret":)" +
                       json::quote(kDropboxAppSecret) + "}");
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  BackgroundProcess& process() { return *process_; }

  // POST /_control/<what>; the answer's body (fails the test unless 200).
  std::string control(const std::string& what, const std::string& json) {
    auto r =
        http_request(port_, "POST", "/_control/" + what, {"Content-Type: application/json"}, json);
    EXPECT_TRUE(r && r->status == 200) << what << ": " << (r ? r->body : "no answer");
    return r ? r->body : "";
  }
  void account_with_refresh_token(const std::string& account, const std::string& refresh) {
    control("accounts", R"({"account":)" + json::quote(account) + R"(,"refresh_token":)" +
                            json::quote(refresh) + "}");
  }
  void account_with_access_token(const std::string& account, const std::string& token) {
    control("accounts", R"({"account":)" + json::quote(account) + R"(,"access_token":)" +
                            json::quote(token) + "}");
  }
  // Appends entries (a JSON array); returns the stored entries (a JSON array).
  std::string add_entries(const std::string& account, const std::string& entries_json) {
    auto body = control(
        "entries", R"({"account":)" + json::quote(account) + R"(,"entries":)" + entries_json + "}");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body).get(doc)) return "[]";
    return simdjson::minify(doc["entries"]);
  }
  void fault(const std::string& json) { control("faults", json); }
  void reset_cursors(const std::string& account) {
    control("reset", R"({"account":)" + json::quote(account) + "}");
  }
  void revoke(const std::string& account) {
    control("revoke", R"({"account":)" + json::quote(account) + "}");
  }
  void delay_every_call(int ms) { control("delay", R"({"delay_ms":)" + std::to_string(ms) + "}"); }

  // GET /_control/stats (JSON text).
  std::string stats() {
    auto r = http_request(port_, "GET", "/_control/stats");
    EXPECT_TRUE(r && r->status == 200);
    return r ? r->body : "{}";
  }
  // calls[endpoint][account], 0 when none.
  std::int64_t calls(const std::string& endpoint, const std::string& account) {
    return number_at(stats(), {"calls", endpoint, account});
  }
  std::int64_t refreshes(const std::string& account) {
    return number_at(stats(), {"refreshes", account});
  }
  // The access tokens the stand-in handed out.
  std::vector<std::string> issued_tokens() {
    std::vector<std::string> out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(stats()).get(doc)) return out;
    for (auto t : doc["issued"]) out.emplace_back(std::string_view(t));
    return out;
  }

  static std::int64_t number_at(const std::string& json, const std::vector<std::string>& path) {
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    if (parser.parse(json).get(e)) return -1;
    for (const auto& key : path) {
      if (e[key].get(e)) return 0;
    }
    std::int64_t n = 0;
    return e.get(n) ? -1 : n;
  }

 private:
  std::string log_;
  std::uint16_t port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

// ---- topics ---------------------------------------------------------------------------------

// Per-test topics: webhooks.<prefix>dropbox and its own accounts/changes/cursors, with the
// dead-letter topics the worker writes to.
struct DropboxTopics {
  explicit DropboxTopics(int accounts_partitions = 3, int webhook_partitions = 3,
                         std::string webhook_prefix = "") {
    prefix = webhook_prefix.empty() ? unique_name("dbx") + "." : webhook_prefix;
    webhook = prefix + "dropbox";
    accounts = prefix + "accounts";
    changes = prefix + "changes";
    if (webhook_prefix.empty()) create_topics({webhook}, webhook_partitions);
    create_topics({webhook + ".dlq", accounts, accounts + ".dlq", changes}, accounts_partitions);
    // Compacted and co-partitioned with the accounts topic, as `ingestctl topics create` makes it.
    cursors =
        create_test_topic("dbx-cursors", accounts_partitions, {{"cleanup.policy", "compact"}});
    this->accounts_partitions = accounts_partitions;
    this->webhook_partitions = webhook_partitions;
  }
  std::string prefix, webhook, accounts, changes, cursors;
  int accounts_partitions = 3;
  int webhook_partitions = 3;
};

// ---- the worker ------------------------------------------------------------------------------

class DropboxWorkerProcess {
 public:
  DropboxWorkerProcess(const std::string& scratch, const DropboxTopics& topics,
                       const std::string& api_url, const std::string& tokens_file,
                       const std::string& group, std::map<std::string, std::string> env = {})
      : metrics_port_(free_port()) {
    std::string tag = std::to_string(metrics_port_);
    std::map<std::string, std::string> all = {
        {"KAFKA_BROKERS", test_brokers()},
        {"KAFKA_GROUP", group},
        {"WORKER_METRICS_LISTEN", "127.0.0.1:" + tag},
        {"WORKER_BACKOFF_INITIAL_MS", "100"},
        {"WORKER_BACKOFF_MAX_MS", "400"},
        {"LOG_LEVEL", "debug"},
        {"TOPIC_PREFIX", topics.prefix},
        {"DROPBOX_ACCOUNTS_TOPIC", topics.accounts},
        {"DROPBOX_CHANGES_TOPIC", topics.changes},
        {"DROPBOX_CURSORS_TOPIC", topics.cursors},
        {"DROPBOX_API_URL", api_url},
        {"DROPBOX_OAUTH_URL", api_url},
        {"DROPBOX_APP_KEY", kDropboxAppKey},
        {"DROPBOX_APP_SECRET", kDropboxAppSecret},
        {"DROPBOX_TOKENS_FILE", tokens_file},
        {"DROPBOX_MAX_CALLS_PER_SECOND", "0"},
    };
    for (auto& [k, v] : env) all[k] = v;
    log_path_ = scratch + "/dropbox-worker-" + tag + ".log";
    process_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{DROPBOX_WORKER_PATH},
                                                   all, log_path_);
    bool up = eventually(
        [&] {
          return !process_->running() || metrics().find("dropbox_polls_total") != std::string::npos;
        },
        std::chrono::seconds(30));
    if (!up || !process_->running()) {
      ADD_FAILURE() << "dropbox-worker did not start; its log:\n" << log();
      throw std::runtime_error("dropbox-worker did not start");
    }
  }

  BackgroundProcess& process() { return *process_; }
  std::string log() const { return process_->log(); }
  std::string metrics() const { return metrics_text(metrics_port_); }
  // The value of one series on /metrics ("name{labels}"), -1 when absent.
  double metric(const std::string& series) const {
    auto text = metrics();
    auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }
  int stop() {
    process_->signal(SIGTERM);
    return process_->wait(std::chrono::seconds(15));
  }
  void kill9() {
    process_->signal(SIGKILL);
    process_->wait(std::chrono::seconds(10));
  }

 private:
  std::uint16_t metrics_port_;
  std::string log_path_;
  std::unique_ptr<BackgroundProcess> process_;
};

// ---- reading the results ------------------------------------------------------------------------

struct Change {
  std::map<std::string, std::string> fields;  // string fields; "null" for nulls
  std::int64_t size = -1;
  std::string key;
  std::string event_id_header;
  std::string operator[](const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? "<missing>" : it->second;
  }
};

inline Change parse_change(const kafka::ConsumedRecord& record) {
  Change c;
  c.key = record.key.value_or("");
  if (auto* id = kafka::find_header(record.headers, "event-id")) c.event_id_header = *id;
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(record.value).get(doc)) {
    ADD_FAILURE() << "change is not a JSON object: " << record.value;
    return c;
  }
  for (auto [key, value] : doc) {
    std::string_view text;
    if (!value.get(text)) {
      c.fields[std::string(key)] = std::string(text);
    } else if (value.is_null()) {
      c.fields[std::string(key)] = "null";
    } else if (std::string(key) == "size") {
      c.size = int64_t(value);
    }
  }
  return c;
}

// Every change on `topic` for `account`, in offset order (one account is one partition).
inline std::vector<Change> changes_for(const std::string& topic, const std::string& account) {
  std::vector<kafka::ConsumedRecord> records = read_topic(topic, 0, std::chrono::seconds(20));
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  std::vector<Change> out;
  for (const auto& r : records) {
    if (r.key == account) out.push_back(parse_change(r));
  }
  return out;
}

// The latest value per key of the cursors topic.
inline std::map<std::string, std::string> latest_cursors(const std::string& topic) {
  std::map<std::string, std::string> out;
  auto records = read_topic(topic, 0, std::chrono::seconds(20));
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  for (const auto& r : records) {
    if (r.key) out[*r.key] = r.null_value ? "" : r.value;
  }
  return out;
}

// True when `group` has committed every record now in `topic`.
inline bool all_committed(const std::string& group, const std::string& topic, int partitions) {
  auto total = record_count(topic);
  std::int64_t committed = 0;
  for (const auto& [p, offset] : committed_offsets(group, topic, partitions)) {
    committed += std::max<std::int64_t>(offset, 0);
  }
  return total >= 0 && committed == total;
}

// Waits until the worker group has handled every notification and every account record.
inline bool dropbox_quiescent(const std::string& group, const DropboxTopics& t,
                              std::chrono::milliseconds limit = std::chrono::seconds(45)) {
  return eventually(
      [&] {
        return all_committed(group, t.webhook, t.webhook_partitions) &&
               all_committed(group, t.accounts, t.accounts_partitions);
      },
      limit);
}

// Publishes notifications as ingestd would (unkeyed, event id = body hash is not needed here:
// each gets the id given), all at once, then waits for every acknowledgement.
inline void publish_notifications(kafka::Publisher& publisher, const std::string& topic,
                                  const std::vector<std::pair<std::string, std::string>>& id_body) {
  for (const auto& [id, body] : id_body) {
    kafka::OutgoingRecord r;
    r.topic = topic;
    r.value = body;
    r.headers = {{"source", "dropbox"},
                 {"event-id", id},
                 {"event-type", "notification"},
                 {"received-at", format_rfc3339_ms(std::chrono::system_clock::now())},
                 {"content-type", "application/json"}};
    publisher.publish(std::move(r), [](Result<kafka::Delivery> d) {
      if (!d) ADD_FAILURE() << "publish: " << d.error().message;
    });
  }
  auto flushed = publisher.flush(std::chrono::seconds(30));
  ASSERT_TRUE(flushed.ok()) << flushed.error().message;
}

inline std::string notification_for(const std::vector<std::string>& accounts) {
  std::string out = R"({"list_folder":{"accounts":[)";
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    out += (i ? "," : "") + json::quote(accounts[i]);
  }
  return out + R"(]},"delta":{"users":[12345]}})";
}

}  // namespace wi::testing
