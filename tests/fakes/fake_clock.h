#pragma once
// FakeClock: a wi::Clock that stands still until the test advances it. Wall and steady time
// move together, so code that mixes them sees a consistent world. Thread-safe.

#include <chrono>
#include <mutex>

#include "common/clock.h"

namespace wi::fakes {

class FakeClock final : public Clock {
 public:
  // 2026-11-27T01:35:50Z: an arbitrary, fixed wall time far from the epoch.
  static constexpr std::chrono::seconds kDefaultUnixSeconds{1795743350};

  FakeClock() : now_(kDefaultUnixSeconds), steady_(std::chrono::hours(1000)) {}
  explicit FakeClock(SystemTime start) : now_(start), steady_(std::chrono::hours(1000)) {}

  SystemTime now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  SteadyTime steady_now() const override {
    std::lock_guard lock(mu_);
    return steady_;
  }

  template <class Rep, class Period>
  void advance(std::chrono::duration<Rep, Period> d) {
    std::lock_guard lock(mu_);
    now_ += std::chrono::duration_cast<SystemTime::duration>(d);
    steady_ += std::chrono::duration_cast<SteadyTime::duration>(d);
  }

  // Moves wall time only (NTP step); steady time never jumps.
  void set_wall(SystemTime t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  SystemTime now_;
  SteadyTime steady_;
};

}  // namespace wi::fakes
