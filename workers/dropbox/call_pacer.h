#pragma once
// Waiting, as a port: the poller waits for Retry-After and for its call budget. The real
// Waiter sleeps in short slices so a shutdown is noticed; tests use a fake that advances a
// FakeClock (no sleeps in unit tests).
//
// CallPacer: at most `per_second` Dropbox API calls per process. Dropbox limits by app and
// by user; the runtime already keeps one call in flight per process (it handles one record
// at a time), and an account is polled by the one process owning its partition, so the
// remaining global knob is the call rate: with N processes the fleet makes at most
// N × per_second calls. 0 turns pacing off.

#include <chrono>
#include <functional>

#include "common/clock.h"

namespace wi::dropbox {

class Waiter {
 public:
  virtual ~Waiter() = default;
  // Waits `duration`; false when `stopping` became true first (the wait was cut short).
  virtual bool wait(std::chrono::milliseconds duration, const std::function<bool()>& stopping) = 0;
};

class SleepingWaiter final : public Waiter {
 public:
  bool wait(std::chrono::milliseconds duration, const std::function<bool()>& stopping) override;
};

// Single-threaded (the handler thread).
class CallPacer {
 public:
  CallPacer(const Clock& clock, Waiter& waiter, double per_second);
  // Waits for the next call's slot; false when interrupted by `stopping`.
  bool acquire(const std::function<bool()>& stopping);

 private:
  const Clock& clock_;
  Waiter& waiter_;
  std::chrono::nanoseconds interval_{0};
  SteadyTime next_{};
};

}  // namespace wi::dropbox
