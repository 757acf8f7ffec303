#pragma once
// Fakes for dropbox-worker's unit tests. FakeHttpClient and FakePublisher have the same
// knobs as the shared ones another branch adds to tests/fakes/ (fake_http_client.h,
// fake_publisher.h); once both are merged these two can go in favour of those.
//   FakeHttpClient: records requests, answers from a script (then `status` with body "{}")
//   FakePublisher:  delivers inline; fail_next(n) refuses the next n records
//   FakeWaiter:     "waits" by advancing a FakeClock, records every wait; stop_after(n)
//                   makes the n-th wait report a shutdown

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/kafka/publisher.h"
#include "tests/fakes/fake_clock.h"
#include "workers/dropbox/call_pacer.h"

namespace wi::dropbox::test {

class FakeHttpClient final : public http_client::HttpClient {
 public:
  Result<http_client::Response> send(const http_client::Request& request) override {
    std::lock_guard lock(mu_);
    requests.push_back(request);
    if (!answers.empty()) {
      auto next = std::move(answers.front());
      answers.pop_front();
      return next;
    }
    return http_client::Response{status, {}, "{}"};
  }

  std::vector<http_client::Request> requests;
  std::deque<Result<http_client::Response>> answers;
  int status = 200;

 private:
  std::mutex mu_;
};

class FakePublisher final : public kafka::Publisher {
 public:
  void publish(kafka::OutgoingRecord record, DeliveryCallback on_delivery) override {
    on_delivery(take(std::move(record)));
  }
  void publish_or_return(kafka::OutgoingRecord record, ReturningCallback on_delivery) override {
    auto copy = record;
    on_delivery(take(std::move(record)), std::move(copy));
  }
  Status flush(std::chrono::milliseconds) override { return {}; }
  std::size_t in_flight() const override { return 0; }

  void fail_next(int n) { fail_next_ = n; }
  // Records of one topic, in publish order.
  std::vector<kafka::OutgoingRecord> on(const std::string& topic) const {
    std::vector<kafka::OutgoingRecord> out;
    for (const auto& r : records) {
      if (r.topic == topic) out.push_back(r);
    }
    return out;
  }
  std::vector<kafka::OutgoingRecord> records;
  std::vector<kafka::OutgoingRecord> refused;

 private:
  Result<kafka::Delivery> take(kafka::OutgoingRecord record) {
    if (fail_next_ > 0) {
      --fail_next_;
      refused.push_back(std::move(record));
      return Error::unavailable("broker down");
    }
    records.push_back(std::move(record));
    return kafka::Delivery{0, static_cast<std::int64_t>(records.size() - 1)};
  }
  int fail_next_ = 0;
};

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
