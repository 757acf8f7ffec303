// The Kafka adapters against a real broker: publish with keys and headers, consume in a group,
// commit, resume, rebalance callbacks, large records and delivery failures.
#include <gtest/gtest.h>

#include <algorithm>

#include <atomic>
#include <future>
#include <mutex>
#include <set>

#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_consumer.h"
#include "common/kafka/rdkafka_publisher.h"
#include "tests/support/kafka_env.h"

namespace wi::kafka {
namespace {

using namespace std::chrono_literals;
using wi::testing::create_test_topic;
using wi::testing::test_client;
using wi::testing::unique_name;

std::unique_ptr<RdKafkaConsumer> make_consumer(const std::string& group,
                                               RebalanceListener* listener = nullptr) {
  ConsumerOptions options;
  options.client = test_client("wi-test-consumer");
  options.group_id = group;
  options.listener = listener;
  auto c = RdKafkaConsumer::create(options);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return std::move(c).value();
}

// Polls until `n` records arrived or the deadline passed.
std::vector<ConsumedRecord> consume(Consumer& consumer, std::size_t n,
                                    std::chrono::seconds limit = 30s) {
  std::vector<ConsumedRecord> out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto r = consumer.poll(200ms);
    if (!r) {
      EXPECT_TRUE(r.error().retryable) << r.error().message;
      continue;
    }
    if (*r) out.push_back(std::move(**r));
  }
  return out;
}

void publish_all(Publisher& publisher, std::vector<OutgoingRecord> records) {
  for (auto& rec : records) {
    auto d = publish_and_wait(publisher, std::move(rec), 30s);
    ASSERT_TRUE(d.ok()) << d.error().message;
  }
}

TEST(KafkaAdapters, PublishesKeysHeadersAndExactBytesThenConsumesInAGroup) {
  auto topic = create_test_topic("adapters", 3);
  auto publisher = wi::testing::test_publisher();
  std::vector<OutgoingRecord> sent;
  for (int i = 0; i < 12; ++i) {
    OutgoingRecord rec;
    rec.topic = topic;
    if (i % 4 != 3) rec.key = "key-" + std::to_string(i % 3);
    rec.headers = {{"event-id", "evt-" + std::to_string(i)}, {"source", "test"}};
    rec.value = std::string("value-") + std::to_string(i) + std::string("\0\xff\x01", 3);
    sent.push_back(rec);
  }
  publish_all(*publisher, sent);

  auto consumer = make_consumer(unique_name("group"));
  ASSERT_TRUE(consumer->subscribe({topic}).ok());
  auto got = consume(*consumer, sent.size());
  ASSERT_EQ(got.size(), sent.size());
  std::map<std::string, ConsumedRecord> by_id;
  for (auto& r : got) {
    const std::string* id = find_header(r.headers, "event-id");
    ASSERT_NE(id, nullptr);
    by_id[*id] = r;
  }
  for (int i = 0; i < 12; ++i) {
    const auto& want = sent[i];
    const auto& have = by_id.at("evt-" + std::to_string(i));
    EXPECT_EQ(have.topic, topic);
    EXPECT_EQ(have.key, want.key);
    EXPECT_EQ(have.value, want.value);
    EXPECT_EQ(have.headers, want.headers);
    EXPECT_GT(have.timestamp_ms, 0);
  }
  // One key, one partition: per-key order is the publish order, in offsets and as consumed.
  std::map<std::string, std::vector<std::string>> sent_ids_by_key, consumed_ids_by_key;
  std::map<std::string, std::vector<std::int64_t>> offsets_by_key;
  std::set<std::pair<std::string, std::int32_t>> key_partitions;
  for (const auto& rec : sent) {
    if (rec.key) sent_ids_by_key[*rec.key].push_back(*find_header(rec.headers, "event-id"));
  }
  for (auto& r : got) {
    if (!r.key) continue;
    key_partitions.insert({*r.key, r.partition});
    consumed_ids_by_key[*r.key].push_back(*find_header(r.headers, "event-id"));
    offsets_by_key[*r.key].push_back(r.offset);
  }
  EXPECT_EQ(key_partitions.size(), 3u) << "each key maps to exactly one partition";
  EXPECT_EQ(consumed_ids_by_key, sent_ids_by_key);
  for (const auto& [key, offsets] : offsets_by_key) {
    EXPECT_TRUE(std::is_sorted(offsets.begin(), offsets.end())) << key;
    EXPECT_EQ(std::set<std::int64_t>(offsets.begin(), offsets.end()).size(), offsets.size()) << key;
  }
  consumer->close();
}

TEST(KafkaAdapters, ConsumerResumesAtTheCommittedOffset) {
  auto topic = create_test_topic("resume", 1);
  auto publisher = wi::testing::test_publisher();
  std::vector<OutgoingRecord> sent;
  for (int i = 0; i < 10; ++i) sent.push_back({topic, "k", {}, "v" + std::to_string(i)});
  publish_all(*publisher, sent);
  auto group = unique_name("group");

  {
    auto first = make_consumer(group);
    ASSERT_TRUE(first->subscribe({topic}).ok());
    auto got = consume(*first, 4);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[3].value, "v3");
    // Commit "next to read" = offset of the 4th record + 1.
    ASSERT_TRUE(first->commit({{topic, 0, got[3].offset + 1}}).ok());
    auto committed = first->committed({{topic, 0}}, 10s);
    ASSERT_TRUE(committed.ok()) << committed.error().message;
    ASSERT_EQ(committed->size(), 1u);
    EXPECT_EQ((*committed)[0].offset, 4);
    first->close();
  }
  auto second = make_consumer(group);
  ASSERT_TRUE(second->subscribe({topic}).ok());
  auto rest = consume(*second, 6);
  ASSERT_EQ(rest.size(), 6u);
  EXPECT_EQ(rest.front().value, "v4");
  EXPECT_EQ(rest.front().offset, 4);
  EXPECT_EQ(rest.back().value, "v9");
  // Nothing beyond what was published.
  auto extra = second->poll(500ms);
  ASSERT_TRUE(extra.ok());
  EXPECT_FALSE(extra->has_value());
  second->close();
}

