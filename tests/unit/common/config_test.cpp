#include "common/config.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace wi::config {
namespace {

namespace fs = std::filesystem;
using Vars = std::map<std::string, std::string>;

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

::testing::AssertionResult Lacks(const std::string& text, const std::string& part) {
  if (text.find(part) == std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' contains '" << part << "'";
}

using wi::testing::TempDir;

Loader yaml(std::string_view text, std::map<std::string, std::string> env = {}) {
  return Loader::from_yaml_text(text, Environment(std::move(env)));
}

// Runs finish() and returns the problems it reported (empty when it did not throw).
std::vector<std::string> problems_of(Loader& loader) {
  try {
    loader.finish();
  } catch (const ConfigError& e) {
    return e.problems();
  }
  return {};
}

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

// ---- Environment ------------------------------------------------------------------------------

TEST(EnvironmentTest, EmptyIsTheSameAsUnset) {
  Environment env(Vars{{"SET", "v"}, {"EMPTY", ""}});
  EXPECT_EQ(env.get("SET"), "v");
  EXPECT_EQ(env.get("EMPTY"), std::nullopt);
  EXPECT_EQ(env.get("MISSING"), std::nullopt);
}

// ---- precedence -------------------------------------------------------------------------------

TEST(ConfigPrecedenceTest, EnvironmentBeatsFile) {
  auto loader = yaml("kafka:\n  brokers: file:9092\ntopics:\n  partitions: 3\n",
                     {{"KAFKA_BROKERS", "env:9092"}, {"TOPIC_PARTITIONS", "12"}});
  EXPECT_EQ(loader.string({"kafka", "brokers"}, "KAFKA_BROKERS", "default:9092"), "env:9092");
  EXPECT_EQ(loader.integer({"topics", "partitions"}, "TOPIC_PARTITIONS", 6, 1, 100), 12);
  // The YAML key was still read, so it is not an unknown key.
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(ConfigPrecedenceTest, FileBeatsDefault) {
  auto loader = yaml("kafka:\n  brokers: file:9092\ntopics:\n  partitions: 3\n");
  EXPECT_EQ(loader.string({"kafka", "brokers"}, "KAFKA_BROKERS", "default:9092"), "file:9092");
  EXPECT_EQ(loader.integer({"topics", "partitions"}, "TOPIC_PARTITIONS", 6, 1, 100), 3);
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(ConfigPrecedenceTest, DefaultWhenNeither) {
  auto loader = yaml("");
  EXPECT_EQ(loader.string({"kafka", "brokers"}, "KAFKA_BROKERS", "default:9092"), "default:9092");
  EXPECT_EQ(loader.integer({"topics", "partitions"}, "TOPIC_PARTITIONS", 6, 1, 100), 6);
  EXPECT_EQ(loader.optional_string({"x"}, "X"), std::nullopt);
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(ConfigPrecedenceTest, EmptyEnvironmentValueFallsBackToFile) {
  auto loader = yaml("kafka:\n  brokers: file:9092\n", {{"KAFKA_BROKERS", ""}});
  EXPECT_EQ(loader.string({"kafka", "brokers"}, "KAFKA_BROKERS", "default:9092"), "file:9092");
}

TEST(ConfigPrecedenceTest, YamlOnlyAndEnvOnlySettings) {
  auto loader = yaml("a: from-yaml\n", {{"ONLY_ENV", "from-env"}, {"a", "not-an-env-name"}});
  EXPECT_EQ(loader.string({"a"}, "", "d"), "from-yaml");
  EXPECT_EQ(loader.string({}, "ONLY_ENV", "d"), "from-env");
  EXPECT_EQ(loader.optional_string({}, "UNSET"), std::nullopt);
}

TEST(ConfigPrecedenceTest, WorksWithARealFile) {
  TempDir dir;
  auto file = dir.write("ingest.yaml", "kafka:\n  brokers: file:9092\nlog:\n  level: warn\n");
  Loader loader(file, Environment(Vars{{"LOG_LEVEL", "error"}}));
  auto common = load_common(loader);
  EXPECT_EQ(common.kafka_brokers, "file:9092");  // file beats default
  EXPECT_EQ(common.log_level, "error");          // env beats file
  EXPECT_EQ(common.log_format, "text");          // default
  EXPECT_TRUE(problems_of(loader).empty());
}

// ---- secrets ----------------------------------------------------------------------------------

TEST(ConfigSecretTest, FromEnvironment) {
  auto loader = yaml("", {{"GITHUB_WEBHOOK_SECRET", "gh-secret-value"}});
  auto s = loader.secret("GITHUB_WEBHOOK_SECRET");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->reveal(), "gh-secret-value");
  ASSERT_EQ(loader.secrets().size(), 1u);
  EXPECT_EQ(loader.secrets()[0].reveal(), "gh-secret-value");
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(ConfigSecretTest, UnsetIsNoSecretAndNoProblem) {
  auto loader = yaml("");
  EXPECT_EQ(loader.secret("DROPBOX_APP_SECRET"), std::nullopt);
  EXPECT_TRUE(loader.secrets().empty());
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(ConfigSecretTest, FromFileStripsTrailingNewline) {
  TempDir dir;
  auto lf = dir.write("lf", "file-secret-1\n");
  auto crlf = dir.write("crlf", "file-secret-2\r\n");
  auto none = dir.write("none", "file-secret-3");
  auto inner = dir.write("inner", "line one\nline two\n");
  auto loader = yaml("", {{"A_FILE", lf}, {"B_FILE", crlf}, {"C_FILE", none}, {"D_FILE", inner}});
  EXPECT_EQ(loader.secret("A")->reveal(), "file-secret-1");
  EXPECT_EQ(loader.secret("B")->reveal(), "file-secret-2");
  EXPECT_EQ(loader.secret("C")->reveal(), "file-secret-3");
  EXPECT_EQ(loader.secret("D")->reveal(), "line one\nline two");  // only the trailing newline
  EXPECT_EQ(loader.secrets().size(), 4u);
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(ConfigSecretTest, TheListenerHearsEverySecretReadAfterItIsSet) {
  TempDir dir;
  auto file = dir.write("b", "file-secret-b\n");
  auto loader = yaml("", {{"A", "env-secret-a"}, {"B_FILE", file}, {"C", "env-secret-c"}});
  loader.secret("C");  // before the listener: in secrets(), not heard
  std::vector<std::string> heard;
  loader.on_secret([&](const Secret& s) { heard.push_back(s.reveal()); });
  loader.secret("A");
  loader.secret("B");
  loader.secret("UNSET");
  loader.add_secret("yaml-secret-d");
  loader.add_secret("");
  EXPECT_EQ(heard, (std::vector<std::string>{"env-secret-a", "file-secret-b", "yaml-secret-d"}));
  EXPECT_EQ(loader.secrets().size(), 4u);
}

TEST(ConfigSecretTest, BothNameAndFileIsAProblemThatDoesNotShowTheSecret) {
  TempDir dir;
  auto file = dir.write("s", "content-from-file\n");
  auto loader = yaml("", {{"SMTP_PASSWORD", "direct-secret-value"}, {"SMTP_PASSWORD_FILE", file}});
  EXPECT_EQ(loader.secret("SMTP_PASSWORD"), std::nullopt);
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "SMTP_PASSWORD "));
  EXPECT_TRUE(Contains(problems[0], "SMTP_PASSWORD_FILE"));
  EXPECT_TRUE(Lacks(problems[0], "direct-secret-value"));
  EXPECT_TRUE(Lacks(problems[0], "content-from-file"));
}

TEST(ConfigSecretTest, MissingFileIsAProblemNamingThePath) {
  TempDir dir;
  auto missing = dir.path("does-not-exist");
  auto loader = yaml("", {{"CHARGIFY_SHARED_KEY_FILE", missing}});
  EXPECT_EQ(loader.secret("CHARGIFY_SHARED_KEY"), std::nullopt);
  EXPECT_TRUE(loader.secrets().empty());
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], missing));
}

TEST(ConfigSecretTest, UnreadableFileIsAProblemNamingThePathNotTheContent) {
  // A directory opens but cannot be read as a file, even as root (chmod 000 would not stop root).
  TempDir dir;
  auto unreadable = dir.path("sub");
  fs::create_directory(unreadable);
  dir.write("sub/secret-inside", "content-that-must-not-leak");
  auto loader = yaml("", {{"DROPBOX_APP_SECRET_FILE", unreadable}});
  EXPECT_EQ(loader.secret("DROPBOX_APP_SECRET"), std::nullopt);
  EXPECT_TRUE(loader.secrets().empty());
  try {
    loader.finish();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1u) << e.what();
    EXPECT_TRUE(Contains(e.problems()[0], unreadable));
    EXPECT_TRUE(Lacks(std::string(e.what()), "content-that-must-not-leak"));
  }
}

TEST(ConfigSecretTest, EmptyFileIsAProblem) {
  TempDir dir;
  auto empty = dir.write("empty", "\n");
  auto loader = yaml("", {{"X_FILE", empty}});
  EXPECT_EQ(loader.secret("X"), std::nullopt);
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], empty));
}

