// CallPacer: the per-process cap on Dropbox API calls.
#include "workers/dropbox/call_pacer.h"

#include <gtest/gtest.h>

#include "tests/unit/workers/dropbox/dropbox_fakes.h"

namespace wi::dropbox {
namespace {

using namespace std::chrono_literals;

TEST(CallPacerTest, SpacesCallsToTheConfiguredRate) {
  fakes::FakeClock clock;
  test::FakeWaiter waiter(clock);
  CallPacer pacer(clock, waiter, 4);  // one call per 250 ms
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pacer.acquire({}));
  EXPECT_EQ(waiter.waits, (std::vector<std::chrono::milliseconds>{250ms, 250ms, 250ms, 250ms}));
}

TEST(CallPacerTest, IdleTimeIsNotSavedUpForABurst) {
  fakes::FakeClock clock;
  test::FakeWaiter waiter(clock);
  CallPacer pacer(clock, waiter, 2);
  ASSERT_TRUE(pacer.acquire({}));
  clock.advance(10s);
  ASSERT_TRUE(pacer.acquire({}));
  ASSERT_TRUE(pacer.acquire({}));
  EXPECT_EQ(waiter.waits, (std::vector<std::chrono::milliseconds>{500ms}));
}

TEST(CallPacerTest, ZeroMeansNoCapAndAShutdownInterruptsAWait) {
  fakes::FakeClock clock;
  test::FakeWaiter waiter(clock);
  CallPacer unlimited(clock, waiter, 0);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(unlimited.acquire({}));
  EXPECT_TRUE(waiter.waits.empty());

  CallPacer paced(clock, waiter, 1);
  waiter.stop_after(1);
  ASSERT_TRUE(paced.acquire({}));
  EXPECT_FALSE(paced.acquire({}));
}

TEST(SleepingWaiterTest, ReturnsFalseAtOnceWhenStopping) {
  SleepingWaiter waiter;
  // Would wait an hour; the stop flag is already up, so it returns before sleeping.
  EXPECT_FALSE(waiter.wait(std::chrono::hours(1), [] { return true; }));
  EXPECT_TRUE(waiter.wait(0ms, [] { return false; }));
}

}  // namespace
}  // namespace wi::dropbox