class RecordingListener : public RebalanceListener {
 public:
  void on_assigned(const std::vector<TopicPartition>& parts) override {
    std::lock_guard lock(mu);
    for (const auto& p : parts) assigned.insert(p);
  }
  void on_revoked(const std::vector<TopicPartition>& parts, bool) override {
    std::lock_guard lock(mu);
    for (const auto& p : parts) revoked.insert(p);
  }
  std::mutex mu;
  std::set<TopicPartition> assigned, revoked;
};

TEST(KafkaAdapters, TwoGroupMembersSplitPartitionsAndRevokeOnLeave) {
  auto topic = create_test_topic("rebalance", 4);
  auto group = unique_name("group");
  RecordingListener la, lb;
  auto a = make_consumer(group, &la);
  ASSERT_TRUE(a->subscribe({topic}).ok());
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (la.assigned.size() < 4 && std::chrono::steady_clock::now() < deadline) (void)a->poll(100ms);
  ASSERT_EQ(la.assigned.size(), 4u);

  auto b = make_consumer(group, &lb);
  ASSERT_TRUE(b->subscribe({topic}).ok());
  deadline = std::chrono::steady_clock::now() + 45s;
  while ((lb.assigned.empty() || la.revoked.empty()) && std::chrono::steady_clock::now() < deadline) {
    (void)a->poll(100ms);
    (void)b->poll(100ms);
  }
  // Cooperative-sticky: a gives up only the partitions that move to b.
  ASSERT_FALSE(lb.assigned.empty());
  EXPECT_EQ(la.revoked, lb.assigned);
  EXPECT_LT(la.revoked.size(), 4u);
  b->close();
  a->close();
}

