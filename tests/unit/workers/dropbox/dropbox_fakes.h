#pragma once
// dropbox-worker's own test doubles and helpers (the HttpClient and Publisher fakes are the
// shared ones in tests/fakes/):
//   FakeWaiter:     "waits" by advancing a FakeClock, records every wait; stop_after(n)
//                   makes the n-th wait report a shutdown
//   answer(...), request_header(...): building scripted responses, reading requests

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_http_client.h"
#include "tests/fakes/fake_publisher.h"
#include "workers/dropbox/call_pacer.h"

namespace wi::dropbox::test {

class FakeWaiter final : public Waiter {
 public:
  explicit FakeWaiter(fakes::FakeClock& clock) : clock_(clock) {}
  bool wait(std::chrono::milliseconds duration, const std::function<bool()>&) override {
    waits.push_back(duration);
    if (stop_at_ > 0 && static_cast<int>(waits.size()) >= stop_at_) return false;
    clock_.advance(duration);
    return true;
  }
  void stop_after(int n) { stop_at_ = n; }
  std::vector<std::chrono::milliseconds> waits;

 private:
  fakes::FakeClock& clock_;
  int stop_at_ = 0;
};

inline http_client::Response answer(int status, std::string body,
                                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  return http_client::Response{status, std::move(headers), std::move(body)};
}

inline std::string request_header(const http_client::Request& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

}  // namespace wi::dropbox::test
