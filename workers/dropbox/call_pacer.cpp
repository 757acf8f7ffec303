#include "workers/dropbox/call_pacer.h"

#include <algorithm>
#include <thread>

namespace wi::dropbox {

bool SleepingWaiter::wait(std::chrono::milliseconds duration,
                          const std::function<bool()>& stopping) {
  constexpr std::chrono::milliseconds kSlice{100};
  auto until = std::chrono::steady_clock::now() + duration;
  while (true) {
    if (stopping && stopping()) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    std::this_thread::sleep_for(std::min(left, kSlice));
  }
}

CallPacer::CallPacer(const Clock& clock, Waiter& waiter, double per_second)
    : clock_(clock), waiter_(waiter) {
  if (per_second > 0) {
    interval_ = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / per_second));
  }
}

bool CallPacer::acquire(const std::function<bool()>& stopping) {
  if (interval_.count() == 0) return true;
  auto now = clock_.steady_now();
  if (next_ > now) {
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_ - now);
    if (!waiter_.wait(wait, stopping)) return false;
    now = clock_.steady_now();
  }
  // No bursts after idle time: the next slot counts from this call.
  next_ = std::max(now, next_) + interval_;
  return true;
}

}  // namespace wi::dropbox
