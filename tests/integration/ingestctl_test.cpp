// ingestctl as a real process against the real broker: topics create, tail, exit codes.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/codec.h"
#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_publisher.h"
#include "tests/support/eventually.h"
#include "tests/support/kafka_env.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace wi {
namespace {

using namespace std::chrono_literals;
using testing::run_process;
using testing::test_brokers;

const std::string kIngestctl = INGESTCTL_PATH;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

TEST(Ingestctl, TopicsCreateMakesEveryTopicAndIsANoOpTheSecondTime) {
  auto prefix = testing::unique_name("wh") + ".";
  std::map<std::string, std::string> env = {{"KAFKA_BROKERS", test_brokers()},
                                            {"TOPIC_PREFIX", prefix}};
  auto first = run_process({kIngestctl, "topics", "create"}, env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  for (const char* source : {"dropbox", "chargify", "github"}) {
    EXPECT_NE(first.out.find("created " + prefix + source + " "), std::string::npos) << first.out;
    EXPECT_NE(first.out.find(prefix + source + ".dlq"), std::string::npos) << first.out;
  }
  auto first_lines = lines_of(first.out);
  EXPECT_EQ(first_lines.size(), 12u) << first.out;

  auto second = run_process({kIngestctl, "topics", "create"}, env);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto second_lines = lines_of(second.out);
  ASSERT_EQ(second_lines.size(), 12u) << second.out;
  for (const auto& line : second_lines) {
    EXPECT_EQ(line.rfind("exists  ", 0), 0u) << line;
    EXPECT_EQ(line.find("differs"), std::string::npos) << line;
  }

  auto admin = kafka::RdKafkaAdmin::create(testing::test_client());
  ASSERT_TRUE(admin.ok());
  auto github = (*admin)->describe_topic(prefix + "github", 30s);
  ASSERT_TRUE(github.ok()) << github.error().message;
  EXPECT_EQ(github->partitions, 6);
  EXPECT_EQ(github->config.at("cleanup.policy"), "delete");
  EXPECT_EQ(github->config.at("max.message.bytes"), std::to_string(26214400 + 1048576));
  auto cursors = (*admin)->describe_topic("dropbox.cursors", 30s);
  ASSERT_TRUE(cursors.ok()) << cursors.error().message;
  EXPECT_EQ(cursors->config.at("cleanup.policy"), "compact");
  auto accounts = (*admin)->describe_topic("dropbox.accounts", 30s);
  ASSERT_TRUE(accounts.ok());
  EXPECT_EQ(cursors->partitions, accounts->partitions) << "state topics are co-partitioned";
}

struct TailedRecord {
  std::int64_t partition, offset;
  std::optional<std::string> key;
  std::map<std::string, std::string> headers;
  std::string value;
};

TailedRecord parse_line(const std::string& line) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(line);
  auto doc = parser.iterate(json);
  TailedRecord r;
  r.partition = doc["partition"].get_int64().value();
  r.offset = doc["offset"].get_int64().value();
  auto key = doc["key"];
  if (!key.is_null()) {
    r.key = std::string(key.get_string().value());
    EXPECT_EQ(std::string_view(doc["key_encoding"].get_string().value()), "utf8");
  }
  for (auto field : doc["headers"].get_object()) {
    r.headers[std::string(field.unescaped_key().value())] =
        std::string(field.value().get_string().value());
  }
  std::string value(doc["value"].get_string().value());
  std::string_view encoding = doc["value_encoding"].get_string().value();
  if (encoding == "base64") {
    r.value = codec::base64_decode(value).value();
  } else {
    EXPECT_EQ(encoding, "utf8");
    r.value = value;
  }
  return r;
}

TEST(Ingestctl, TailPrintsExactlyWhatWasPublished) {
  auto topic = testing::create_test_topic("tail", 1);
  auto publisher = testing::test_publisher();
  std::vector<kafka::OutgoingRecord> sent = {
      {topic, "repo/one", {{"event-id", "e1"}, {"source", "github"}}, "{\"a\":\"caf\xc3\xa9\"}"},
      {topic, std::nullopt, {{"event-id", "e2"}}, "line1\nline2\t\"quoted\""},
      {topic, "bin", {{"event-id", "e3"}}, std::string("\x00\xff\xfe\x80", 4)},
      {topic, "empty", {}, ""},
  };
  for (const auto& rec : sent) {
    auto d = kafka::publish_and_wait(*publisher, rec, 30s);
    ASSERT_TRUE(d.ok()) << d.error().message;
  }
  auto res = run_process({kIngestctl, "tail", topic, "--from-beginning", "--count", "4",
                          "--timeout", "30s"},
                         {{"KAFKA_BROKERS", test_brokers()}});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), sent.size()) << res.out;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    auto got = parse_line(lines[i]);
    EXPECT_EQ(got.partition, 0);
    EXPECT_EQ(got.offset, static_cast<std::int64_t>(i));
    EXPECT_EQ(got.key, sent[i].key);
    EXPECT_EQ(got.value, sent[i].value) << "record " << i;
    std::map<std::string, std::string> want_headers;
    for (const auto& h : sent[i].headers) want_headers[h.name] = h.value;
    EXPECT_EQ(got.headers, want_headers);
  }
}

