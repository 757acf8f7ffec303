#include "ctl/interrupt.h"

#include <csignal>

namespace wi::ctl {

namespace {
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);
}  // namespace

const std::atomic<bool>& stop_on_interrupt() {
  std::signal(SIGINT, [](int) { g_interrupted = true; });
  std::signal(SIGTERM, [](int) { g_interrupted = true; });
  return g_interrupted;
}

}  // namespace wi::ctl
