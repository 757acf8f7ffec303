// `ingestctl send` and `ingestctl bench` as real processes against a real ingestd and the real
// broker. ingestctl gets ingestd's own environment (brokers, topic prefix, listen address,
// secrets), as an operator on the same host would have it.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/crypto.h"
#include "common/kafka/record.h"
#include "tests/system/ingestd_fixture.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

const std::string kIngestctl = INGESTCTL_PATH;

// The environment ingestd runs with, for ingestctl: the default URL then points at it.
std::map<std::string, std::string> ctl_env(const IngestdProcess& ingestd,
                                           std::map<std::string, std::string> overrides = {}) {
  std::map<std::string, std::string> env = {
      {"KAFKA_BROKERS", test_brokers()},
      {"TOPIC_PREFIX", ingestd.topic("")},
      {"INGEST_LISTEN", "127.0.0.1:" + std::to_string(ingestd.port())},
      {"GITHUB_WEBHOOK_SECRET", kGithubSecret},
      {"DROPBOX_APP_SECRET", kDropboxSecret},
      {"CHARGIFY_SHARED_KEY", kChargifySecret},
      {"INGEST_CONFIG", ""},  // unset: no YAML file
  };
  for (auto& [k, v] : overrides) env[k] = v;
  return env;
}

std::string write_file(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  return path;
}

std::map<std::string, std::string> headers_of(const kafka::ConsumedRecord& r) {
  std::map<std::string, std::string> out;
  for (const auto& h : r.headers) out[h.name] = h.value;
  return out;
}

// The JSON line bench ends with.
std::string json_line(const std::string& out) {
  const std::size_t start = out.rfind("\n{\"url\"");
  if (start == std::string::npos) return out.rfind("{\"url\"", 0) == 0 ? out : "";
  return out.substr(start + 1);
}

// A number (or null → nullopt) from the flat part of bench's JSON line.
std::optional<double> json_number(const std::string& json, const std::string& field) {
  const std::string key = "\"" + field + "\":";
  const std::size_t at = json.find(key);
  if (at == std::string::npos) return std::nullopt;
  const std::string rest = json.substr(at + key.size());
  if (rest.rfind("null", 0) == 0) return std::nullopt;
  return std::stod(rest);
}

