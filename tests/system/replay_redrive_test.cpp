// `ingestctl replay` and `ingestctl redrive` (SPEC §6) as real processes, with real test-worker
// processes consuming what they move or republish, against the real broker.
#include <gtest/gtest.h>
#include <signal.h>

#include "common/clock.h"
#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_consumer.h"
#include "tests/system/test_worker_fixture.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

const std::string kIngestctl = INGESTCTL_PATH;

ProcessResult ingestctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kIngestctl};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {{"KAFKA_BROKERS", test_brokers()}}, 120s);
}

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

std::map<int, std::int64_t> end_offsets(const std::string& topic) {
  kafka::ConsumerOptions options;
  options.client = test_client("wi-test-ends");
  auto consumer = kafka::RdKafkaConsumer::create(options);
  EXPECT_TRUE(consumer.ok());
  auto ends = (*consumer)->end_offsets(topic, 10s);
  EXPECT_TRUE(ends.ok()) << ends.error().message;
  std::map<int, std::int64_t> out;
  for (const auto& e : *ends) out[e.partition] = e.offset;
  return out;
}

// Publishes one record per key (value "v-<key>", header event-id "e-<key>") and returns where
// each landed, by key.
std::map<std::string, kafka::Delivery> publish(kafka::Publisher& publisher,
                                               const std::string& topic,
                                               const std::vector<std::string>& keys) {
  std::map<std::string, kafka::Delivery> out;
  for (const auto& key : keys) {
    auto d = kafka::publish_and_wait(publisher,
                                     {topic, key, {{"event-id", "e-" + key}}, "v-" + key}, 30s);
    EXPECT_TRUE(d.ok()) << d.error().message;
    if (d) out[key] = *d;
  }
  return out;
}

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

std::map<std::string, std::string> headers_of(const kafka::ConsumedRecord& r) {
  std::map<std::string, std::string> h;
  for (const auto& x : r.headers) h[x.name] = x.value;
  return h;
}

void stop(TestWorker& worker) {
  worker.process().signal(SIGTERM);
  EXPECT_EQ(worker.process().wait(10s), 0) << worker.log();
}

// Waits until `group` is empty (a stopped worker has left it).
bool group_empty(const std::string& group) {
  auto admin = kafka::RdKafkaAdmin::create(test_client("wi-test-group"));
  if (!admin) return false;
  return eventually(
      [&] {
        auto d = (*admin)->describe_group(group, 10s);
        return d && d->inactive();
      },
      30s);
}

