#include "tests/support/kafka_env.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "common/codec.h"
#include "common/crypto.h"
#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_consumer.h"

namespace wi::testing {

const std::string& test_brokers() {
  static const std::string brokers = [] {
    const char* v = std::getenv("KAFKA_TEST_BROKERS");
    if (!v || !*v) {
      std::cerr << "\nKAFKA_TEST_BROKERS is not set: these tests need the real Kafka broker that "
                   "deploy/test.sh starts. Run ./deploy/test.sh (or start one with "
                   "deploy/kafka-local.sh and export KAFKA_TEST_BROKERS=127.0.0.1:<port>).\n";
      std::abort();
    }
    return std::string(v);
  }();
  return brokers;
}

kafka::ClientOptions test_client(const std::string& client_id) {
  kafka::ClientOptions client;
  client.brokers = test_brokers();
  client.client_id = client_id;
  return client;
}

std::unique_ptr<kafka::RdKafkaPublisher> test_publisher(const std::string& client_id) {
  kafka::PublisherOptions options;
  options.client = test_client(client_id);
  auto p = kafka::RdKafkaPublisher::create(options);
  if (!p) throw std::runtime_error(p.error().message);
  return std::move(p).value();
}

std::string unique_name(const std::string& prefix) {
  std::string name = prefix;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name += std::string("-") + info->name();
  }
  name += "-" + codec::hex_encode(crypto::random_bytes(4));
  for (auto& c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!ok) c = '-';
  }
  return name;
}

std::string create_test_topic(const std::string& prefix, int partitions,
                              std::map<std::string, std::string> config) {
  auto name = unique_name(prefix);
  auto admin = kafka::RdKafkaAdmin::create(test_client("wi-test-admin"));
  if (!admin) {
    ADD_FAILURE() << admin.error().message;
    return name;
  }
  auto outcome = (*admin)->create_topics({{name, partitions, 1, std::move(config)}},
                                         std::chrono::seconds(30));
  if (!outcome) ADD_FAILURE() << "create topic " << name << ": " << outcome.error().message;
  return name;
}

namespace {

// Right after a topic is created its partitions may still be electing a leader: retry the
// retryable errors for a while before failing.
Result<std::vector<kafka::TopicPartitionOffset>> end_offsets_settled(kafka::Consumer& c,
                                                                     const std::string& topic) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (true) {
    auto ends = c.end_offsets(topic, std::chrono::seconds(10));
    if (ends || !ends.error().retryable || std::chrono::steady_clock::now() > deadline) return ends;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

std::vector<kafka::ConsumedRecord> read_topic(const std::string& topic, std::size_t at_least,
                                              std::chrono::milliseconds timeout) {
  std::vector<kafka::ConsumedRecord> out;
  kafka::ConsumerOptions options;
  options.client = test_client("wi-test-reader");
  auto consumer = kafka::RdKafkaConsumer::create(options);
  if (!consumer) {
    ADD_FAILURE() << consumer.error().message;
    return out;
  }
  auto& c = **consumer;
  auto ends = end_offsets_settled(c, topic);
  if (!ends) {
    ADD_FAILURE() << ends.error().message;
    return out;
  }
  // Done when every partition has been read up to the end offset it had at the start, never
  // "when the clock ran out": a partial read is a failure, not a shorter answer.
  std::map<std::int32_t, std::int64_t> end, reached;
  std::vector<kafka::TopicPartitionOffset> start;
  for (const auto& e : *ends) {
    end[e.partition] = e.offset;
    reached[e.partition] = 0;
    start.push_back({topic, e.partition, kafka::Consumer::kOffsetBeginning});
  }
  if (auto s = c.assign(start); !s) {
    ADD_FAILURE() << s.error().message;
    return out;
  }
  auto at_end = [&] {
    for (const auto& [partition, offset] : end) {
      if (reached[partition] < offset) return false;
    }
    return true;
  };
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while ((!at_end() || out.size() < at_least) && std::chrono::steady_clock::now() < deadline) {
    auto r = c.poll(std::chrono::milliseconds(200));
    if (r && *r) {
      reached[(**r).partition] = std::max(reached[(**r).partition], (**r).offset + 1);
      out.push_back(std::move(**r));
    }
  }
  c.close();
  if (!at_end()) {
    std::string where;
    for (const auto& [partition, offset] : end) {
      where += " " + std::to_string(partition) + ":" + std::to_string(reached[partition]) + "/" +
               std::to_string(offset);
    }
    ADD_FAILURE() << "read " << topic << " only up to (partition:reached/end)" << where << " in "
                  << timeout.count() << " ms";
  }
  if (out.size() < at_least) {
    ADD_FAILURE() << "only " << out.size() << " of " << at_least << " records in " << topic;
  }
  return out;
}

std::int64_t record_count(const std::string& topic) {
  kafka::ConsumerOptions options;
  options.client = test_client("wi-test-counter");
  auto consumer = kafka::RdKafkaConsumer::create(options);
  if (!consumer) {
    ADD_FAILURE() << consumer.error().message;
    return -1;
  }
  auto ends = end_offsets_settled(**consumer, topic);
  if (!ends) {
    ADD_FAILURE() << ends.error().message;
    return -1;
  }
  std::int64_t total = 0;
  for (const auto& e : *ends) total += e.offset;
  return total;
}

std::map<int, std::int64_t> committed_offsets(const std::string& group, const std::string& topic,
                                              int partitions) {
  std::map<int, std::int64_t> out;
  kafka::ConsumerOptions options;
  options.client = test_client("wi-test-committed");
  options.group_id = group;
  auto consumer = kafka::RdKafkaConsumer::create(options);
  if (!consumer) {
    ADD_FAILURE() << consumer.error().message;
    return out;
  }
  std::vector<kafka::TopicPartition> tps;
  for (int p = 0; p < partitions; ++p) tps.push_back({topic, p});
  auto committed = (*consumer)->committed(tps, std::chrono::seconds(10));
  if (!committed) {
    ADD_FAILURE() << committed.error().message;
  } else {
    for (const auto& c : *committed) out[c.partition] = c.offset;
  }
  (*consumer)->close();
  return out;
}

void create_topics(const std::vector<std::string>& names, int partitions,
                   std::int64_t max_message_bytes) {
  auto admin = kafka::RdKafkaAdmin::create(test_client("wi-test-admin"));
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  std::vector<kafka::TopicSpec> specs;
  for (const auto& n : names) {
    specs.push_back({n, partitions, 1, {{"max.message.bytes", std::to_string(max_message_bytes)}}});
  }
  auto outcome = (*admin)->create_topics(specs, std::chrono::seconds(30));
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
}

}  // namespace wi::testing