TEST(ConfigSecretTest, SecretFromFileNamedInYaml) {
  TempDir dir;
  auto good = dir.write("good", "rotated-secret\n");
  auto loader = yaml("");
  auto s = loader.secret_from_file({"sources", "github", "secrets", "0"}, good);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->reveal(), "rotated-secret");

  auto missing = dir.path("gone");
  EXPECT_EQ(loader.secret_from_file({"sources", "github", "secrets", "1"}, missing), std::nullopt);
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "sources.github.secrets[1]"));
  EXPECT_TRUE(Contains(problems[0], missing));
  EXPECT_TRUE(Lacks(problems[0], "rotated-secret"));
}

// ---- problems are collected and reported together
// ------------------------------------------------

TEST(ConfigProblemsTest, AllProblemsReportedTogether) {
  auto loader = yaml(
      "topics:\n"
      "  replication: 500\n"
      "ingest:\n"
      "  ack: sometimes\n"
      "kafka:\n"
      "  brokerz: oops\n",
      {{"TOPIC_PARTITIONS", "six"}});
  EXPECT_EQ(loader.integer({"topics", "partitions"}, "TOPIC_PARTITIONS", 6, 1, 10000), 6);
  EXPECT_EQ(loader.integer({"topics", "replication"}, "TOPIC_REPLICATION", 1, 1, 100), 1);
  EXPECT_EQ(loader.choice({"ingest", "ack"}, "INGEST_ACK", "durable", {"durable", "enqueued"}),
            "durable");
  loader.string({"kafka", "brokers"}, "KAFKA_BROKERS", "127.0.0.1:9092");

  try {
    loader.finish();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const auto& p = e.problems();
    ASSERT_EQ(p.size(), 4u) << e.what();
    std::string all = joined(p);
    // Each problem names where the value came from.
    EXPECT_TRUE(Contains(all, "TOPIC_PARTITIONS: 'six' is not a whole number"));
    EXPECT_TRUE(Contains(all, "topics.replication: 500 is out of range (allowed 1..100)"));
    EXPECT_TRUE(Contains(all, "ingest.ack: 'sometimes' is not one of durable|enqueued"));
    EXPECT_TRUE(Contains(all, "kafka.brokerz: unknown key"));
    // The one message lists every problem.
    std::string what = e.what();
    for (const auto& problem : p) EXPECT_TRUE(Contains(what, problem));
  }
}

