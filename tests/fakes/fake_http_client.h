#pragma once
// FakeHttpClient: records every request and answers from a script:
//   answers (front first)  → the next responses or errors
//   status                 → the answer once the script is used up: `status` with body "{}"
// send() is thread-safe; read `requests` once the code under test is done with the client.

#include <deque>
#include <mutex>
#include <vector>

#include "common/http_client.h"

namespace wi::fakes {

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
  int status = 201;

 private:
  std::mutex mu_;
};

}  // namespace wi::fakes