TEST(KafkaAdapters, CarriesA25MiBRecord) {
  const std::size_t size = 25 * 1024 * 1024;
  auto topic = create_test_topic("large", 1, {{"max.message.bytes", std::to_string(size + 1048576)}});
  auto publisher = wi::testing::test_publisher();
  std::string big(size, '\0');
  for (std::size_t i = 0; i < size; ++i) big[i] = static_cast<char>((i * 131) % 251);
  auto d = publish_and_wait(*publisher, {topic, "big", {}, big}, 60s);
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto consumer = make_consumer(unique_name("group"));
  ASSERT_TRUE(consumer->subscribe({topic}).ok());
  auto got = consume(*consumer, 1, 60s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].value == big) << "25 MiB value differs after the round trip";
  consumer->close();
}

TEST(KafkaAdapters, DeliveryFailureIsReportedWithItsFinalError) {
  // Nothing listens on this port: the record must come back as a retryable failure, once.
  PublisherOptions options;
  options.client.brokers = "127.0.0.1:1";
  options.delivery_timeout_ms = 1500;
  auto publisher = RdKafkaPublisher::create(options);
  ASSERT_TRUE(publisher.ok());
  std::atomic<int> calls{0};
  std::promise<Result<Delivery>> done;
  (*publisher)->publish({"nowhere", std::nullopt, {}, "x"}, [&](Result<Delivery> r) {
    if (calls++ == 0) done.set_value(std::move(r));
  });
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(20s), std::future_status::ready);
  auto outcome = future.get();
  ASSERT_FALSE(outcome.ok());
  EXPECT_TRUE(outcome.error().retryable);
  EXPECT_EQ((*publisher)->in_flight(), 0u);
  EXPECT_TRUE((*publisher)->flush(1s).ok());
  EXPECT_EQ(calls.load(), 1);
}

TEST(KafkaAdapters, OffsetsForTimeFindsTheFirstRecordAtOrAfterATimestamp) {
  auto topic = create_test_topic("times", 1);
  auto publisher = wi::testing::test_publisher();
  publish_all(*publisher, {{topic, "k", {}, "early"}});
  auto consumer = make_consumer(unique_name("group"));
  // Read back the broker's timestamp of the first record, then publish a later one.
  ASSERT_TRUE(consumer->subscribe({topic}).ok());
  auto first = consume(*consumer, 1);
  ASSERT_EQ(first.size(), 1u);
  std::int64_t cut = first[0].timestamp_ms + 1;
  // The broker stamps CreateTime from the producer's clock: wait until it moved past `cut`.
  while (std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() <= cut) {
    std::this_thread::yield();
  }
  publish_all(*publisher, {{topic, "k", {}, "late"}});
  auto offsets = consumer->offsets_for_time(topic, cut, 10s);
  ASSERT_TRUE(offsets.ok()) << offsets.error().message;
  ASSERT_EQ(offsets->size(), 1u);
  EXPECT_EQ((*offsets)[0].offset, 1);
  // A time after everything: the end offset.
  auto future_offsets = consumer->offsets_for_time(topic, cut + 3600 * 1000, 10s);
  ASSERT_TRUE(future_offsets.ok());
  EXPECT_EQ((*future_offsets)[0].offset, 2);
  consumer->close();
}

TEST(KafkaAdapters, CreateTopicsIsIdempotentAndAppliesConfig) {
  auto admin = RdKafkaAdmin::create(test_client("wi-test-admin"));
  ASSERT_TRUE(admin.ok());
  auto name = unique_name("state");
  std::vector<TopicSpec> specs = {{name, 4, 1, {{"cleanup.policy", "compact"}}},
                                  {name + ".plain", 2, 1, {}}};
  auto first = (*admin)->create_topics(specs, 30s);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, (std::vector<CreateOutcome>{CreateOutcome::kCreated, CreateOutcome::kCreated}));
  auto second = (*admin)->create_topics(specs, 30s);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(*second, (std::vector<CreateOutcome>{CreateOutcome::kAlreadyExisted,
                                                 CreateOutcome::kAlreadyExisted}));
  auto info = (*admin)->describe_topic(name, 30s);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->partitions, 4);
  EXPECT_EQ(info->config.at("cleanup.policy"), "compact");
  auto plain = (*admin)->describe_topic(name + ".plain", 30s);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->partitions, 2);
  EXPECT_EQ(plain->config.at("cleanup.policy"), "delete");
}

}  // namespace
}  // namespace wi::kafka