TEST(ConfigProblemsTest, NothingThrowsBeforeFinish) {
  auto loader = yaml("n: abc\n");
  EXPECT_NO_THROW(loader.integer({"n"}, "", 1, 0, 10));
  loader.problem("cross-field check failed");
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "n: 'abc' is not a whole number"));
  EXPECT_EQ(problems[1], "cross-field check failed");
}

// ingestd's topic layout and its own limits both read INGEST_MAX_BODY_BYTES: one bad value is
// one problem in the list, not two.
TEST(ConfigProblemsTest, ASettingReadTwiceIsReportedOnce) {
  auto loader = yaml("", {{"INGEST_MAX_BODY_BYTES", "-5"}});
  for (int i = 0; i < 2; ++i) {
    loader.integer({"ingest", "max_body_bytes"}, "INGEST_MAX_BODY_BYTES", 26214400, 1024, 1 << 30);
  }
  loader.problem("a cross-field check");
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "INGEST_MAX_BODY_BYTES: -5 is out of range"));
  EXPECT_EQ(problems[1], "a cross-field check");
}

TEST(ConfigProblemsTest, IntegerEdges) {
  auto loader = yaml("a: 10\nb: 0\nc: 11\nd: 5x\ne: 1.5\n");
  EXPECT_EQ(loader.integer({"a"}, "", 1, 0, 10), 10);  // max is inclusive
  EXPECT_EQ(loader.integer({"b"}, "", 1, 0, 10), 0);   // min is inclusive
  EXPECT_EQ(loader.integer({"c"}, "", 1, 0, 10), 1);
  EXPECT_EQ(loader.integer({"d"}, "", 1, 0, 10), 1);
  EXPECT_EQ(loader.integer({"e"}, "", 1, 0, 10), 1);
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 3u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "c: 11 is out of range"));
  EXPECT_TRUE(Contains(problems[1], "d: '5x'"));
  EXPECT_TRUE(Contains(problems[2], "e: '1.5'"));
}

