#include "common/topics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace wi::topics {
namespace {

using Vars = std::map<std::string, std::string>;

std::map<std::string, kafka::TopicSpec> by_name(const std::vector<kafka::TopicSpec>& specs) {
  std::map<std::string, kafka::TopicSpec> out;
  for (const auto& s : specs) {
    EXPECT_TRUE(out.emplace(s.name, s).second) << "duplicate topic " << s.name;
  }
  return out;
}

std::set<std::string> names(const std::vector<kafka::TopicSpec>& specs) {
  std::set<std::string> out;
  for (const auto& s : specs) out.insert(s.name);
  return out;
}

Layout load(std::string_view yaml, Vars env = {}) {
  auto loader = config::Loader::from_yaml_text(yaml, config::Environment(std::move(env)));
  auto layout = load_layout(loader);
  loader.ignore({"sources"});  // the source settings are validated by ingestd
  loader.finish();             // throws ConfigError on any problem
  return layout;
}

const std::set<std::string> kSpecTopics = {
    "webhooks.dropbox",     "webhooks.chargify",    "webhooks.github",       "dropbox.accounts",
    "dropbox.changes",      "dropbox.cursors",      "chargify.fulfilments",  "github.deploys",
    "webhooks.dropbox.dlq", "dropbox.accounts.dlq", "webhooks.chargify.dlq", "webhooks.github.dlq",
};

TEST(TopicsTest, DefaultLayoutIsExactlyTheSpecSet) {
  auto specs = all_topics(Layout{});
  EXPECT_EQ(specs.size(), kSpecTopics.size());
  EXPECT_EQ(names(specs), kSpecTopics);
  by_name(specs);  // no duplicates
}

TEST(TopicsTest, OnlyStateTopicsAreCompacted) {
  for (const auto& [name, spec] : by_name(all_topics(Layout{}))) {
    auto it = spec.config.find("cleanup.policy");
    if (name == "dropbox.cursors" || name == "chargify.fulfilments") {
      ASSERT_NE(it, spec.config.end()) << name;
      EXPECT_EQ(it->second, "compact") << name;
    } else {
      // Events, results and dead letters are kept by time, never compacted away.
      EXPECT_TRUE(it == spec.config.end() || it->second == "delete") << name;
    }
  }
}

TEST(TopicsTest, DefaultsAreSixPartitionsAndReplicationOne) {
  Layout layout = load("");
  EXPECT_EQ(layout.partitions, 6);
  EXPECT_EQ(layout.replication, 1);
  EXPECT_EQ(layout.prefix, "webhooks.");
  for (const auto& spec : all_topics(layout)) {
    EXPECT_EQ(spec.partitions, 6) << spec.name;
    EXPECT_EQ(spec.replication, 1) << spec.name;
  }
}

TEST(TopicsTest, PartitionsAndReplicationFromYaml) {
  Layout layout = load("topics:\n  partitions: 12\n  replication: 3\n");
  for (const auto& spec : all_topics(layout)) {
    EXPECT_EQ(spec.partitions, 12) << spec.name;
    EXPECT_EQ(spec.replication, 3) << spec.name;
  }
}

TEST(TopicsTest, EnvironmentBeatsYamlForPartitionsAndReplication) {
  Layout layout = load("topics:\n  partitions: 12\n  replication: 3\n",
                       {{"TOPIC_PARTITIONS", "24"}, {"TOPIC_REPLICATION", "2"}});
  for (const auto& spec : all_topics(layout)) {
    EXPECT_EQ(spec.partitions, 24) << spec.name;
    EXPECT_EQ(spec.replication, 2) << spec.name;
  }
}

TEST(TopicsTest, StateTopicsShareTheirInputsPartitionCount) {
  for (int partitions : {1, 6, 7, 48}) {
    Layout layout = load("", {{"TOPIC_PARTITIONS", std::to_string(partitions)}});
    auto specs = by_name(all_topics(layout));
    EXPECT_EQ(specs.at("dropbox.cursors").partitions, specs.at("dropbox.accounts").partitions);
    EXPECT_EQ(specs.at("chargify.fulfilments").partitions,
              specs.at("webhooks.chargify").partitions);
    EXPECT_EQ(specs.at("dropbox.cursors").partitions, partitions);
  }
}

TEST(TopicsTest, MaxMessageBytesFitsTheBodyLimit) {
  for (std::int64_t body : {std::int64_t{26214400}, std::int64_t{1024}, std::int64_t{100000000}}) {
    Layout layout = load("", {{"INGEST_MAX_BODY_BYTES", std::to_string(body)}});
    EXPECT_GT(layout.max_message_bytes, body);
    for (const auto& spec : all_topics(layout)) {
      auto it = spec.config.find("max.message.bytes");
      ASSERT_NE(it, spec.config.end()) << spec.name;
      // The record holds the whole body plus headers: strictly more than the body.
      EXPECT_GT(std::stoll(it->second), body) << spec.name;
      EXPECT_EQ(std::stoll(it->second), layout.max_message_bytes) << spec.name;
    }
  }
}

TEST(TopicsTest, DefaultMaxMessageBytesFitsTwentyFiveMiB) {
  Layout layout = load("");
  EXPECT_GT(layout.max_message_bytes, 25 * 1024 * 1024);
  for (const auto& spec : all_topics(layout)) {
    EXPECT_GT(std::stoll(spec.config.at("max.message.bytes")), 25 * 1024 * 1024) << spec.name;
  }
}

TEST(TopicsTest, BodyLimitFromYaml) {
  Layout layout = load("ingest:\n  max_body_bytes: 50000000\n");
  EXPECT_GT(layout.max_message_bytes, 50000000);
}

TEST(TopicsTest, ConfiguredSourceAddsItsWebhookTopic) {
  Layout layout = load(
      "sources:\n"
      "  shopify:\n"
      "    kind: hmac\n"
      "  github:\n"  // a built-in configured in YAML is not listed twice
      "    kind: github\n");
  EXPECT_EQ(layout.sources, (std::vector<std::string>{"dropbox", "chargify", "github", "shopify"}));
  auto specs = all_topics(layout);
  auto expected = kSpecTopics;
  expected.insert("webhooks.shopify");
  EXPECT_EQ(names(specs), expected);
  EXPECT_EQ(specs.size(), expected.size());
  auto shopify = by_name(specs).at("webhooks.shopify");
  EXPECT_EQ(shopify.partitions, 6);
  EXPECT_EQ(shopify.config.count("cleanup.policy"), 0u);
  EXPECT_EQ(shopify.config.count("max.message.bytes"), 1u);
}

TEST(TopicsTest, PrefixOverrideFromEnvironment) {
  Layout layout = load("topics:\n  prefix: yaml.\n", {{"TOPIC_PREFIX", "acme.hooks."}});
  EXPECT_EQ(layout.prefix, "acme.hooks.");
  EXPECT_EQ(layout.webhook_topic("github"), "acme.hooks.github");
  auto got = names(all_topics(layout));
  const std::set<std::string> expected = {
      "acme.hooks.dropbox",   "acme.hooks.chargify",     "acme.hooks.github",
      "dropbox.accounts",     "dropbox.changes",         "dropbox.cursors",
      "chargify.fulfilments", "github.deploys",          "acme.hooks.dropbox.dlq",
      "dropbox.accounts.dlq", "acme.hooks.chargify.dlq", "acme.hooks.github.dlq",
  };
  EXPECT_EQ(got, expected);
}

TEST(TopicsTest, PrefixFromYaml) {
  Layout layout = load("topics:\n  prefix: staging.webhooks.\n");
  EXPECT_EQ(layout.webhook_topic("dropbox"), "staging.webhooks.dropbox");
  EXPECT_EQ(names(all_topics(layout)).count("staging.webhooks.dropbox.dlq"), 1u);
}

TEST(TopicsTest, InvalidLayoutSettingsAreReported) {
  auto loader = config::Loader::from_yaml_text(
      "topics:\n  partitions: 0\n  replication: many\n  partitons: 3\n",
      config::Environment(Vars{{"INGEST_MAX_BODY_BYTES", "10"}}));
  load_layout(loader);
  try {
    loader.finish();
    FAIL() << "expected ConfigError";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 4u) << e.what();
    std::string all = e.what();
    EXPECT_NE(all.find("topics.partitions"), std::string::npos) << all;
    EXPECT_NE(all.find("topics.replication"), std::string::npos) << all;
    EXPECT_NE(all.find("topics.partitons: unknown key"), std::string::npos) << all;
    EXPECT_NE(all.find("INGEST_MAX_BODY_BYTES"), std::string::npos) << all;
  }
}

}  // namespace
}  // namespace wi::topics
