#pragma once
// eventually(): the one deadline poll the integration and system tests wait with. It returns
// whether `done` held before `limit` passed (checked once more at the deadline), so the caller
// asserts on it: a wait that ran out is a failure, never a partial result.

#include <chrono>
#include <thread>

namespace wi::testing {

template <typename F>
bool eventually(F done, std::chrono::milliseconds limit = std::chrono::seconds(60),
                std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(every);
  }
  return done();
}

}  // namespace wi::testing