TEST(ConfigProblemsTest, Numbers) {
  auto loader = yaml("rate: 2.5\nbad: fast\nhigh: 1e9\n");
  EXPECT_DOUBLE_EQ(loader.number({"rate"}, "", 1.0, 0.0, 100.0), 2.5);
  EXPECT_DOUBLE_EQ(loader.number({"bad"}, "", 1.0, 0.0, 100.0), 1.0);
  EXPECT_DOUBLE_EQ(loader.number({"high"}, "", 1.0, 0.0, 100.0), 1.0);
  EXPECT_DOUBLE_EQ(loader.number({"unset"}, "", 7.0, 0.0, 100.0), 7.0);
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "bad: 'fast' is not a number"));
  EXPECT_TRUE(Contains(problems[1], "high:"));
  EXPECT_TRUE(Contains(problems[1], "out of range"));
}

TEST(ConfigProblemsTest, MapWhereAValueIsExpected) {
  auto loader = yaml("kafka:\n  brokers:\n    a: b\n");
  EXPECT_EQ(loader.string({"kafka", "brokers"}, "KAFKA_BROKERS", "d"), "d");
  auto problems = problems_of(loader);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0], "kafka.brokers: expected a single value");
}

// ---- unknown keys -----------------------------------------------------------------------------

TEST(ConfigUnknownKeysTest, RejectedAtEveryDepth) {
  auto loader = yaml(
      "kafka:\n"
      "  brokers: a:9092\n"
      "  brokerz: b:9092\n"
      "topics:\n"
      "  partitons: 3\n"
      "extra: 1\n");
  loader.string({"kafka", "brokers"}, "KAFKA_BROKERS", "");
  loader.integer({"topics", "partitions"}, "TOPIC_PARTITIONS", 6, 1, 100);
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 3u) << joined(problems);
  EXPECT_EQ(problems[0], "kafka.brokerz: unknown key");
  EXPECT_EQ(problems[1], "topics.partitons: unknown key");
  EXPECT_EQ(problems[2], "extra: unknown key");
}

TEST(ConfigUnknownKeysTest, UnknownKeyInsideAListItem) {
  auto loader = yaml(
      "targets:\n"
      "  - repo: acme/web\n"
      "  - repo: acme/api\n"
      "    repoz: typo\n");
  ASSERT_EQ(loader.list_size({"targets"}), 2u);
  for (std::size_t i = 0; i < 2; ++i) loader.string({"targets", std::to_string(i), "repo"}, "", "");
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_EQ(problems[0], "targets[1].repoz: unknown key");
}

TEST(ConfigUnknownKeysTest, IgnoreMarksAWholeSubtreeAsKnown) {
  const char* text =
      "kafka:\n"
      "  brokers: a:9092\n"
      "products:\n"
      "  book:\n"
      "    name: A Book\n"
      "    whatever:\n"
      "      deep: [1, 2]\n";
  {
    auto loader = yaml(text);
    loader.string({"kafka", "brokers"}, "", "");
    loader.ignore({"products"});
    EXPECT_TRUE(problems_of(loader).empty());
  }
  {
    auto loader = yaml(text);
    loader.string({"kafka", "brokers"}, "", "");
    auto problems = problems_of(loader);
    ASSERT_EQ(problems.size(), 1u) << joined(problems);
    EXPECT_EQ(problems[0], "products: unknown key");
  }
}

