// The waiting helpers over any Publisher: publish_and_wait (one record) and
// publish_all_and_wait (a batch, one wait), with the shared fake and a publisher that holds
// its delivery reports until the test hands them out (as a real one does, from its own thread).
#include "common/kafka/publisher.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "tests/fakes/fake_publisher.h"

namespace wi::kafka {
namespace {

using namespace std::chrono_literals;

std::vector<OutgoingRecord> records(int n) {
  std::vector<OutgoingRecord> out;
  for (int i = 0; i < n; ++i) out.push_back({"t", "k" + std::to_string(i), {}, "v"});
  return out;
}

// Confirms the first `confirm_at_once` records inline, then keeps every delivery callback;
// deliver(n) reports the first n kept ones as delivered.
class HoldingPublisher final : public Publisher {
 public:
  explicit HoldingPublisher(std::size_t confirm_at_once = 0) : confirm_at_once_(confirm_at_once) {}
  void publish(OutgoingRecord, DeliveryCallback on_delivery) override {
    {
      std::lock_guard lock(mu_);
      if (confirmed_ >= confirm_at_once_) {
        held_.push_back(std::move(on_delivery));
        return;
      }
      ++confirmed_;
    }
    on_delivery(Delivery{0, 0});
  }
  void publish_or_return(OutgoingRecord record, ReturningCallback on_delivery) override {
    publish(record,
            [on_delivery, record](Result<Delivery> r) { on_delivery(std::move(r), record); });
  }
  Status flush(std::chrono::milliseconds) override { return {}; }
  std::size_t in_flight() const override {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  std::size_t held() const { return in_flight(); }
  void deliver(std::size_t n) {
    std::vector<DeliveryCallback> now;
    {
      std::lock_guard lock(mu_);
      n = std::min(n, held_.size());
      now.assign(std::make_move_iterator(held_.begin()),
                 std::make_move_iterator(held_.begin() + static_cast<std::ptrdiff_t>(n)));
      held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    for (auto& callback : now) callback(Delivery{0, 0});
  }

 private:
  const std::size_t confirm_at_once_;
  mutable std::mutex mu_;
  std::size_t confirmed_ = 0;
  std::vector<DeliveryCallback> held_;
};

TEST(PublishAllAndWaitTest, EveryRecordDeliveredIsOkAndEachWasPublishedInOrder) {
  fakes::FakePublisher publisher;
  ASSERT_TRUE(publish_all_and_wait(publisher, records(3), 30s).ok());
  auto published = publisher.records();
  ASSERT_EQ(published.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(published[i].key, "k" + std::to_string(i));
}

TEST(PublishAllAndWaitTest, AnEmptyBatchIsOkAndPublishesNothing) {
  HoldingPublisher publisher;  // would never confirm anything: ok must not wait for it
  EXPECT_TRUE(publish_all_and_wait(publisher, {}, 30s).ok());
  EXPECT_EQ(publisher.held(), 0u);
}

TEST(PublishAllAndWaitTest,
     ARefusedRecordFailsTheBatchWithKafkasRetryabilityAndTheRestIsStillSent) {
  fakes::FakePublisher publisher;
  publisher.fail_next(1, /*retryable=*/false);
  auto permanent = publish_all_and_wait(publisher, records(3), 30s);
  ASSERT_FALSE(permanent.ok());
  EXPECT_FALSE(permanent.error().retryable);
  EXPECT_EQ(permanent.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(publisher.refused().size(), 1u);
  EXPECT_EQ(publisher.records().size(), 2u);

  publisher.fail_next(2, /*retryable=*/true);
  auto transient = publish_all_and_wait(publisher, records(3), 30s);
  ASSERT_FALSE(transient.ok());
  EXPECT_TRUE(transient.error().retryable);
  EXPECT_EQ(transient.error().code, ErrorCode::kUnavailable);
}

TEST(PublishAllAndWaitTest, UnconfirmedRecordsTimeOutRetryablyNamingHowMany) {
  HoldingPublisher publisher(/*confirm_at_once=*/1);  // one of three confirmed, two never
  auto s = publish_all_and_wait(publisher, records(3), 1ms);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kTimeout);
  EXPECT_TRUE(s.error().retryable);
  EXPECT_NE(s.error().message.find("2 record(s) not confirmed"), std::string::npos)
      << s.error().message;
  // Reports that come after the caller gave up land safely.
  publisher.deliver(2);
  EXPECT_EQ(publisher.held(), 0u);
}

TEST(PublishAllAndWaitTest, ReportsFromTheDeliveryThreadEndTheWait) {
  HoldingPublisher publisher;
  std::thread delivery([&] {
    // Bounded: a publish_all_and_wait that published fewer than 4 fails the test, not hangs it.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (publisher.held() < 4 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    publisher.deliver(publisher.held());
  });
  auto s = publish_all_and_wait(publisher, records(4), 30s);
  delivery.join();
  EXPECT_TRUE(s.ok()) << s.error().message;
}

TEST(PublishAndWaitTest, OneRecordGivesItsDeliveryOrItsError) {
  fakes::FakePublisher publisher;
  auto delivered = publish_and_wait(publisher, records(1)[0], 30s);
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(delivered->offset, 0);
  publisher.fail_next(1, /*retryable=*/true);
  auto refused = publish_and_wait(publisher, records(1)[0], 30s);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().retryable);
}

}  // namespace
}  // namespace wi::kafka
