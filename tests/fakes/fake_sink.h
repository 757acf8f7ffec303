#pragma once
// FakeSink: an EventSink with knobs. By default it holds every record: the test decides when
// (and how) each one completes, which is how a slow or unreachable broker looks from the edge.
//   complete_next(Status())                     → the record became durable
//   complete_next(Error::unavailable("down"))   → it could not be stored
//   fail_next_inline(n, error)                  → the next n accept() calls refuse at once
//   succeed_inline(true)                        → every record is durable immediately
// Every record handed to accept() is kept in records(), refused ones included, so a test can
// prove that nothing was published. Thread-safe; callbacks run without the lock held.

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "ingest/event_sink.h"

namespace wi::fakes {

class FakeSink final : public ingest::EventSink {
 public:
  void accept(kafka::OutgoingRecord record, Callback on_durable) override {
    std::optional<Status> inline_verdict;
    {
      std::lock_guard lock(mu_);
      records_.push_back(std::move(record));
      if (fail_inline_ > 0) {
        --fail_inline_;
        inline_verdict = Status(inline_error_);
      } else if (succeed_inline_) {
        inline_verdict = Status();
      } else {
        pending_.push_back(std::move(on_durable));
      }
    }
    if (inline_verdict) on_durable(std::move(*inline_verdict));
  }

  void fail_next_inline(int n, Error error) {
    std::lock_guard lock(mu_);
    fail_inline_ = n;
    inline_error_ = std::move(error);
  }
  void succeed_inline(bool on) {
    std::lock_guard lock(mu_);
    succeed_inline_ = on;
  }

  // Completes the oldest held record. Throws when none is held (a test bug).
  void complete_next(Status verdict) {
    Callback cb;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) throw std::logic_error("FakeSink: no record is pending");
      cb = std::move(pending_.front());
      pending_.pop_front();
    }
    cb(std::move(verdict));
  }

  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return pending_.size();
  }
  std::vector<kafka::OutgoingRecord> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  std::size_t record_count() const {
    std::lock_guard lock(mu_);
    return records_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<kafka::OutgoingRecord> records_;
  std::deque<Callback> pending_;
  int fail_inline_ = 0;
  Error inline_error_;
  bool succeed_inline_ = false;
};

}  // namespace wi::fakes
