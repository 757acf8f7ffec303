#pragma once
// Backoff: how long a retried record's partition waits before the next attempt. Exponential
// from `initial`, capped at `max`, with jitter in the upper half of each step so that many
// workers retrying the same outage do not come back in lockstep. Seedable, so tests can check
// the bounds deterministically. Not thread-safe (the runtime's consumer thread owns it).

#include <chrono>
#include <cstdint>
#include <random>

namespace wi::worker {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, std::uint32_t seed);

  // The wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed:
  // in [step / 2, step] where step = min(initial * 2^(attempt-1), max).
  std::chrono::milliseconds delay(int attempt);

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::mt19937 rng_;
};

}  // namespace wi::worker
