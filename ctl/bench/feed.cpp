#include "ctl/bench/feed.h"

#include <algorithm>
#include <iterator>

namespace wi::ctl {

RequestFeed::RequestFeed(const RequestFactory& factory, std::size_t max_bytes) : factory_(factory) {
  if (!factory_.expensive()) return;
  const std::size_t per_request = factory_.body_bytes() + 512;
  // A few thousand ahead cover a fraction of a second at any rate this client reaches; more
  // would only be built for nothing when the run ends.
  capacity_ = std::clamp<std::size_t>(max_bytes / per_request, 64, 4096);
  builder_ = std::thread([this] { run(); });
}

RequestFeed::~RequestFeed() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  space_.notify_all();
  if (builder_.joinable()) builder_.join();
}

void RequestFeed::run() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      space_.wait(lock, [&] { return stop_ || queue_.size() < capacity_; });
      if (stop_) return;
    }
    // Build outside the lock; push in small batches to keep the lock rare.
    std::deque<BenchRequest> batch;
    for (int i = 0; i < 32; ++i) batch.push_back(factory_.make(seq_++));
    bool full;
    {
      std::lock_guard lock(mu_);
      for (auto& r : batch) queue_.push_back(std::move(r));
      full = queue_.size() >= capacity_;
    }
    if (full) filled_.notify_all();
  }
}

void RequestFeed::prefill() {
  if (!builder_.joinable()) return;
  std::unique_lock lock(mu_);
  filled_.wait(lock, [&] { return queue_.size() >= capacity_; });
}

BenchRequest RequestFeed::next() {
  if (local_.empty() && builder_.joinable()) {
    {
      // A slice, not the whole queue: the builder then only replaces what was used, so it
      // does not build a queue's worth for nothing at the end of the run.
      std::lock_guard lock(mu_);
      const std::size_t n = std::min<std::size_t>(queue_.size(), 256);
      std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
                std::back_inserter(local_));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    space_.notify_one();
  }
  if (local_.empty()) {
    if (builder_.joinable()) ++built_inline_;
    return factory_.make(seq_++);
  }
  BenchRequest r = std::move(local_.front());
  local_.pop_front();
  return r;
}

}  // namespace wi::ctl
