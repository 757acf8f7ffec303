// TokenBucket: burst, continuous refill, Retry-After rounding, unlimited. Time is passed in,
// so the tests step it by hand; no sleeps.

#include "ingest/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace wi::ingest {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const SteadyTime kT0 = SteadyTime(std::chrono::hours(1000));

// How many tokens can be taken at `now` before the bucket refuses.
int drain(TokenBucket& bucket, SteadyTime now, int at_most = 10000) {
  int taken = 0;
  while (taken < at_most && bucket.try_take(now).taken) ++taken;
  return taken;
}

seconds retry_after(TokenBucket& bucket, SteadyTime now) {
  auto take = bucket.try_take(now);
  EXPECT_FALSE(take.taken) << "expected the bucket to be empty";
  return take.retry_after;
}

TEST(TokenBucketTest, StartsFullAndAllowsTheBurst) {
  TokenBucket bucket(1, 5);
  EXPECT_FALSE(bucket.unlimited());
  EXPECT_EQ(drain(bucket, kT0), 5);
  EXPECT_EQ(retry_after(bucket, kT0), seconds(1));
}

TEST(TokenBucketTest, RefillsContinuouslyAtTheRate) {
  TokenBucket bucket(2, 4);  // one token every 500 ms
  EXPECT_EQ(drain(bucket, kT0), 4);
  EXPECT_EQ(drain(bucket, kT0 + milliseconds(499)), 0);
  EXPECT_EQ(drain(bucket, kT0 + milliseconds(500)), 1);
  // Fractions accumulate across calls: 250 ms + 250 ms is one token.
  EXPECT_EQ(drain(bucket, kT0 + milliseconds(750)), 0);
  EXPECT_EQ(drain(bucket, kT0 + milliseconds(1000)), 1);
  EXPECT_EQ(drain(bucket, kT0 + milliseconds(2500)), 3);
}

TEST(TokenBucketTest, RefillIsCappedAtTheBurst) {
  TokenBucket bucket(10, 3);
  EXPECT_EQ(drain(bucket, kT0), 3);
  EXPECT_EQ(drain(bucket, kT0 + seconds(3600)), 3);
}

TEST(TokenBucketTest, RefusalsDoNotSpendTokens) {
  TokenBucket bucket(1, 1);
  EXPECT_EQ(drain(bucket, kT0), 1);
  for (int i = 0; i < 100; ++i) retry_after(bucket, kT0 + milliseconds(i));
  EXPECT_EQ(drain(bucket, kT0 + seconds(1)), 1);
}

TEST(TokenBucketTest, RetryAfterIsWholeSecondsRoundedUpAndAtLeastOne) {
  {
    TokenBucket fast(10, 1);  // the next token is 100 ms away
    drain(fast, kT0);
    EXPECT_EQ(retry_after(fast, kT0), seconds(1));
  }
  {
    TokenBucket slow(0.3, 1);  // 3.33 s per token
    drain(slow, kT0);
    EXPECT_EQ(retry_after(slow, kT0), seconds(4));
    EXPECT_EQ(retry_after(slow, kT0 + seconds(3)), seconds(1));  // 0.33 s left
  }
  {
    TokenBucket quarter(0.25, 1);  // exactly 4 s
    drain(quarter, kT0);
    EXPECT_EQ(retry_after(quarter, kT0), seconds(4));
    EXPECT_EQ(retry_after(quarter, kT0 + milliseconds(1500)), seconds(3));  // 2.5 s left
  }
  {
    // 2.0005 s per token: rounding down (even by a millisecond) would send the client
    // back before its token exists.
    TokenBucket odd(1 / 2.0005, 1);
    drain(odd, kT0);
    EXPECT_EQ(retry_after(odd, kT0), seconds(3));
  }
}

TEST(TokenBucketTest, RetryAfterIsNeverEarly) {
  // For many rates: a client that waits exactly Retry-After gets a token.
  for (double rate : {0.1, 0.3, 0.49, 0.4999, 0.5, 0.7, 0.99, 1.0, 1.5, 3.0, 7.0}) {
    TokenBucket bucket(rate, 1);
    drain(bucket, kT0);
    seconds wait = retry_after(bucket, kT0);
    EXPECT_EQ(drain(bucket, kT0 + wait, 1), 1) << "rate " << rate << " said " << wait.count();
  }
}

TEST(TokenBucketTest, ZeroOrNegativeRateIsUnlimited) {
  for (double rate : {0.0, -1.0}) {
    TokenBucket bucket(rate, 0);
    EXPECT_TRUE(bucket.unlimited());
    for (int i = 0; i < 10000; ++i) {
      auto take = bucket.try_take(kT0);
      ASSERT_TRUE(take.taken) << i;
      ASSERT_EQ(take.retry_after, seconds(0)) << i;
    }
  }
}

TEST(TokenBucketTest, ConcurrentTakersGetExactlyTheBurst) {
  // More attempts than tokens, from threads released together: a lost update would hand out
  // more than the burst.
  constexpr int kBurst = 200000;
  constexpr int kThreads = 4;
  constexpr int kAttempts = 100000;
  TokenBucket bucket(1, kBurst);
  std::atomic<bool> go{false};
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) {
      }
      int mine = 0;
      for (int i = 0; i < kAttempts; ++i) {
        if (bucket.try_take(kT0).taken) ++mine;
      }
      taken += mine;
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(taken.load(), kBurst);
}

}  // namespace
}  // namespace wi::ingest
