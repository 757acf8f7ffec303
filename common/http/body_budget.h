#pragma once
// BodyBudget: the bytes every connection together may hold in request bodies that are not
// answered yet (read, being read, or waiting for Kafka). A declared Content-Length is charged
// in full before its body is read, so an admitted request can always finish; a chunked body is
// charged as its buffer grows. Over the budget the server answers 503 + Retry-After instead
// of buffering, which bounds the memory slow or abusive clients can pin (issue 13). Lock-free:
// charged and released from every reactor thread and from Kafka's delivery-report thread.

#include <atomic>
#include <cstddef>

namespace wi::http {

class BodyBudget {
 public:
  explicit BodyBudget(std::size_t limit) : limit_(limit) {}

  // Charges `bytes` when the total stays within the limit; false (nothing charged) otherwise.
  bool try_charge(std::size_t bytes);
  void release(std::size_t bytes);

  std::size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  std::size_t limit() const { return limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> in_use_{0};
};

}  // namespace wi::http
