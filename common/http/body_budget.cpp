#include "common/http/body_budget.h"

namespace wi::http {

bool BodyBudget::try_charge(std::size_t bytes) {
  std::size_t current = in_use_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ || current > limit_ - bytes) return false;
  } while (!in_use_.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed));
  return true;
}

void BodyBudget::release(std::size_t bytes) { in_use_.fetch_sub(bytes, std::memory_order_relaxed); }

}  // namespace wi::http