TEST(ConfigUnknownKeysTest, IgnoreANestedSubtreeOnly) {
  auto loader = yaml(
      "workers:\n"
      "  dropbox:\n"
      "    anything: goes\n"
      "  chargify:\n"
      "    typo: here\n");
  loader.ignore({"workers", "dropbox"});
  auto problems = problems_of(loader);
  // The ignored subtree and its parent are known; the sibling is not.
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_EQ(problems[0], "workers.chargify: unknown key");
}

// ---- structure --------------------------------------------------------------------------------

TEST(ConfigStructureTest, KeysInDocumentOrder) {
  auto loader = yaml(
      "sources:\n"
      "  zeta: {kind: hmac}\n"
      "  alpha: {kind: stripe}\n"
      "  mid: {kind: standard}\n");
  EXPECT_TRUE(loader.has({"sources"}));
  EXPECT_TRUE(loader.has({"sources", "alpha", "kind"}));
  EXPECT_FALSE(loader.has({"sources", "beta"}));
  EXPECT_EQ(loader.keys({"sources"}), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_TRUE(loader.keys({"nothing"}).empty());
  for (const auto& name : {"zeta", "alpha", "mid"})
    loader.string({"sources", name, "kind"}, "", "");
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(ConfigStructureTest, KeysOfANonMapIsAProblem) {
  auto loader = yaml("sources: [a, b]\n");
  EXPECT_TRUE(loader.keys({"sources"}).empty());
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "sources: expected a map"));
}

TEST(ConfigStructureTest, ListSize) {
  auto loader = yaml("targets:\n  - a\n  - b\n  - c\nempty: []\nscalar: x\n");
  EXPECT_EQ(loader.list_size({"targets"}), 3u);
  EXPECT_EQ(loader.list_size({"empty"}), 0u);
  EXPECT_EQ(loader.list_size({"absent"}), 0u);
  EXPECT_EQ(loader.list_size({"scalar"}), 0u);
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "scalar: expected a list"));
}

TEST(ConfigStructureTest, StringList) {
  auto loader = yaml(
      "headers: [x-github-hook-id, user-agent]\n"
      "nested: [a, [b], c]\n"
      "scalar: x\n");
  EXPECT_EQ(loader.string_list({"headers"}),
            (std::vector<std::string>{"x-github-hook-id", "user-agent"}));
  EXPECT_EQ(loader.string_list({"nested"}), (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(loader.string_list({"scalar"}).empty());
  EXPECT_TRUE(loader.string_list({"absent"}).empty());
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "nested[1]: expected a single value"));
  EXPECT_TRUE(Contains(problems[1], "scalar: expected a list"));
}

TEST(ConfigStructureTest, StringMap) {
  auto loader = yaml(
      "kafka:\n"
      "  properties:\n"
      "    security.protocol: SASL_SSL\n"
      "    linger.ms: 5\n"
      "    bad: [x, y]\n");
  auto m = loader.string_map({"kafka", "properties"});
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"security.protocol", "SASL_SSL"},
                                                   {"linger.ms", "5"}}));
  EXPECT_TRUE(loader.string_map({"absent"}).empty());
  auto problems = problems_of(loader);
  // The map's own keys are known (no "unknown key" for them); the non-scalar is a problem.
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "kafka.properties.bad: expected a single value"));
}

TEST(ConfigStructureTest, StringMapOfAListIsAProblem) {
  auto loader = yaml("env: [a, b]\n");
  EXPECT_TRUE(loader.string_map({"env"}).empty());
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "env: expected a map"));
}