TEST(Ingestctl, CtrlCEndsAFollowingTailWithExit0) {
  // Ctrl-C (or SIGTERM) ends a tail between records, with exit 0 (ctl/interrupt.h); without the
  // handler the signal would kill it (exit 130).
  auto topic = testing::create_test_topic("tailint", 1);
  auto publisher = testing::test_publisher();
  ASSERT_TRUE(kafka::publish_and_wait(*publisher, {topic, std::nullopt, {}, "first"}, 30s).ok());
  testing::TempDir dir;
  testing::BackgroundProcess tail({kIngestctl, "tail", topic, "--from-beginning"},
                                  {{"KAFKA_BROKERS", test_brokers()}}, dir.path() + "/tail.log");
  ASSERT_TRUE(testing::eventually([&] { return tail.log().find("first") != std::string::npos; }, 30s))
      << "tail never printed the record";
  tail.signal(SIGINT);
  EXPECT_EQ(tail.wait(10s), 0) << tail.log();
}

TEST(Ingestctl, TailFromTimeSkipsOlderRecords) {
  auto topic = testing::create_test_topic("tailtime", 2);
  auto publisher = testing::test_publisher();
  // An older record, a deliberate gap with the cut-off time in its middle, a newer record:
  // --from-time shows the newer one and skips the older one, which is really there.
  auto old = kafka::publish_and_wait(*publisher, {topic, "a", {}, "old"}, 30s);
  ASSERT_TRUE(old.ok());
  std::this_thread::sleep_for(750ms);
  const std::string cut = format_rfc3339_ms(std::chrono::system_clock::now());
  std::this_thread::sleep_for(750ms);
  auto fresh = kafka::publish_and_wait(*publisher, {topic, "a", {}, "new"}, 30s);
  ASSERT_TRUE(fresh.ok());
  auto res_none = run_process({kIngestctl, "tail", topic, "--from-time", "+bad", "--count", "1"},
                              {{"KAFKA_BROKERS", test_brokers()}});
  EXPECT_EQ(res_none.exit_code, 2) << "a malformed time is a usage error";
  auto everything = run_process({kIngestctl, "tail", topic, "--from-beginning", "--count", "2",
                                 "--timeout", "20s"},
                                {{"KAFKA_BROKERS", test_brokers()}});
  ASSERT_EQ(everything.exit_code, 0) << everything.err;
  ASSERT_EQ(lines_of(everything.out).size(), 2u) << "both records are in the topic";
  auto res = run_process({kIngestctl, "tail", topic, "--from-time", cut, "--count", "1",
                          "--timeout", "20s"},
                         {{"KAFKA_BROKERS", test_brokers()}});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  ASSERT_EQ(lines_of(res.out).size(), 1u) << res.out;
  EXPECT_EQ(parse_line(lines_of(res.out).at(0)).value, "new");
  // Asking for two from the cut-off cannot be met: the older record is skipped.
  auto two = run_process({kIngestctl, "tail", topic, "--from-time", cut, "--count", "2",
                          "--timeout", "3s"},
                         {{"KAFKA_BROKERS", test_brokers()}});
  EXPECT_EQ(two.exit_code, 1) << two.out;
  EXPECT_NE(two.err.find("only 1 of 2 records"), std::string::npos) << two.err;
  for (const auto& line : lines_of(two.out)) EXPECT_NE(parse_line(line).value, "old");
  // From a future time there is nothing to read: --count cannot be met.
  auto later = run_process({kIngestctl, "tail", topic, "--from-time", "2200-01-01T00:00:00Z",
                            "--count", "1", "--timeout", "2s"},
                           {{"KAFKA_BROKERS", test_brokers()}});
  EXPECT_EQ(later.exit_code, 1);
  EXPECT_NE(later.err.find("only 0 of 1 records"), std::string::npos) << later.err;
}

TEST(Ingestctl, ExitCodesForHelpUsageAndConfiguration) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--help"}, {"topics", "--help"}, {"topics", "create", "--help"},
        {"tail", "--help"}}) {
    args.insert(args.begin(), kIngestctl);
    auto res = run_process(args);
    EXPECT_EQ(res.exit_code, 0) << args.back() << ": " << res.err;
    EXPECT_NE(res.out.find("Usage"), std::string::npos);
  }
  auto unknown = run_process({kIngestctl, "no-such-command"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'no-such-command'"), std::string::npos)
      << unknown.err;
  EXPECT_EQ(run_process({kIngestctl, "tail"}).exit_code, 2);
  // --config is read before or after the command.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{kIngestctl, "--config", "/no/such.yaml", "topics", "create"},
        {kIngestctl, "topics", "create", "--config", "/no/such.yaml"}}) {
    auto res = run_process(args, {{"KAFKA_BROKERS", test_brokers()}});
    EXPECT_EQ(res.exit_code, 2) << res.err;
    EXPECT_NE(res.err.find("config file /no/such.yaml: cannot be read"), std::string::npos)
        << res.err;
  }
  // Every configuration problem at once, exit 2.
  auto bad = run_process({kIngestctl, "topics", "create"},
                         {{"KAFKA_BROKERS", test_brokers()},
                          {"LOG_LEVEL", "verbose"},
                          {"TOPIC_PARTITIONS", "many"}});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("LOG_LEVEL"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("TOPIC_PARTITIONS"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace wi
