#pragma once
// Requests built ahead of the load: a thread keeps a bounded queue of ready request bytes
// filled, so the sending thread only writes. When the queue runs dry (the builder cannot keep
// up) the sender builds inline rather than wait. Sequence numbers are never reused.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>

#include "ctl/bench/requests.h"

namespace wi::ctl {

class RequestFeed {
 public:
  // Builds on a thread of its own when factory.expensive(), up to `max_bytes` of requests
  // ahead (64 to 4096 requests); else next() builds inline (cheap templates).
  RequestFeed(const RequestFactory& factory, std::size_t max_bytes);
  ~RequestFeed();
  RequestFeed(const RequestFeed&) = delete;
  RequestFeed& operator=(const RequestFeed&) = delete;

  // Fills the queue before the clock starts (returns when full, or at once when inline).
  void prefill();
  // The next request. Only one thread calls it (the sender).
  BenchRequest next();
  // Requests the sender had to build itself because the queue was empty.
  std::uint64_t built_inline() const { return built_inline_; }

 private:
  void run();

  const RequestFactory& factory_;
  std::size_t capacity_ = 0;
  std::atomic<std::uint64_t> seq_{0};
  std::uint64_t built_inline_ = 0;
  std::mutex mu_;
  std::condition_variable space_;   // builder waits for room
  std::condition_variable filled_;  // prefill waits for a full queue
  std::deque<BenchRequest> queue_;  // guarded by mu_
  std::deque<BenchRequest> local_;  // sender's slice of queue_, taken in one lock
  bool stop_ = false;
  std::thread builder_;
};

}  // namespace wi::ctl
