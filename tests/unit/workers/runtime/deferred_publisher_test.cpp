// DeferredPublisher: refuses at once until it is bound, then forwards everything.
#include "workers/runtime/deferred_publisher.h"

#include <gtest/gtest.h>

#include "tests/fakes/fake_publisher.h"

namespace wi::worker {
namespace {

kafka::OutgoingRecord record(std::string key) {
  kafka::OutgoingRecord r;
  r.topic = "github.deploys";
  r.key = std::move(key);
  return r;
}

TEST(DeferredPublisher, RefusesBeforeItIsBoundWithoutLosingTheCallback) {
  DeferredPublisher deferred;
  std::optional<Result<kafka::Delivery>> outcome;
  deferred.publish(record("early"), [&](Result<kafka::Delivery> r) { outcome = std::move(r); });
  ASSERT_TRUE(outcome.has_value()) << "the callback must run exactly once, at once";
  EXPECT_FALSE(outcome->ok());
  std::optional<std::string> returned_key;
  deferred.publish_or_return(record("early-2"),
                             [&](Result<kafka::Delivery> r, kafka::OutgoingRecord back) {
                               EXPECT_FALSE(r.ok());
                               returned_key = back.key;
                             });
  EXPECT_EQ(returned_key, "early-2");
}

TEST(DeferredPublisher, ForwardsOnceBound) {
  DeferredPublisher deferred;
  fakes::FakePublisher target;
  deferred.bind(target);
  auto delivered = kafka::publish_and_wait(deferred, record("late"), std::chrono::seconds(1));
  ASSERT_TRUE(delivered.ok());
  ASSERT_EQ(target.records().size(), 1u);
  EXPECT_EQ(target.records()[0].key, "late");
  target.fail_next(1);
  EXPECT_FALSE(kafka::publish_and_wait(deferred, record("refused"), std::chrono::seconds(1)).ok());
}

}  // namespace
}  // namespace wi::worker