TEST(IngestctlSend, GithubDropboxChargifyLandWithTheFilesExactBytes) {
  IngestdProcess ingestd;
  TempDir dir;
  // Non-ASCII text and a trailing newline: the record must be the file, byte for byte.
  const std::string github =
      "{\"ref\":\"refs/heads/main\",\"repository\":{\"full_name\":\"octo/caf\xc3\xa9\"}}\n";
  const std::string dropbox =
      R"({"list_folder":{"accounts":["dbid:AAH4f99T0taONIb"]},"delta":{"users":[1]}})";
  const std::string chargify =
      "id=5550001&event=signup_success&payload%5Bsubscription%5D%5Bid%5D=77"
      "&payload[subscription][customer][email]=ann%40example.com";

  auto gh = run_process({kIngestctl, "send", "github", "--file", write_file(dir, "gh.json", github),
                         "--event", "push", "--event-id", "send-delivery-1"},
                        ctl_env(ingestd));
  EXPECT_EQ(gh.exit_code, 0) << gh.out << gh.err;
  EXPECT_NE(gh.out.find("HTTP/1.1 200"), std::string::npos) << gh.out;
  EXPECT_NE(gh.out.find(R"({"event_id":"send-delivery-1"})"), std::string::npos) << gh.out;

  auto db =
      run_process({kIngestctl, "send", "dropbox", "--file", write_file(dir, "db.json", dropbox)},
                  ctl_env(ingestd));
  EXPECT_EQ(db.exit_code, 0) << db.out << db.err;
  const std::string dropbox_id = codec::hex_encode(crypto::sha256(dropbox));
  EXPECT_NE(db.out.find(dropbox_id), std::string::npos) << db.out;

  auto ch =
      run_process({kIngestctl, "send", "chargify", "--file", write_file(dir, "ch.txt", chargify)},
                  ctl_env(ingestd));
  EXPECT_EQ(ch.exit_code, 0) << ch.out << ch.err;
  EXPECT_NE(ch.out.find(R"({"event_id":"5550001"})"), std::string::npos) << ch.out;

  auto gh_records = read_topic(ingestd.topic("github"), 1);
  ASSERT_EQ(gh_records.size(), 1u);
  EXPECT_EQ(gh_records[0].value, github);
  EXPECT_EQ(gh_records[0].key, "octo/caf\xc3\xa9");
  auto h = headers_of(gh_records[0]);
  EXPECT_EQ(h["event-id"], "send-delivery-1");
  EXPECT_EQ(h["event-type"], "push");
  EXPECT_EQ(h["content-type"], "application/json");

  auto db_records = read_topic(ingestd.topic("dropbox"), 1);
  ASSERT_EQ(db_records.size(), 1u);
  EXPECT_EQ(db_records[0].value, dropbox);
  EXPECT_EQ(headers_of(db_records[0])["event-id"], dropbox_id);

  auto ch_records = read_topic(ingestd.topic("chargify"), 1);
  ASSERT_EQ(ch_records.size(), 1u);
  EXPECT_EQ(ch_records[0].value, chargify);
  EXPECT_EQ(ch_records[0].key, "77");
  h = headers_of(ch_records[0]);
  EXPECT_EQ(h["event-type"], "signup_success");
  EXPECT_EQ(h["content-type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(h["http-x-chargify-webhook-id"], "5550001");
}

TEST(IngestctlSend, WrongSecretIsRefusedWith401AndPublishesNothing) {
  IngestdProcess ingestd;
  TempDir dir;
  const std::string body = R"({"repository":{"full_name":"o/r"}})";
  auto r = run_process({kIngestctl, "send", "github", "--file", write_file(dir, "b.json", body)},
                       ctl_env(ingestd, {{"GITHUB_WEBHOOK_SECRET", "not-the-right-secret"}}));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("401"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("invalid signature"), std::string::npos) << r.out;
  EXPECT_EQ(record_count(ingestd.topic("github")), 0);
}

TEST(IngestctlSend, UnknownOrDisabledSourceIsAUsageError) {
  IngestdProcess ingestd;
  TempDir dir;
  const std::string file = write_file(dir, "b.json", "{}");
  auto unknown = run_process({kIngestctl, "send", "nosuch", "--file", file}, ctl_env(ingestd));
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out << unknown.err;
  EXPECT_NE(unknown.err.find("unknown source 'nosuch'"), std::string::npos) << unknown.err;

  auto disabled = run_process({kIngestctl, "send", "dropbox", "--file", file},
                              ctl_env(ingestd, {{"DROPBOX_APP_SECRET", ""}}));
  EXPECT_EQ(disabled.exit_code, 2) << disabled.out << disabled.err;
  EXPECT_NE(disabled.err.find("disabled"), std::string::npos) << disabled.err;

  auto no_file =
      run_process({kIngestctl, "send", "github", "--file", dir.path() + "/none"}, ctl_env(ingestd));
  EXPECT_EQ(no_file.exit_code, 2) << no_file.err;
}

TEST(IngestctlBench, ShortClosedLoopFindsEveryAcknowledgedEventInKafka) {
  IngestdProcess ingestd;
  auto r = run_process({kIngestctl, "bench", "--source", "github", "--concurrency", "8",
                        "--duration", "2s", "--body-bytes", "2048"},
                       ctl_env(ingestd), 120s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string json = json_line(r.out);
  ASSERT_FALSE(json.empty()) << r.out;
  EXPECT_EQ(json_number(json, "missing"), 0.0) << json;
  EXPECT_GT(json_number(json, "rps").value_or(0), 0.0) << json;
  EXPECT_GT(json_number(json, "mb_per_s").value_or(0), 0.0) << json;
  const double acknowledged = json_number(json, "acknowledged").value_or(0);
  EXPECT_GT(acknowledged, 0.0) << json;
  EXPECT_NE(r.out.find("missing 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p99.9"), std::string::npos) << r.out;

  // What the check counted is what the topic holds: 2048-byte signed bodies, distinct ids.
  auto records = read_topic(ingestd.topic("github"), static_cast<std::size_t>(acknowledged));
  ASSERT_GE(records.size(), static_cast<std::size_t>(acknowledged));
  std::set<std::string> ids;
  for (const auto& rec : records) {
    EXPECT_EQ(rec.value.size(), 2048u);
    ids.insert(headers_of(rec)["event-id"]);
  }
  // Every record a distinct id (a request cut off at the end may be published unanswered, so
  // the topic can hold more than the acknowledged ones, but never an id twice).
  EXPECT_EQ(ids.size(), records.size()) << "event ids are unique";
}

TEST(IngestctlBench, DropboxChargifyAndOpenLoop) {
  IngestdProcess ingestd;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--source", "dropbox", "--concurrency", "4"},
        std::vector<std::string>{"--source", "chargify", "--concurrency", "4"},
        std::vector<std::string>{"--source", "github", "--rate", "200", "--concurrency", "4"}}) {
    SCOPED_TRACE(args[1] + " " + args[2]);
    std::vector<std::string> argv = {kIngestctl, "bench",        "--duration",
                                     "1s",       "--body-bytes", "512"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_process(argv, ctl_env(ingestd), 120s);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string json = json_line(r.out);
    EXPECT_EQ(json_number(json, "missing"), 0.0) << r.out;
    EXPECT_GT(json_number(json, "acknowledged").value_or(0), 0.0) << r.out;
  }
}

TEST(IngestctlBench, AcknowledgedEventsMissingFromTheTopicFailTheRun) {
  // Load goes to an ingestd writing under another prefix; the check reads ours: every
  // acknowledged event is "missing", and the run must say so and fail.
  IngestdProcess ours;
  IngestdProcess elsewhere;
  auto r =
      run_process({kIngestctl, "bench", "--source", "github", "--concurrency", "2", "--duration",
                   "1s", "--body-bytes", "512", "--ack-check-timeout", "2s", "--url",
                   "http://127.0.0.1:" + std::to_string(elsewhere.port()) + "/webhooks/github"},
                  ctl_env(ours), 120s);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string json = json_line(r.out);
  const double acknowledged = json_number(json, "acknowledged").value_or(0);
  EXPECT_GT(acknowledged, 0.0) << r.out;
  EXPECT_EQ(json_number(json, "missing"), acknowledged) << r.out;
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
}

TEST(IngestctlBench, HealthzTargetNeedsNoSourceAndSkipsTheCheck) {
  IngestdProcess ingestd;
  auto r = run_process({kIngestctl, "bench", "--target", "healthz", "--concurrency", "4",
                        "--duration", "1s", "--server-pid",
                        std::to_string(ingestd.process().pid())},
                       ctl_env(ingestd), 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string json = json_line(r.out);
  EXPECT_GT(json_number(json, "rps").value_or(0), 0.0) << r.out;
  EXPECT_EQ(json_number(json, "missing"), std::nullopt) << "no Kafka check for /healthz";
  EXPECT_NE(r.out.find("/healthz"), std::string::npos);
  // ingestd answered every one of those requests: it used CPU for them; no broker pid given.
  EXPECT_GT(json_number(json, "server_cpu_us_per_req").value_or(0), 0.0) << json;
  EXPECT_EQ(json_number(json, "broker_cpu_us_per_req"), std::nullopt) << json;
  EXPECT_NE(r.out.find("server cpu"), std::string::npos) << r.out;
}

TEST(IngestctlBench, UsageErrors) {
  IngestdProcess ingestd;
  auto no_source = run_process({kIngestctl, "bench", "--duration", "1s"}, ctl_env(ingestd));
  EXPECT_EQ(no_source.exit_code, 2) << no_source.err;
  auto too_small = run_process({kIngestctl, "bench", "--source", "github", "--body-bytes", "10"},
                               ctl_env(ingestd));
  EXPECT_EQ(too_small.exit_code, 2) << too_small.err;
  EXPECT_NE(too_small.err.find("too small"), std::string::npos) << too_small.err;
  auto no_process = run_process(
      {kIngestctl, "bench", "--target", "healthz", "--broker-pid", "999999999"}, ctl_env(ingestd));
  EXPECT_EQ(no_process.exit_code, 2) << no_process.err;
  EXPECT_NE(no_process.err.find("--broker-pid: no process 999999999"), std::string::npos)
      << no_process.err;
  auto help = run_process({kIngestctl, "bench", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("healthz"), std::string::npos);
}

}  // namespace
}  // namespace wi::testing
