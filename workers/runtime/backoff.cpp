#include "workers/runtime/backoff.h"

#include <algorithm>
#include <cmath>

namespace wi::worker {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                 std::uint32_t seed)
    : initial_(initial), max_(max), rng_(seed) {}

std::chrono::milliseconds Backoff::delay(int attempt) {
  // The exponent is bounded so that the double never overflows before the cap applies.
  double step =
      static_cast<double>(initial_.count()) * std::pow(2.0, std::clamp(attempt - 1, 0, 20));
  step = std::min(step, static_cast<double>(max_.count()));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(step * jitter(rng_)));
}

}  // namespace wi::worker
