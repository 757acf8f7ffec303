// The worker runtime's guarantees (SPEC §5), proved with real test-worker processes against
// the real broker: at-least-once across kill -9, group rebalancing, retries, dead letters,
// state restore.
#include <gtest/gtest.h>
#include <signal.h>

#include "common/kafka/rdkafka_consumer.h"
#include "tests/system/test_worker_fixture.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

std::set<std::pair<int, std::int64_t>> positions(const std::vector<Handled>& handled) {
  std::set<std::pair<int, std::int64_t>> out;
  for (const auto& h : handled) out.insert({h.partition, h.offset});
  return out;
}

TEST(WorkerRuntime, KillNineMidBatchThenRestartHandlesEveryRecordAtLeastOnce) {
  auto topic = create_test_topic("kill9", 3);
  create_topics({topic + ".dlq"});
  auto group = unique_name("g");
  TempDir dir;
  auto out = dir.path() + "/handled";
  auto publisher = test_publisher();
  publish_keys(*publisher, topic, numbered("slow-15-", 150));  // ~2 s of work

  {
    TestWorker worker(topic, group, out);
    ASSERT_TRUE(eventually([&] { return read_handled(out).size() >= 40; }, 60s)) << worker.log();
    worker.process().signal(SIGKILL);
    worker.process().wait(10s);
  }
  auto handled_before = positions(read_handled(out));
  ASSERT_LT(handled_before.size(), 150u) << "killed too late to prove anything";
  // Nothing committed ahead of handling: every offset below a committed one was handled.
  for (const auto& [partition, committed] : committed_offsets(group, topic, 3)) {
    for (std::int64_t o = 0; o < committed; ++o) {
      EXPECT_TRUE(handled_before.count({partition, o}))
          << "offset " << o << " of partition " << partition << " committed but never handled";
    }
  }

  TestWorker again(topic, group, out);
  ASSERT_TRUE(eventually([&] { return positions(read_handled(out)).size() == 150; }, 90s))
      << again.log();
  again.process().signal(SIGTERM);
  EXPECT_EQ(again.process().wait(10s), 0);
  auto all = read_handled(out);
  EXPECT_EQ(positions(all).size(), 150u);
  std::cout << "handled " << all.size() << " times for 150 records (" << all.size() - 150
            << " redeliveries after kill -9)\n";
}

TEST(WorkerRuntime, ASecretTheKindReadsWhileBuildingIsScrubbedFromItsStartupLines) {
  auto topic = create_test_topic("probe", 1);
  TempDir dir;
  const std::string secret = "probe-" + unique_name("secret");
  TestWorker worker(topic, unique_name("g"), dir.path() + "/handled",
                    {{"TEST_WORKER_SECRET", secret}});
  ASSERT_TRUE(
      eventually([&] { return worker.log().find("test-worker up") != std::string::npos; }, 60s))
      << worker.log();
  const std::string log = worker.log();
  EXPECT_EQ(log.find(secret), std::string::npos) << log;
  EXPECT_NE(log.find("secret probe: <redacted>"), std::string::npos) << log;
  worker.process().signal(SIGTERM);
  EXPECT_EQ(worker.process().wait(10s), 0) << worker.log();
}

TEST(WorkerRuntime, TwoProcessesSplitPartitionsAndHandOverOnSigterm) {
  auto topic = create_test_topic("split", 4);
  create_topics({topic + ".dlq"});
  auto group = unique_name("g");
  TempDir dir;
  auto out_a = dir.path() + "/a", out_b = dir.path() + "/b";
  auto publisher = test_publisher();
  TestWorker a(topic, group, out_a);
  TestWorker b(topic, group, out_b);
  ASSERT_TRUE(eventually([&] {
    auto ma = a.metrics(), mb = b.metrics();
    return ma.find("worker_assigned_partitions{worker=\"test\"} 2") != std::string::npos &&
           mb.find("worker_assigned_partitions{worker=\"test\"} 2") != std::string::npos;
  })) << a.log() << b.log();
  publish_keys(*publisher, topic, numbered("k", 40));
  ASSERT_TRUE(eventually([&] {
    return positions(read_handled(out_a)).size() + positions(read_handled(out_b)).size() == 40;
  })) << a.log() << b.log();
  auto pa = positions(read_handled(out_a)), pb = positions(read_handled(out_b));
  EXPECT_FALSE(pa.empty());
  EXPECT_FALSE(pb.empty());
  for (const auto& p : pa) EXPECT_FALSE(pb.count(p)) << "both processes handled one record";

  auto started = std::chrono::steady_clock::now();
  b.process().signal(SIGTERM);
  EXPECT_EQ(b.process().wait(10s), 0) << b.log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  publish_keys(*publisher, topic, numbered("after", 40));
  ASSERT_TRUE(eventually([&] {
    std::set<std::string> keys;
    for (const auto& h : read_handled(out_a)) keys.insert(h.key);
    for (const auto& k : numbered("after", 40)) {
      if (!keys.count(k)) return false;
    }
    return true;
  })) << "the survivor did not take over every partition\n" << a.log();
  a.process().signal(SIGTERM);
  EXPECT_EQ(a.process().wait(10s), 0);
}

