// Backoff's arithmetic: doubling per attempt, jitter within the upper half of each step, the
// cap, and repeatability from a seed (what lets the runtime tests predict delays).
#include "workers/runtime/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace wi::worker {
namespace {

using std::chrono::milliseconds;

// Many draws for one attempt, each from a fresh seed.
std::vector<std::int64_t> draws(int attempt, int n = 500) {
  std::vector<std::int64_t> out;
  for (int seed = 0; seed < n; ++seed) {
    Backoff b(milliseconds(100), milliseconds(1000), static_cast<std::uint32_t>(seed));
    out.push_back(b.delay(attempt).count());
  }
  return out;
}

TEST(Backoff, DoublesPerAttemptWithJitterInTheUpperHalfUpToTheCap) {
  // step(attempt) = min(100 ms * 2^(attempt-1), 1000 ms)
  const std::vector<std::int64_t> steps = {100, 200, 400, 800, 1000, 1000};
  for (int attempt = 1; attempt <= 6; ++attempt) {
    auto step = steps[static_cast<std::size_t>(attempt - 1)];
    auto d = draws(attempt);
    auto [lo, hi] = std::minmax_element(d.begin(), d.end());
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    EXPECT_GE(*lo, step / 2);
    EXPECT_LE(*hi, step);
    // The jitter spans the range rather than sitting at one end of it.
    EXPECT_LT(*lo, step * 6 / 10);
    EXPECT_GT(*hi, step * 9 / 10);
  }
}

TEST(Backoff, TheCapHoldsForAnyNumberOfAttempts) {
  for (int attempt : {11, 21, 22, 64, 1000, 1 << 30}) {
    auto d = draws(attempt, 50);
    auto [lo, hi] = std::minmax_element(d.begin(), d.end());
    EXPECT_GE(*lo, 500) << "attempt " << attempt;
    EXPECT_LE(*hi, 1000) << "attempt " << attempt;
  }
}

TEST(Backoff, TheSameSeedGivesTheSameDelays) {
  Backoff a(milliseconds(500), milliseconds(30000), 42);
  Backoff b(milliseconds(500), milliseconds(30000), 42);
  Backoff c(milliseconds(500), milliseconds(30000), 43);
  std::vector<std::int64_t> da, db, dc;
  for (int attempt = 1; attempt <= 8; ++attempt) {
    da.push_back(a.delay(attempt).count());
    db.push_back(b.delay(attempt).count());
    dc.push_back(c.delay(attempt).count());
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

}  // namespace
}  // namespace wi::worker