TEST(ConfigStructureTest, BooleanForms) {
  auto loader = yaml(
      "t1: true\nt2: yes\nt3: on\nt4: 1\nt5: TRUE\n"
      "f1: false\nf2: no\nf3: off\nf4: 0\nf5: False\n"
      "bad: maybe\n",
      {{"FLAG_ON", "Yes"}, {"FLAG_OFF", "0"}});
  for (const auto& key : {"t1", "t2", "t3", "t4", "t5"}) {
    EXPECT_TRUE(loader.boolean({key}, "", false)) << key;
  }
  for (const auto& key : {"f1", "f2", "f3", "f4", "f5"}) {
    EXPECT_FALSE(loader.boolean({key}, "", true)) << key;
  }
  EXPECT_TRUE(loader.boolean({}, "FLAG_ON", false));
  EXPECT_FALSE(loader.boolean({}, "FLAG_OFF", true));
  EXPECT_TRUE(loader.boolean({"absent"}, "", true));
  EXPECT_FALSE(loader.boolean({"absent"}, "", false));
  EXPECT_TRUE(loader.boolean({"bad"}, "", true));  // the fallback, and a problem
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "bad: 'maybe' is not a boolean"));
}

TEST(ConfigStructureTest, PathToString) {
  EXPECT_EQ(to_string(Path{}), "");
  EXPECT_EQ(to_string(Path{"kafka", "brokers"}), "kafka.brokers");
  EXPECT_EQ(to_string(Path{"targets", "0", "commands", "2"}), "targets[0].commands[2]");
}

// ---- the file itself --------------------------------------------------------------------------

TEST(ConfigFileTest, MissingFileIsAReportedProblem) {
  TempDir dir;
  auto missing = dir.path("nope.yaml");
  Loader loader(missing, Environment(Vars{{"LOG_LEVEL", "verbose"}}));
  load_common(loader);
  auto problems = problems_of(loader);
  // Reported together with the other problems, naming the file.
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], missing));
  EXPECT_TRUE(Contains(problems[1], "LOG_LEVEL"));
}

TEST(ConfigFileTest, MalformedFileIsAReportedProblem) {
  TempDir dir;
  auto file = dir.write("bad.yaml", "kafka:\n  brokers: [unclosed\n");
  Loader loader(file, Environment());
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], file));
}

TEST(ConfigFileTest, MalformedTextIsAReportedProblem) {
  auto loader = yaml("kafka:\n  brokers: [unclosed\n  other: {\n");
  EXPECT_EQ(loader.string({"kafka", "brokers"}, "", "d"), "d");
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 1u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "config"));
}

TEST(ConfigFileTest, TopLevelMustBeAMap) {
  TempDir dir;
  auto file = dir.write("list.yaml", "- a\n- b\n");
  Loader from_file(file, Environment());
  auto file_problems = problems_of(from_file);
  ASSERT_EQ(file_problems.size(), 1u) << joined(file_problems);
  EXPECT_TRUE(Contains(file_problems[0], "top level must be a map"));

  auto from_text = yaml("- a\n- b\n");
  auto text_problems = problems_of(from_text);
  ASSERT_EQ(text_problems.size(), 1u) << joined(text_problems);
  EXPECT_TRUE(Contains(text_problems[0], "top level must be a map"));
}