TEST(WorkerRuntime, RetriesThenSucceedsAndDeadLettersPermanentFailures) {
  auto topic = create_test_topic("retry", 1);  // one partition: everything queues behind
  auto dlq = topic + ".dlq";
  create_topics({dlq});
  auto group = unique_name("g");
  TempDir dir;
  auto out = dir.path() + "/handled";
  auto publisher = test_publisher();
  publish_keys(*publisher, topic, {"retry-2", "fail", "after-1", "after-2"});
  TestWorker worker(topic, group, out);
  ASSERT_TRUE(eventually([&] { return read_handled(out).size() >= 3; })) << worker.log();

  auto handled = read_handled(out);
  ASSERT_EQ(handled.size(), 3u) << "each record handled once";
  EXPECT_EQ(handled[0].key, "retry-2");
  EXPECT_EQ(handled[0].attempt, 3) << "two retryable failures, then success";
  EXPECT_EQ(handled[1].key, "after-1") << "the poison record did not block the partition";
  EXPECT_EQ(handled[2].key, "after-2");

  auto letters = read_topic(dlq, 1);
  ASSERT_EQ(letters.size(), 1u);
  const auto& letter = letters[0];
  EXPECT_EQ(letter.key, "fail");
  EXPECT_EQ(letter.value, "v-fail");
  std::map<std::string, std::string> h;
  for (const auto& x : letter.headers) h[x.name] = x.value;
  EXPECT_EQ(h["event-id"], "e-fail") << "original headers are kept";
  EXPECT_EQ(h["dlq-reason"], "asked to fail permanently");
  EXPECT_EQ(h["dlq-worker"], "test");
  EXPECT_EQ(h["dlq-attempts"], "1");
  EXPECT_EQ(h["dlq-original-topic"], topic);
  EXPECT_EQ(h["dlq-original-partition"], "0");
  EXPECT_EQ(h["dlq-original-offset"], "1");

  ASSERT_TRUE(eventually([&] { return committed_offsets(group, topic, 1)[0] == 4; }))
      << "everything, the dead letter included, is committed";
  auto m = worker.metrics();
  EXPECT_NE(m.find("worker_records_total{worker=\"test\",outcome=\"retried\"} 2"), std::string::npos) << m;
  EXPECT_NE(m.find("worker_records_total{worker=\"test\",outcome=\"dead_lettered\"} 1"), std::string::npos);
  EXPECT_NE(m.find("worker_records_total{worker=\"test\",outcome=\"processed\"} 3"), std::string::npos);
  EXPECT_NE(m.find("worker_consumer_lag{topic=\"" + topic + "\",partition=\"0\"} 0"), std::string::npos) << m;
  worker.process().signal(SIGTERM);
  EXPECT_EQ(worker.process().wait(10s), 0);
}

TEST(WorkerRuntime, ExhaustedRetriesGoToTheDeadLetterTopic) {
  auto topic = create_test_topic("exhaust", 1);
  create_topics({topic + ".dlq"});
  TempDir dir;
  auto out = dir.path() + "/handled";
  auto publisher = test_publisher();
  publish_keys(*publisher, topic, {"retry-99", "next"});
  TestWorker worker(topic, unique_name("g"), out, {{"WORKER_MAX_ATTEMPTS", "3"}});
  ASSERT_TRUE(eventually([&] { return read_handled(out).size() >= 1; })) << worker.log();
  EXPECT_EQ(read_handled(out)[0].key, "next");
  auto letters = read_topic(topic + ".dlq", 1);
  ASSERT_EQ(letters.size(), 1u);
  std::map<std::string, std::string> h;
  for (const auto& x : letters[0].headers) h[x.name] = x.value;
  EXPECT_EQ(h["dlq-attempts"], "3");
  EXPECT_NE(h["dlq-reason"].find("gave up after 3 attempts"), std::string::npos) << h["dlq-reason"];
}

TEST(WorkerRuntime, StateSurvivesRestartAndRebalance) {
  auto topic = create_test_topic("state", 2);
  auto changelog = create_test_topic("state-changelog", 2, {{"cleanup.policy", "compact"}});
  create_topics({topic + ".dlq"});
  auto group = unique_name("g");
  TempDir dir;
  auto out_a = dir.path() + "/a", out_b = dir.path() + "/b";
  std::map<std::string, std::string> env = {{"TEST_WORKER_STATE_TOPIC", changelog}};
  auto publisher = test_publisher();
  std::vector<std::string> keys = {"count-x", "count-y", "count-z", "count-w"};
  publish_keys(*publisher, topic, keys);
  publish_keys(*publisher, topic, keys);
  {
    TestWorker a(topic, group, out_a, env);
    ASSERT_TRUE(eventually([&] { return read_handled(out_a).size() >= 8; })) << a.log();
    a.process().signal(SIGTERM);
    ASSERT_EQ(a.process().wait(10s), 0);
  }
  // Restart, then a second member joins: whichever process owns a key's partition, it must
  // see the counts written before.
  publish_keys(*publisher, topic, keys);
  TestWorker a(topic, group, out_a, env);
  ASSERT_TRUE(eventually([&] { return read_handled(out_a).size() >= 12; })) << a.log();
  TestWorker b(topic, group, out_b, env);
  ASSERT_TRUE(eventually([&] {
    return b.metrics().find("worker_assigned_partitions{worker=\"test\"} 1") != std::string::npos;
  })) << b.log();
  publish_keys(*publisher, topic, keys);
  ASSERT_TRUE(eventually([&] {
    return read_handled(out_a).size() + read_handled(out_b).size() >= 16;
  })) << a.log() << b.log();
  std::map<std::string, int> highest;
  auto all = read_handled(out_a);
  auto from_b = read_handled(out_b);
  all.insert(all.end(), from_b.begin(), from_b.end());
  for (const auto& h : all) highest[h.key] = std::max(highest[h.key], h.count);
  for (const auto& k : keys) EXPECT_EQ(highest[k], 4) << k << ": a count was lost";
  EXPECT_FALSE(from_b.empty()) << "the second member never handled a record";
  EXPECT_NE(b.log().find("restored"), std::string::npos) << b.log();
}

}  // namespace
}  // namespace wi::testing
