// RdKafkaAdmin's consumer-group side against the real broker: describing a group and its
// members, and changing its committed offsets only while it has none.
#include <gtest/gtest.h>

#include <thread>

#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_consumer.h"
#include "common/kafka/rdkafka_publisher.h"
#include "tests/support/kafka_env.h"

namespace wi {
namespace {

using namespace std::chrono_literals;
using testing::test_client;

std::unique_ptr<kafka::RdKafkaAdmin> make_admin() {
  auto admin = kafka::RdKafkaAdmin::create(test_client("wi-test-group-admin"));
  if (!admin) throw std::runtime_error(admin.error().message);
  return std::move(admin).value();
}

TEST(GroupAdmin, AGroupThatNeverExistedIsDeadWithoutMembers) {
  auto admin = make_admin();
  auto group = admin->describe_group(testing::unique_name("never"), 30s);
  ASSERT_TRUE(group.ok()) << group.error().message;
  EXPECT_EQ(group->state, "Dead");
  EXPECT_TRUE(group->members.empty());
  EXPECT_TRUE(group->inactive());
}

TEST(GroupAdmin, ListsActiveMembersAndRefusesOffsetChangesUntilTheyLeave) {
  auto topic = testing::create_test_topic("group-admin", 2);
  auto group_id = testing::unique_name("g");
  auto admin = make_admin();

  kafka::ConsumerOptions options;
  options.client = test_client("wi-test-member");
  options.group_id = group_id;
  auto consumer = kafka::RdKafkaConsumer::create(options);
  ASSERT_TRUE(consumer.ok()) << consumer.error().message;
  ASSERT_TRUE((*consumer)->subscribe({topic}).ok());

  // The member joins while it polls.
  kafka::GroupDescription seen;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    (void)(*consumer)->poll(100ms);
    auto d = admin->describe_group(group_id, 10s);
    ASSERT_TRUE(d.ok()) << d.error().message;
    seen = *d;
    if (seen.state == "Stable" && seen.members.size() == 1) break;
  }
  ASSERT_EQ(seen.state, "Stable");
  ASSERT_EQ(seen.members.size(), 1u);
  EXPECT_EQ(seen.members[0].client_id, "wi-test-member");
  EXPECT_FALSE(seen.members[0].member_id.empty());
  EXPECT_NE(seen.members[0].host.find("127.0.0.1"), std::string::npos) << seen.members[0].host;
  EXPECT_FALSE(seen.inactive());

  auto refused = admin->alter_group_offsets(group_id, {{topic, 0, 1}, {topic, 1, 0}}, 30s);
  ASSERT_FALSE(refused.ok()) << "offsets changed under an active member";
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict) << refused.error().message;

  (*consumer)->close();
  kafka::GroupDescription after;
  deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = admin->describe_group(group_id, 10s);
    ASSERT_TRUE(d.ok()) << d.error().message;
    after = *d;
    if (after.inactive()) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(after.state, "Empty");
  EXPECT_TRUE(after.members.empty());

  // Offsets need not point at existing records: the broker stores what it is given.
  auto altered = admin->alter_group_offsets(group_id, {{topic, 0, 3}, {topic, 1, 7}}, 30s);
  ASSERT_TRUE(altered.ok()) << altered.error().message;
  auto now = wi::testing::committed_offsets(group_id, topic, 2);
  EXPECT_EQ(now[0], 3);
  EXPECT_EQ(now[1], 7);
}

TEST(GroupAdmin, AlteringOffsetsOfAnUnknownGroupCreatesThem) {
  auto topic = testing::create_test_topic("group-admin-new", 1);
  auto group_id = testing::unique_name("g");
  auto admin = make_admin();
  auto altered = admin->alter_group_offsets(group_id, {{topic, 0, 0}}, 30s);
  ASSERT_TRUE(altered.ok()) << altered.error().message;
  EXPECT_EQ(wi::testing::committed_offsets(group_id, topic, 1)[0], 0);
  auto d = admin->describe_group(group_id, 10s);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->state, "Empty");

  auto negative = admin->alter_group_offsets(group_id, {{topic, 0, -2}}, 30s);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace wi