TEST(ConfigFileTest, EmptyFileIsFine) {
  TempDir dir;
  auto file = dir.write("empty.yaml", "");
  Loader loader(file, Environment());
  auto common = load_common(loader);
  EXPECT_EQ(common.kafka_brokers, "127.0.0.1:9092");
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(ConfigFileTest, NoFileMeansEnvironmentOnly) {
  Loader loader(std::nullopt, Environment(Vars{{"KAFKA_BROKERS", "k:1"}}));
  EXPECT_EQ(loader.string({"kafka", "brokers"}, "KAFKA_BROKERS", "d"), "k:1");
  EXPECT_FALSE(loader.has({"kafka"}));
  EXPECT_TRUE(problems_of(loader).empty());
}

// ---- common settings --------------------------------------------------------------------------

TEST(LoadCommonTest, SpecDefaults) {
  auto loader = yaml("");
  auto c = load_common(loader);
  EXPECT_EQ(c.kafka_brokers, "127.0.0.1:9092");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_TRUE(c.kafka_properties.empty());
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(LoadCommonTest, FromEnvironment) {
  auto loader = yaml(
      "", {{"KAFKA_BROKERS", "k1:9092,k2:9092"}, {"LOG_LEVEL", "debug"}, {"LOG_FORMAT", "json"}});
  auto c = load_common(loader);
  EXPECT_EQ(c.kafka_brokers, "k1:9092,k2:9092");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(LoadCommonTest, FromYaml) {
  auto loader = yaml(
      "kafka:\n"
      "  brokers: y:9092\n"
      "  properties:\n"
      "    security.protocol: SSL\n"
      "log:\n"
      "  level: warn\n"
      "  format: json\n");
  auto c = load_common(loader);
  EXPECT_EQ(c.kafka_brokers, "y:9092");
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.kafka_properties, (std::map<std::string, std::string>{{"security.protocol", "SSL"}}));
  EXPECT_TRUE(problems_of(loader).empty());
}

TEST(LoadCommonTest, RejectsUnknownLevelAndFormat) {
  auto loader = yaml("", {{"LOG_LEVEL", "verbose"}, {"LOG_FORMAT", "xml"}});
  auto c = load_common(loader);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_format, "text");
  auto problems = problems_of(loader);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_TRUE(Contains(problems[0], "LOG_LEVEL: 'verbose' is not one of debug|info|warn|error"));
  EXPECT_TRUE(Contains(problems[1], "LOG_FORMAT: 'xml' is not one of text|json"));
}

// ---- config_path ------------------------------------------------------------------------------

TEST(ConfigPathTest, FlagBeatsEnvironment) {
  Environment env(Vars{{"INGEST_CONFIG", "/etc/from-env.yaml"}});
  EXPECT_EQ(config_path(std::string("/etc/from-flag.yaml"), env), "/etc/from-flag.yaml");
  EXPECT_EQ(config_path(std::nullopt, env), "/etc/from-env.yaml");
  EXPECT_EQ(config_path(std::string(""), env), "/etc/from-env.yaml");
  EXPECT_EQ(config_path(std::nullopt, Environment()), std::nullopt);
  EXPECT_EQ(config_path(std::string("/x.yaml"), Environment()), "/x.yaml");
}

TEST(ConfigSecretTest, KafkaPropertiesThatAreSecretsAreRegisteredForRedaction) {
  auto loader = yaml(R"(
kafka:
  properties:
    security.protocol: SASL_SSL
    sasl.mechanism: SCRAM-SHA-512
    sasl.username: ingest
    sasl.password: hunter2-sasl-password
    ssl.key.password: key-password-0123
    sasl.oauthbearer.client.secret: oauth-secret-0123
)");
  auto common = load_common(loader);
  EXPECT_EQ(common.kafka_properties.at("sasl.password"), "hunter2-sasl-password");
  std::vector<std::string> secrets;
  for (const auto& s : loader.secrets()) secrets.push_back(s.reveal());
  std::sort(secrets.begin(), secrets.end());
  EXPECT_EQ(secrets, (std::vector<std::string>{"hunter2-sasl-password", "key-password-0123",
                                               "oauth-secret-0123"}));
}

// Found by tests/fuzz/config_fuzz: a list or map used as a YAML key ("? level: info") made
// finish() throw yaml-cpp's bad-conversion exception instead of ConfigError (ingestd would
// abort instead of exiting 2 with the problem).
TEST(ConfigProblemsTest, AListOrMapAsAKeyIsAProblemNotACrash) {
  auto loader = yaml(R"(
log:
  ? level: info
  format: text
kafka:
  properties:
    ? [a, b]
    : value
sources:
  ? {x: 1}
  : {kind: hmac}
)");
  auto common = load_common(loader);
  EXPECT_TRUE(common.kafka_properties.empty());
  EXPECT_TRUE(loader.keys({"sources"}).empty());
  auto problems = problems_of(loader);
  ASSERT_FALSE(problems.empty());
  std::size_t key_problems = 0;
  for (const auto& p : problems) {
    if (p.find("a key must be a plain name") != std::string::npos) ++key_problems;
  }
  EXPECT_EQ(key_problems, 3u) << ::testing::PrintToString(problems);
}

}  // namespace
}  // namespace wi::config