TEST(ReplayRedrive, ReplayFromTimeMovesTheGroupBackToTheSecondWindowOnly) {
  constexpr int kPartitions = 3;
  auto topic = create_test_topic("replay-time", kPartitions);
  create_topics({topic + ".dlq"});
  auto group = unique_name("g");
  TempDir dir;
  auto publisher = test_publisher();

  publish(*publisher, topic, numbered("w1-", 10));
  // The deliberate gap between the two windows; the replay time sits in its middle.
  std::this_thread::sleep_for(750ms);
  const std::string between = format_rfc3339_ms(std::chrono::system_clock::now());
  std::this_thread::sleep_for(750ms);
  auto second = publish(*publisher, topic, numbered("w2-", 10));

  auto out1 = dir.path() + "/first-run";
  {
    TestWorker worker(topic, group, out1);
    ASSERT_TRUE(eventually([&] { return read_handled(out1).size() >= 20; })) << worker.log();
    ASSERT_TRUE(eventually([&] {
      return committed_offsets(group, topic, kPartitions) == end_offsets(topic);
    })) << "the worker did not commit everything it handled";
    stop(worker);
  }
  ASSERT_TRUE(group_empty(group));
  const auto before = committed_offsets(group, topic, kPartitions);

  // Where the group must land: each partition's first second-window record, else its end.
  std::map<int, std::int64_t> expected = end_offsets(topic);
  for (const auto& [key, d] : second) {
    expected[d.partition] = std::min(expected[d.partition], d.offset);
  }

  auto dry = ingestctl(
      {"replay", "--group", group, "--topic", topic, "--from-time", between, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << describe(dry);
  for (int p = 0; p < kPartitions; ++p) {
    auto line = "partition " + std::to_string(p) + ": " + std::to_string(before.at(p)) + " → " +
                std::to_string(expected[p]);
    EXPECT_NE(dry.out.find(line), std::string::npos) << line << "\n" << describe(dry);
  }
  EXPECT_EQ(committed_offsets(group, topic, kPartitions), before) << "a dry run changed offsets";

  auto real = ingestctl({"replay", "--group", group, "--topic", topic, "--from-time", between});
  ASSERT_EQ(real.exit_code, 0) << describe(real);
  EXPECT_EQ(committed_offsets(group, topic, kPartitions), expected) << describe(real);

  // Restarted, the worker handles the second window again, and only that.
  auto out2 = dir.path() + "/second-run";
  TestWorker again(topic, group, out2);
  ASSERT_TRUE(eventually([&] {
    return read_handled(out2).size() >= 10 &&
           committed_offsets(group, topic, kPartitions) == end_offsets(topic);
  })) << again.log();
  stop(again);
  std::multiset<std::string> keys;
  for (const auto& h : read_handled(out2)) keys.insert(h.key);
  auto want = numbered("w2-", 10);
  EXPECT_EQ(keys, std::multiset<std::string>(want.begin(), want.end()));
}

TEST(ReplayRedrive, ReplayRefusesWhileTheGroupHasAnActiveMemberAndNamesIt) {
  auto topic = create_test_topic("replay-active", 2);
  create_topics({topic + ".dlq"});
  auto group = unique_name("g");
  TempDir dir;
  auto out = dir.path() + "/handled";
  auto publisher = test_publisher();
  publish(*publisher, topic, {"a"});
  TestWorker worker(topic, group, out);
  ASSERT_TRUE(eventually([&] { return read_handled(out).size() >= 1; })) << worker.log();

  auto admin = kafka::RdKafkaAdmin::create(test_client("wi-test-group"));
  ASSERT_TRUE(admin.ok());
  kafka::GroupDescription described;
  ASSERT_TRUE(eventually([&] {
    auto d = (*admin)->describe_group(group, 10s);
    if (!d) return false;
    described = *d;
    return d->state == "Stable" && d->members.size() == 1;
  })) << worker.log();
  const auto before = committed_offsets(group, topic, 2);

  for (bool dry : {false, true}) {
    std::vector<std::string> args = {"replay", "--group",     group, "--topic",
                                     topic,    "--from-time", "-1h"};
    if (dry) args.push_back("--dry-run");
    auto r = ingestctl(args);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_NE(r.err.find(described.members[0].member_id), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("client test-worker"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("host " + described.members[0].host), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("stop its workers"), std::string::npos) << describe(r);
  }
  EXPECT_EQ(committed_offsets(group, topic, 2), before);
  stop(worker);
}

TEST(ReplayRedrive, ReplayEventIdRepublishesTheMatchingRecordAndTheWorkerHandlesItAgain) {
  auto topic = create_test_topic("replay-event", 2);
  create_topics({topic + ".dlq"});
  auto group = unique_name("g");
  TempDir dir;
  auto out = dir.path() + "/handled";
  auto publisher = test_publisher();
  auto placed = publish(*publisher, topic, {"a", "b", "c"});
  TestWorker worker(topic, group, out);
  ASSERT_TRUE(eventually([&] { return read_handled(out).size() >= 3; })) << worker.log();

  auto r = ingestctl({"replay", "--topic", topic, "--event-id", "e-b"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const std::string origin = topic + "/" + std::to_string(placed["b"].partition) + "/" +
                             std::to_string(placed["b"].offset);
  EXPECT_NE(r.out.find("republished " + origin), std::string::npos) << describe(r);

  auto records = read_topic(topic, 4);
  ASSERT_EQ(records.size(), 4u);
  std::vector<kafka::ConsumedRecord> copies;
  for (const auto& rec : records) {
    if (headers_of(rec).count("replayed-from")) copies.push_back(rec);
  }
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].key, "b");
  EXPECT_EQ(copies[0].value, "v-b");
  EXPECT_EQ(headers_of(copies[0])["event-id"], "e-b");
  EXPECT_EQ(headers_of(copies[0])["replayed-from"], origin);

  ASSERT_TRUE(eventually([&] {
    int b = 0;
    for (const auto& h : read_handled(out)) b += h.key == "b";
    return b == 2;
  })) << "the worker did not handle the replayed record\n"
      << worker.log();

  // A second replay copies the original again, not the first copy as well.
  auto again = ingestctl({"replay", "--topic", topic, "--event-id", "e-b"});
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_NE(again.out.find("skipped "), std::string::npos) << describe(again);
  EXPECT_EQ(record_count(topic), 5);

  auto none = ingestctl({"replay", "--topic", topic, "--event-id", "e-nope"});
  EXPECT_EQ(none.exit_code, 1) << describe(none);
  EXPECT_NE(none.err.find("e-nope"), std::string::npos) << describe(none);
  EXPECT_EQ(record_count(topic), 5);
  stop(worker);
}

TEST(ReplayRedrive, RedriveReturnsADeadLetterToItsTopicOnceWithARedriveCount) {
  auto topic = create_test_topic("redrive", 1);
  auto dlq = topic + ".dlq";
  create_topics({dlq}, 1);
  auto group = unique_name("g");
  TempDir dir;
  auto out = dir.path() + "/handled";
  auto publisher = test_publisher();
  publish(*publisher, topic, {"fail", "ok-1"});
  {
    TestWorker worker(topic, group, out);
    ASSERT_TRUE(eventually([&] { return read_handled(out).size() >= 1 && record_count(dlq) == 1; }))
        << worker.log();
    stop(worker);
  }

  auto dry = ingestctl({"redrive", dlq, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << describe(dry);
  EXPECT_NE(
      dry.out.find("would redrive " + dlq + "/0/0 → " + topic + " event_id=e-fail redrive-count=1"),
      std::string::npos)
      << describe(dry);
  EXPECT_EQ(record_count(topic), 2) << "a dry run published";

  auto other = ingestctl({"redrive", dlq, "--event-id", "e-other"});
  ASSERT_EQ(other.exit_code, 0) << describe(other);
  EXPECT_NE(other.out.find("nothing to redrive"), std::string::npos) << describe(other);
  EXPECT_EQ(record_count(topic), 2);

  auto first = ingestctl({"redrive", dlq, "--event-id", "e-fail"});
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_NE(
      first.out.find("redriven " + dlq + "/0/0 → " + topic + " event_id=e-fail redrive-count=1"),
      std::string::npos)
      << describe(first);
  auto records = read_topic(topic, 3);
  ASSERT_EQ(records.size(), 3u);
  const auto& back = records[2];
  EXPECT_EQ(back.key, "fail");
  EXPECT_EQ(back.value, "v-fail");
  auto h = headers_of(back);
  EXPECT_EQ(h["event-id"], "e-fail");
  EXPECT_EQ(h["redrive-count"], "1");
  for (const auto& [name, value] : h) {
    EXPECT_NE(name.rfind("dlq-", 0), 0u) << "dead-letter header kept: " << name;
  }

  auto second = ingestctl({"redrive", dlq, "--event-id", "e-fail"});
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_NE(second.out.find("nothing to redrive"), std::string::npos) << describe(second);
  EXPECT_EQ(record_count(topic), 3) << "the second redrive sent the dead letter again";

  // The worker fails it again: the new dead letter carries redrive-count 1, and the next
  // redrive counts 2. A letter without its origin is reported and passed over.
  {
    TestWorker worker(topic, group, out);
    ASSERT_TRUE(eventually([&] { return record_count(dlq) == 2; })) << worker.log();
    stop(worker);
  }
  auto letters = read_topic(dlq, 2);
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(headers_of(letters[1])["redrive-count"], "1");
  EXPECT_EQ(headers_of(letters[1])["dlq-original-topic"], topic);
  auto stray =
      kafka::publish_and_wait(*publisher, {dlq, "stray", {{"event-id", "e-stray"}}, "x"}, 30s);
  ASSERT_TRUE(stray.ok());

  auto third = ingestctl({"redrive", dlq});
  ASSERT_EQ(third.exit_code, 0) << describe(third);
  EXPECT_NE(
      third.out.find("redriven " + dlq + "/0/1 → " + topic + " event_id=e-fail redrive-count=2"),
      std::string::npos)
      << describe(third);
  EXPECT_NE(third.out.find("skipped " + dlq + "/0/2"), std::string::npos) << describe(third);
  EXPECT_EQ(third.out.find(dlq + "/0/0"), std::string::npos) << "redriven twice\n"
                                                             << describe(third);
  EXPECT_EQ(record_count(topic), 4);

  auto fourth = ingestctl({"redrive", dlq});
  ASSERT_EQ(fourth.exit_code, 0) << describe(fourth);
  EXPECT_NE(fourth.out.find("nothing to redrive"), std::string::npos) << describe(fourth);
  EXPECT_EQ(record_count(topic), 4);
}

TEST(ReplayRedrive, HelpAndUsageErrors) {
  for (const char* cmd : {"replay", "redrive"}) {
    auto help = ingestctl({cmd, "--help"});
    EXPECT_EQ(help.exit_code, 0) << describe(help);
    EXPECT_NE(help.out.find("Exit codes"), std::string::npos) << describe(help);
  }
  EXPECT_EQ(ingestctl({"replay", "--topic", "t"}).exit_code, 2);
  EXPECT_EQ(ingestctl({"replay", "--topic", "t", "--group", "g"}).exit_code, 2);
  EXPECT_EQ(ingestctl({"replay", "--topic", "t", "--event-id", "x", "--group", "g"}).exit_code, 2);
  EXPECT_EQ(
      ingestctl({"replay", "--topic", "t", "--group", "g", "--from-time", "yesterday"}).exit_code,
      2);
  EXPECT_EQ(ingestctl({"redrive", "not-a-dead-letter-topic"}).exit_code, 2);
  EXPECT_EQ(ingestctl({"redrive"}).exit_code, 2);
}

TEST(ReplayRedrive, ReplayRefusesAForwardMoveUnlessAllowSkipIsGiven) {
  constexpr int kPartitions = 2;
  auto topic = create_test_topic("replay-forward", kPartitions);
  auto group = unique_name("g");
  auto publisher = test_publisher();
  publish(*publisher, topic, numbered("k-", 8));
  // The group is at the beginning, nothing handled yet.
  auto start = ingestctl({"replay", "--group", group, "--topic", topic, "--from-time", "-1h"});
  ASSERT_EQ(start.exit_code, 0) << describe(start);
  const std::map<int, std::int64_t> beginning = {{0, 0}, {1, 0}};
  ASSERT_EQ(committed_offsets(group, topic, kPartitions), beginning);
  const auto ends = end_offsets(topic);
  const std::int64_t total = ends.at(0) + ends.at(1);
  ASSERT_EQ(total, 8);
  const std::string later = format_rfc3339_ms(std::chrono::system_clock::now() + 1h);

  auto refused = ingestctl({"replay", "--group", group, "--topic", topic, "--from-time", later});
  EXPECT_EQ(refused.exit_code, 1) << describe(refused);
  EXPECT_NE(refused.err.find("would skip " + std::to_string(total) + " records"),
            std::string::npos)
      << describe(refused);
  EXPECT_NE(refused.err.find("--allow-skip"), std::string::npos) << describe(refused);
  EXPECT_EQ(committed_offsets(group, topic, kPartitions), beginning) << "refused, yet moved";

  auto dry = ingestctl(
      {"replay", "--group", group, "--topic", topic, "--from-time", later, "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << describe(dry);
  EXPECT_NE(dry.out.find("a real run would be refused"), std::string::npos) << describe(dry);
  EXPECT_EQ(committed_offsets(group, topic, kPartitions), beginning);

  auto allowed = ingestctl(
      {"replay", "--group", group, "--topic", topic, "--from-time", later, "--allow-skip"});
  ASSERT_EQ(allowed.exit_code, 0) << describe(allowed);
  EXPECT_EQ(committed_offsets(group, topic, kPartitions), ends);

  // --allow-skip belongs to the --group form only.
  EXPECT_EQ(ingestctl({"replay", "--topic", topic, "--event-id", "e-k-1", "--allow-skip"}).exit_code,
            2);
}

TEST(ReplayRedrive, ReplayForGroupAddressesTheCopyToThatGroupOnly) {
  auto topic = create_test_topic("replay-for-group", 1);
  auto publisher = test_publisher();
  auto d = kafka::publish_and_wait(
      *publisher,
      {topic, "k", {{"event-id", "e-1"}, {"redrive-for-group", "deploy-old"}}, "v"}, 30s);
  ASSERT_TRUE(d.ok()) << d.error().message;

  auto r = ingestctl({"replay", "--topic", topic, "--event-id", "e-1", "--for-group", "deploy-a"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("for-group=deploy-a"), std::string::npos) << describe(r);
  auto everyone = ingestctl({"replay", "--topic", topic, "--event-id", "e-1"});
  ASSERT_EQ(everyone.exit_code, 0) << describe(everyone);

  auto records = read_topic(topic, 3);
  ASSERT_EQ(records.size(), 3u);
  auto addressed = headers_of(records[1]);
  EXPECT_EQ(addressed["replayed-from"], topic + "/0/0");
  EXPECT_EQ(addressed["redrive-for-group"], "deploy-a");
  std::size_t for_group_headers = 0;
  for (const auto& h : records[1].headers) for_group_headers += h.name == "redrive-for-group";
  EXPECT_EQ(for_group_headers, 1u) << "the original's redrive-for-group was kept as well";
  auto unaddressed = headers_of(records[2]);
  EXPECT_EQ(unaddressed["replayed-from"], topic + "/0/0");
  EXPECT_EQ(unaddressed.count("redrive-for-group"), 0u)
      << "without --for-group the copy is for every group";

  EXPECT_EQ(ingestctl({"replay", "--group", "g", "--topic", topic, "--from-time", "-1h",
                       "--for-group", "g"})
                .exit_code,
            2)
      << "--for-group belongs to the --event-id form only";
}

TEST(ReplayRedrive, RedriveAddressesEachDeadLetterToTheGroupThatDeadLetteredIt) {
  auto topic = create_test_topic("redrive-for-group", 1);
  auto dlq = topic + ".dlq";
  create_topics({dlq}, 1);
  auto publisher = test_publisher();
  auto letter = [&](const std::string& id, kafka::Headers extra) {
    kafka::Headers h = {{"event-id", id},
                        {"dlq-reason", "git fetch origin: exit 128"},
                        {"dlq-worker", "deploy"},
                        {"dlq-original-topic", topic},
                        {"dlq-original-partition", "0"},
                        {"dlq-original-offset", "0"}};
    h.insert(h.end(), extra.begin(), extra.end());
    auto d = kafka::publish_and_wait(*publisher, {dlq, "k-" + id, h, "v-" + id}, 30s);
    ASSERT_TRUE(d.ok()) << d.error().message;
  };
  letter("e-a", {{"dlq-group", "deploy-alpha"}});
  // Dead-lettered by alpha while handling a copy that was addressed to beta: alpha's letter.
  letter("e-b", {{"dlq-group", "deploy-alpha"}, {"redrive-for-group", "deploy-beta"}});
  letter("e-old", {});  // from a runtime that wrote no dlq-group: for every group

  auto r = ingestctl({"redrive", dlq});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("event_id=e-a redrive-count=1 for-group=deploy-alpha"), std::string::npos)
      << describe(r);
  EXPECT_NE(r.out.find("event_id=e-old redrive-count=1 for-group=all"), std::string::npos)
      << describe(r);

  auto records = read_topic(topic, 3);
  ASSERT_EQ(records.size(), 3u);
  std::map<std::string, std::vector<std::string>> for_group;  // event id → header values
  for (const auto& rec : records) {
    auto h = headers_of(rec);
    for (const auto& x : rec.headers) {
      if (x.name == "redrive-for-group") for_group[h["event-id"]].push_back(x.value);
    }
  }
  EXPECT_EQ(for_group["e-a"], std::vector<std::string>{"deploy-alpha"});
  EXPECT_EQ(for_group["e-b"], std::vector<std::string>{"deploy-alpha"});
  EXPECT_TRUE(for_group["e-old"].empty());
}

}  // namespace
}  // namespace wi::testing
