// ingestd's durable spool (SPEC §3 "Acknowledgement") as a real process against a private
// broker that the tests stop and start: acknowledged while Kafka is away, nothing lost across
// outages, kill -9 and damaged files, 503 when full, and zero failures under bench load.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/system/spool_support.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;
using namespace spool_support;

const std::string kIngestctl = INGESTCTL_PATH;

std::set<std::string> keys_of(const std::map<std::string, std::string>& m) {
  std::set<std::string> out;
  for (const auto& [k, v] : m) out.insert(k);
  return out;
}

// Every acknowledged id is in Kafka with the exact body and its event-id header.
void expect_all_landed(const TopicReader& reader, const std::map<std::string, std::string>& acked) {
  for (const auto& [id, body] : acked) {
    auto it = reader.by_id().find(id);
    if (it == reader.by_id().end()) {
      ADD_FAILURE() << "acknowledged " << id << " is not in Kafka";
      continue;
    }
    for (auto index : it->second) {
      const auto& r = reader.records()[index];
      EXPECT_TRUE(r.value == body) << id << ": the body changed on the way";
      EXPECT_EQ(header(r, "event-id"), id);
    }
  }
}

TEST(SpoolSystem, BrokerStoppedThousandRequestsAcknowledgedThenAllLandInOrder) {
  PrivateKafka kafka;
  TempDir dir;
  auto ingestd = start_spooling_ingestd(kafka, dir.path() + "/spool");
  // Kafka is up: straight through.
  const std::string before_body = github_body("octo/before", "before-1", 200);
  auto before = ingestd->post_github(before_body, "before-1");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200) << before->body;
  {
    TopicReader early(kafka.brokers(), kafka.topic());
    ASSERT_TRUE(early.read_ids({"before-1"}, 30s));
  }
  ASSERT_TRUE(eventually([&] { return metric(ingestd->port(), "ingest_spool_records") == 0.0; }, 10s));

  kafka.broker().stop();
  // Ten keys, one sender each: the 100 records of a key are sent one after the other, so
  // their order is defined, and the ten senders share fsyncs.
  constexpr int kKeys = 10, kPerKey = 100;
  std::map<std::string, std::string> sent;  // id → body
  std::vector<std::vector<std::string>> order(kKeys);
  std::vector<std::string> failures(kKeys);
  for (int k = 0; k < kKeys; ++k) {
    for (int i = 0; i < kPerKey; ++i) {
      const std::string id = "k" + std::to_string(k) + "-" + std::to_string(i);
      order[k].push_back(id);
      sent[id] = github_body("octo/key" + std::to_string(k), id, 300 + 37 * i);
    }
  }
  auto started = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> threads;
    for (int k = 0; k < kKeys; ++k) {
      threads.emplace_back([&, k] {
        for (const auto& id : order[k]) {
          try {
            auto r = ingestd->post_github(sent.at(id), id);
            if (!r || r->status != 200 || r->body != R"({"event_id":")" + id + "\"}") {
              failures[k] = id + ": " + (r ? std::to_string(r->status) + " " + r->body : "no answer");
              return;
            }
          } catch (const std::exception& e) {
            failures[k] = id + ": " + e.what();
            return;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  for (const auto& f : failures) ASSERT_TRUE(f.empty()) << f;
  std::cout << "1000 requests acknowledged with the broker down in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s\n";
  // All of them are in the spool, none in Kafka (it is down).
  EXPECT_EQ(metric(ingestd->port(), "ingest_spool_records"), double(kKeys * kPerKey)) << ingestd->log();
  EXPECT_GT(metric(ingestd->port(), "ingest_spool_bytes").value_or(0), kKeys * kPerKey * 300.0);
  EXPECT_NE(ingestd->log().find("spooling started"), std::string::npos) << ingestd->log();

  kafka.broker().start();
  TopicReader reader(kafka.brokers(), kafka.topic());
  auto want = keys_of(sent);
  want.insert("before-1");
  ASSERT_TRUE(reader.read_ids(want, 90s))
      << reader.missing(want).size() << " acknowledged ids missing, e.g. " << *reader.missing(want).begin();
  sent["before-1"] = before_body;
  expect_all_landed(reader, sent);

  // Per key: one partition, and the first appearance of each record in the order sent.
  for (int k = 0; k < kKeys; ++k) {
    std::set<int> partitions;
    std::vector<std::pair<std::int64_t, std::string>> by_offset;
    std::set<std::string> seen;
    for (const auto& r : reader.records()) {
      if (r.key != "octo/key" + std::to_string(k)) continue;
      partitions.insert(r.partition);
      by_offset.push_back({r.offset, header(r, "event-id")});
    }
    std::sort(by_offset.begin(), by_offset.end());
    std::vector<std::string> first_seen;
    for (const auto& [offset, id] : by_offset) {
      if (seen.insert(id).second) first_seen.push_back(id);
    }
    EXPECT_EQ(partitions.size(), 1u) << "key " << k;
    EXPECT_EQ(first_seen, order[k]) << "key " << k << " out of order";
  }

  // Drained: the spool is empty on disk and in the metrics, and ingestd is back to direct.
  ASSERT_TRUE(eventually([&] { return metric(ingestd->port(), "ingest_spool_records") == 0.0; }, 30s));
  EXPECT_TRUE(eventually([&] { return metric(ingestd->port(), "ingest_spool_bytes") == 0.0; }, 10s));
  EXPECT_GE(metric(ingestd->port(), "ingest_spool_drained_total").value_or(0), double(kKeys * kPerKey));
  EXPECT_EQ(metric(ingestd->port(), "ingest_spool_oldest_age_seconds"), 0.0);
  EXPECT_TRUE(eventually([&] { return ingestd->log().find("spooling stopped") != std::string::npos; }, 10s))
      << ingestd->log();
  std::uintmax_t on_disk = 0;
  for (const auto& f : segment_files(dir.path() + "/spool")) on_disk += std::filesystem::file_size(f);
  EXPECT_EQ(on_disk, 0u);
  const std::string after_body = github_body("octo/after", "after-1", 200);
  auto after = ingestd->post_github(after_body, "after-1");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_TRUE(reader.read_ids({"after-1"}, 30s));
}

TEST(SpoolSystem, KillDashNineWhileSpoolingAndWhileDrainingLosesNothingAcknowledged) {
  PrivateKafka kafka;
  TempDir dir;
  const std::string spool_dir = dir.path() + "/spool";
  kafka.broker().stop();
  std::map<std::string, std::string> acked;

  // 1. Spooling under load, then kill -9 with requests in flight.
  {
    auto ingestd = start_spooling_ingestd(kafka, spool_dir);
    Senders senders(*ingestd, "spooling", 6, 4096, 400);
    ASSERT_TRUE(eventually([&] { return senders.acknowledged_count() >= 600; }, 60s))
        << senders.acknowledged_count() << " acknowledged; log:\n" << ingestd->log();
    kill_hard(*ingestd);
    senders.stop();
    EXPECT_EQ(senders.refused(), 0);
    acked = senders.acknowledged();
  }
  // 2. Restart on the same spool: everything acknowledged is there again. Kafka returns;
  //    kill -9 while the drainer is republishing and new records are still arriving.
  {
    auto ingestd = start_spooling_ingestd(kafka, spool_dir);
    EXPECT_GE(metric(ingestd->port(), "ingest_spool_records").value_or(0), double(acked.size()));
    EXPECT_NE(ingestd->log().find("spool holds records from before the restart"), std::string::npos);
    kafka.broker().start();
    Senders senders(*ingestd, "draining", 2, 4096, 300);
    bool mid_drain = eventually(
        [&] {
          return metric(ingestd->port(), "ingest_spool_drained_total").value_or(0) > 0 &&
                 metric(ingestd->port(), "ingest_spool_records").value_or(0) > 0;
        },
        60s, 5ms);
    kill_hard(*ingestd);
    senders.stop();
    ASSERT_TRUE(mid_drain) << "the drain never started; log:\n" << ingestd->log();
    EXPECT_EQ(senders.refused(), 0);
    for (auto& [id, body] : senders.acknowledged()) acked[id] = body;
  }
  // 3. Restart once more: it drains what is left.
  auto ingestd = start_spooling_ingestd(kafka, spool_dir);
  TopicReader reader(kafka.brokers(), kafka.topic());
  const auto want = keys_of(acked);
  ASSERT_TRUE(reader.read_ids(want, 90s))
      << reader.missing(want).size() << " of " << want.size() << " acknowledged ids missing";
  expect_all_landed(reader, acked);
  EXPECT_TRUE(eventually([&] { return metric(ingestd->port(), "ingest_spool_records") == 0.0; }, 30s));
  std::cout << acked.size() << " acknowledged across two kill -9s; " << reader.records().size()
            << " records read (duplicates allowed)\n";
}

TEST(SpoolSystem, DamagedSpoolFilesPublishEveryIntactRecordAndNeverTheDamage) {
  PrivateKafka kafka;
  TempDir dir;
  const std::string spool_dir = dir.path() + "/spool";
  kafka.broker().stop();
  // Two segments of 15 records each: one written by a first ingestd, one by a second that
  // recovered the first (a restart always starts a new segment). Both are killed.
  std::map<std::string, std::string> acked;
  std::vector<std::string> order;
  for (int run = 0; run < 2; ++run) {
    auto ingestd = start_spooling_ingestd(kafka, spool_dir);
    for (int i = 0; i < 15; ++i) {
      char id[32];
      std::snprintf(id, sizeof id, "dmg-%d-%02d", run, i);
      const std::string body = github_body("octo/dmg", id, 400 + 10 * i);
      auto r = ingestd->post_github(body, id);
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      acked[id] = body;
      order.push_back(id);
    }
    kill_hard(*ingestd);
  }
  auto files = segment_files(spool_dir);
  ASSERT_EQ(files.size(), 2u);

  // Damage copies: a flipped byte in the middle record of the first, the last record of the
  // second cut in half (a torn write).
  const std::string damaged_dir = dir.path() + "/damaged";
  std::filesystem::copy(spool_dir, damaged_dir);
  auto copies = segment_files(damaged_dir);
  ASSERT_EQ(copies.size(), 2u);
  auto id_in = [&](const std::string& bytes) {
    for (const auto& id : order) {
      if (bytes.find("\"id\":\"" + id + "\"") != std::string::npos) return id;
    }
    return std::string();
  };
  std::string first = read_file(copies[0]);
  auto first_frames = frames_in(first);
  ASSERT_EQ(first_frames.size(), 15u);
  const auto middle = first_frames[7];
  const std::string flipped_id = id_in(first.substr(middle.offset, middle.bytes));
  ASSERT_EQ(flipped_id, "dmg-0-07");
  first[middle.offset + middle.bytes / 2] ^= 0x04;
  write_file(copies[0], first);
  std::string second = read_file(copies[1]);
  auto second_frames = frames_in(second);
  ASSERT_EQ(second_frames.size(), 15u);
  const auto last = second_frames.back();
  const std::string torn_id = id_in(second.substr(last.offset, last.bytes));
  ASSERT_EQ(torn_id, "dmg-1-14");
  std::filesystem::resize_file(copies[1], last.offset + last.bytes / 2);

  kafka.broker().start();
  auto ingestd = start_spooling_ingestd(kafka, damaged_dir);
  std::map<std::string, std::string> intact = acked;
  intact.erase(flipped_id);
  intact.erase(torn_id);
  TopicReader reader(kafka.brokers(), kafka.topic());
  ASSERT_TRUE(reader.read_ids(keys_of(intact), 60s))
      << reader.missing(keys_of(intact)).size() << " intact records missing; log:\n" << ingestd->log();
  ASSERT_TRUE(eventually([&] { return metric(ingestd->port(), "ingest_spool_records") == 0.0; }, 30s));
  ASSERT_TRUE(reader.read_to_end(30s));
  expect_all_landed(reader, intact);
  // Nothing else: not the damaged records, not garbage, not twice.
  EXPECT_EQ(reader.records().size(), intact.size());
  EXPECT_EQ(reader.by_id().count(flipped_id), 0u);
  EXPECT_EQ(reader.by_id().count(torn_id), 0u);
  for (const auto& r : reader.records()) {
    auto it = acked.find(header(r, "event-id"));
    ASSERT_NE(it, acked.end()) << "a record nobody sent: " << header(r, "event-id");
    EXPECT_TRUE(r.value == it->second);
  }
  // The damage is reported: one damaged region and one torn tail.
  EXPECT_EQ(metric(ingestd->port(), "ingest_spool_corrupt_total"), 2.0);
  const std::string log = ingestd->log();
  EXPECT_NE(log.find("spool recovery dropped 1 damaged region(s)"), std::string::npos) << log;
  EXPECT_NE(log.find("and a torn tail of " + std::to_string(last.bytes / 2) + " bytes"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("28 record(s) to drain"), std::string::npos) << log;
  // The originals, undamaged, still hold all 30.
  for (const auto& f : files) EXPECT_EQ(frames_in(read_file(f)).size(), 15u);
}

TEST(SpoolSystem, FullSpoolAnswers503WithRetryAfterAndAcknowledgesOnlyWhatIsStored) {
  PrivateKafka kafka;
  TempDir dir;
  const std::string spool_dir = dir.path() + "/spool";
  kafka.broker().stop();
  auto ingestd = start_spooling_ingestd(kafka, spool_dir, {{"INGEST_SPOOL_MAX_BYTES", "1048576"}});
  EXPECT_TRUE(eventually([&] { return readyz(ingestd->port()) == 200; }, 10s))
      << "Kafka is down but the spool has room: ready";
  std::map<std::string, std::string> acked;
  std::set<std::string> refused;
  for (int i = 0; i < 40 && refused.size() < 3; ++i) {
    const std::string id = "full-" + std::to_string(i);
    const std::string body = github_body("octo/full", id, 64 * 1024);
    auto r = ingestd->post_github(body, id);
    ASSERT_TRUE(r);
    if (r->status == 200) {
      ASSERT_TRUE(refused.empty()) << "200 after a 503 for a record of the same size";
      acked[id] = body;
      continue;
    }
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_FALSE(r->header("retry-after").empty());
    EXPECT_NE(r->body.find("\"error\""), std::string::npos);
    refused.insert(id);
  }
  ASSERT_EQ(refused.size(), 3u) << acked.size() << " acknowledged, none refused";
  EXPECT_GE(acked.size(), 12u);
  EXPECT_TRUE(eventually([&] { return readyz(ingestd->port()) == 503; }, 10s))
      << "full and Kafka down: not ready";
  EXPECT_EQ(metric(ingestd->port(), "ingest_spool_records"), double(acked.size()));
  EXPECT_LE(metric(ingestd->port(), "ingest_spool_bytes").value_or(1e12), 1048576.0);
  // What is on disk is exactly what was acknowledged.
  std::string on_disk;
  for (const auto& f : segment_files(spool_dir)) on_disk += read_file(f);
  EXPECT_LE(on_disk.size(), 1048576u);
  EXPECT_EQ(frames_in(on_disk).size(), acked.size());
  for (const auto& [id, body] : acked) EXPECT_NE(on_disk.find(body), std::string::npos) << id;
  for (const auto& id : refused) EXPECT_EQ(on_disk.find("\"id\":\"" + id + "\""), std::string::npos) << id;

  // Kafka returns: the spool drains, readiness and acceptance come back, and only what was
  // acknowledged was published.
  kafka.broker().start();
  TopicReader reader(kafka.brokers(), kafka.topic());
  ASSERT_TRUE(reader.read_ids(keys_of(acked), 60s));
  EXPECT_TRUE(eventually([&] { return readyz(ingestd->port()) == 200; }, 20s));
  ASSERT_TRUE(eventually([&] { return metric(ingestd->port(), "ingest_spool_records") == 0.0; }, 30s));
  auto again = ingestd->post_github(github_body("octo/full", "full-after", 64 * 1024), "full-after");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  ASSERT_TRUE(reader.read_ids({"full-after"}, 30s));
  ASSERT_TRUE(reader.read_to_end(30s));
  expect_all_landed(reader, acked);
  for (const auto& id : refused) EXPECT_EQ(reader.by_id().count(id), 0u) << id << " was answered 503";
}

// The flat JSON object `ingestctl bench` ends with.
std::string bench_json(const std::string& out) {
  auto at = out.rfind("{\"url\"");
  return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
}
std::optional<double> json_number(const std::string& json, const std::string& field) {
  const std::string key = "\"" + field + "\":";
  auto at = json.find(key);
  if (at == std::string::npos || json.compare(at + key.size(), 4, "null") == 0) return std::nullopt;
  return std::stod(json.substr(at + key.size()));
}

// The environment `ingestctl bench` needs to sign for and post to `ingestd` on `kafka`.
std::map<std::string, std::string> bench_env(const PrivateKafka& kafka, const IngestdProcess& ingestd) {
  return {
      {"KAFKA_BROKERS", kafka.brokers()},
      {"TOPIC_PREFIX", kafka.prefix()},
      {"GITHUB_WEBHOOK_SECRET", kGithubSecret},
      {"INGEST_LISTEN", "127.0.0.1:" + std::to_string(ingestd.port())},
      {"INGEST_CONFIG", ""},
  };
}

// The bench's summary says: every request answered 200, none failed, every id found in Kafka.
void expect_all_acknowledged_and_found(const std::string& out) {
  const std::string json = bench_json(out);
  ASSERT_FALSE(json.empty()) << out;
  std::cout << json << "\n";
  const double requests = json_number(json, "requests").value_or(0);
  const double acknowledged = json_number(json, "acknowledged").value_or(0);
  EXPECT_GT(acknowledged, 0) << json;
  EXPECT_EQ(acknowledged, json_number(json, "responses").value_or(-1)) << json;
  EXPECT_EQ(acknowledged, requests) << "every request answered 200: " << json;
  EXPECT_NE(json.find("\"status\":{\"200\":"), std::string::npos) << json;
  EXPECT_EQ(json.find("\"status\":{\"200\":" + std::to_string(static_cast<long long>(acknowledged)) + "}"),
            json.find("\"status\":{"))
      << "no status but 200: " << json;
  EXPECT_EQ(json_number(json, "errors"), 0.0) << json;
  EXPECT_EQ(json_number(json, "timeouts"), 0.0) << json;
  EXPECT_EQ(json_number(json, "missing"), 0.0) << json;
}

TEST(SpoolSystem, BenchLoadThroughAThirtySecondOutageHasNoFailuresAndNothingMissing) {
  PrivateKafka kafka;
  TempDir dir;
  // The default 1 GiB bound holds about 800k of these records: on a quiet machine 30 s of
  // outage at full speed can exceed it, and this test is about surviving the outage, not the
  // bound (FullSpoolAnswers503WithRetryAfterAndAcknowledgesOnlyWhatIsStored tests that).
  auto ingestd = start_spooling_ingestd(kafka, dir.path() + "/spool",
                                        {{"INGEST_SPOOL_MAX_BYTES", std::to_string(8LL << 30)}});
  const auto env = bench_env(kafka, *ingestd);
  BackgroundProcess bench({kIngestctl, "bench", "--source", "github", "--concurrency", "16",
                           "--duration", "50s", "--body-bytes", "1024"},
                          env, dir.path() + "/bench.log");
  const auto bench_started = std::chrono::steady_clock::now();
  auto accepted = [&] {
    return metric(ingestd->port(), "ingest_requests_total{source=\"github\",status=\"200\"}").value_or(0);
  };
  // About 10 s of normal load first.
  ASSERT_TRUE(eventually([&] { return std::chrono::steady_clock::now() - bench_started >= 10s; }, 15s, 100ms));
  const double before_outage = accepted();
  EXPECT_GT(before_outage, 0) << bench.log();

  kafka.broker().stop();
  const auto outage_started = std::chrono::steady_clock::now();
  // Hold the outage for 30 s; meanwhile ingestd keeps answering 200 from the spool.
  double spooled_max = 0;
  EXPECT_TRUE(eventually(
      [&] {
        spooled_max = std::max(spooled_max, metric(ingestd->port(), "ingest_spool_records").value_or(0));
        return std::chrono::steady_clock::now() - outage_started >= 30s;
      },
      35s, 500ms));
  EXPECT_GT(accepted(), before_outage);
  EXPECT_GT(spooled_max, 0) << "the outage was ridden out by the spool";
  kafka.broker().start();

  const int rc = bench.wait(200s);
  const std::string out = bench.log();
  ASSERT_EQ(rc, 0) << out;
  expect_all_acknowledged_and_found(out);
  EXPECT_TRUE(eventually([&] { return metric(ingestd->port(), "ingest_spool_records") == 0.0; }, 60s));
  EXPECT_GT(metric(ingestd->port(), "ingest_spool_drained_total").value_or(0), 0);
}

// The spool-only measurement: bench starts while Kafka is down (so its check cannot read the
// topic's end offsets first), every request is answered from the spool, and once the broker is
// back the check finds every acknowledged id.
TEST(SpoolSystem, BenchStartedWhileKafkaIsDownChecksEveryIdOnceTheBrokerIsBack) {
  PrivateKafka kafka;
  TempDir dir;
  auto ingestd = start_spooling_ingestd(kafka, dir.path() + "/spool");
  kafka.broker().stop();
  const auto env = bench_env(kafka, *ingestd);
  BackgroundProcess bench({kIngestctl, "bench", "--source", "github", "--concurrency", "16",
                           "--duration", "4s", "--body-bytes", "1024", "--ack-check-timeout",
                           "120s"},
                          env, dir.path() + "/bench.log");
  // The load is over once its report is printed; the check is then waiting for the broker.
  ASSERT_TRUE(eventually([&] { return bench.log().find("throughput") != std::string::npos; }, 60s,
                         100ms))
      << bench.log();
  EXPECT_NE(bench.log().find("Kafka is unreachable"), std::string::npos) << bench.log();
  EXPECT_GT(metric(ingestd->port(), "ingest_spool_records").value_or(0), 0)
      << "the requests were answered from the spool";
  EXPECT_TRUE(bench.running()) << bench.log();
  kafka.broker().start();

  const int rc = bench.wait(150s);
  const std::string out = bench.log();
  ASSERT_EQ(rc, 0) << out;
  expect_all_acknowledged_and_found(out);
  EXPECT_TRUE(eventually([&] { return metric(ingestd->port(), "ingest_spool_records") == 0.0; }, 60s));
}

}  // namespace
}  // namespace wi::testing
