#pragma once
// A token bucket per source: `per_second` tokens refill continuously up to `burst`.
// Thread-safe (one short critical section per request).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>

#include "common/clock.h"

namespace wi::ingest {

class TokenBucket {
 public:
  TokenBucket(double per_second, double burst) : rate_(per_second), burst_(burst), tokens_(burst) {}

  bool unlimited() const { return rate_ <= 0; }

  struct Take {
    bool taken = true;
    std::chrono::seconds retry_after{0};  // when refused: when the next token will be there
  };

  // Takes one token if there is one.
  Take try_take(SteadyTime now) {
    if (unlimited()) return {};
    std::lock_guard lock(mu_);
    if (!started_) {
      last_ = now;
      started_ = true;
    }
    double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return {};
    }
    double wait_s = (1.0 - tokens_) / rate_;
    // Rounded up: a Retry-After even a millisecond early earns the client another 429.
    return {false, std::chrono::seconds(std::max<long>(1, static_cast<long>(std::ceil(wait_s))))};
  }

 private:
  std::mutex mu_;
  double rate_;
  double burst_;
  double tokens_;
  SteadyTime last_{};
  bool started_ = false;
};

}  // namespace wi::ingest
