// BodyBudget: charges stay within the limit, exactly; releases make room again.
#include "common/http/body_budget.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace wi::http {
namespace {

TEST(BodyBudget, ChargesUpToTheLimitExactlyAndRefusesPastIt) {
  BodyBudget budget(100);
  EXPECT_TRUE(budget.try_charge(60));
  EXPECT_TRUE(budget.try_charge(40));
  EXPECT_EQ(budget.in_use(), 100u);
  EXPECT_FALSE(budget.try_charge(1));
  EXPECT_EQ(budget.in_use(), 100u) << "a refused charge takes nothing";
}

TEST(BodyBudget, ARequestLargerThanTheWholeBudgetIsRefusedEvenWhenIdle) {
  BodyBudget budget(100);
  EXPECT_FALSE(budget.try_charge(101));
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(BodyBudget, ReleaseMakesRoomAgain) {
  BodyBudget budget(100);
  ASSERT_TRUE(budget.try_charge(100));
  budget.release(30);
  EXPECT_EQ(budget.in_use(), 70u);
  EXPECT_TRUE(budget.try_charge(30));
  EXPECT_FALSE(budget.try_charge(1));
}

TEST(BodyBudget, ConcurrentChargesNeverOvershoot) {
  BodyBudget budget(1000);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (budget.try_charge(7)) ++admitted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1000 / 7);
  EXPECT_EQ(budget.in_use(), static_cast<std::size_t>(1000 / 7 * 7));
}

}  // namespace
}  // namespace wi::http
