#pragma once
// FakeConsumer: an in-memory Kafka consumer with knobs, for the worker runtime's unit tests.
// It keeps a log per partition and a fetch position per assigned partition, and behaves like
// librdkafka where the runtime depends on it:
//   append(record)                    → the record joins its partition's log (next offset)
//   assign_partitions / revoke_partitions
//                                     → the next poll() tells the RebalanceListener, from
//                                       inside poll (on_revoked before the partitions go)
//   poll()                            → the next record of the lowest assigned, unpaused
//                                       partition that has one; when none does, nothing, and
//                                       the FakeClock (if given) moves on by the timeout
//   set_fetch_size(n)                 → after n records in a row, one poll returns nothing
//                                       (a fetch boundary: the runtime's batch ends there)
//   fail_next_commits(n, error)       → the next n commit() calls fail
//   fail_next_poll(error)             → the next poll() fails
//   on_poll                           → runs at the start of every poll (tests stop a loop)
//   on_destroy                        → runs in the destructor (a test keeps what an owner
//                                       that drops the consumer did with it)
// Every call that changes the group's view (subscribe, assign, pause, resume, seek, commit,
// close) is kept in calls() as one readable line, and successful commits in commits().
// Not thread-safe, like a real Consumer: one thread polls.

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/kafka/consumer.h"
#include "tests/fakes/fake_clock.h"

namespace wi::fakes {

class FakeConsumer final : public kafka::Consumer {
 public:
  explicit FakeConsumer(FakeClock* clock = nullptr) : clock_(clock) {}
  ~FakeConsumer() override {
    if (on_destroy) on_destroy(*this);
  }

  void set_listener(kafka::RebalanceListener* listener) { listener_ = listener; }

  // ---- knobs ----

  // Appends to the record's partition; its offset is set to the next one. Returns it.
  std::int64_t append(kafka::ConsumedRecord record) {
    auto& log = logs_[{record.topic, record.partition}];
    record.offset = static_cast<std::int64_t>(log.size());
    log.push_back(std::move(record));
    return log.back().offset;
  }
  std::int64_t append(const std::string& topic, std::int32_t partition, std::string key,
                      std::string value = "v", kafka::Headers headers = {}) {
    kafka::ConsumedRecord r;
    r.topic = topic;
    r.partition = partition;
    r.key = std::move(key);
    r.value = std::move(value);
    r.headers = std::move(headers);
    return append(std::move(r));
  }
  // Makes partitions 0..n-1 of `topic` exist (empty), for end_offsets().
  void create_topic(const std::string& topic, std::int32_t partitions) {
    for (std::int32_t p = 0; p < partitions; ++p) logs_[{topic, p}];
  }

  void assign_partitions(std::vector<kafka::TopicPartition> partitions) {
    events_.push_back({true, std::move(partitions), false});
  }
  void revoke_partitions(std::vector<kafka::TopicPartition> partitions, bool lost = false) {
    events_.push_back({false, std::move(partitions), lost});
  }
  void fail_next_commits(int n, Error error = Error::unavailable("coordinator not available")) {
    commit_failures_ = n;
    commit_error_ = std::move(error);
  }
  void fail_next_poll(Error error) { poll_error_ = std::move(error); }
  void set_fetch_size(std::size_t n) { fetch_size_ = n; }
  std::function<void()> on_poll;
  std::function<void(const FakeConsumer&)> on_destroy;

  // ---- what happened ----

  const std::vector<std::string>& calls() const { return calls_; }
  // Each successful commit() call, in order.
  const std::vector<std::vector<kafka::TopicPartitionOffset>>& commits() const { return commits_; }
  // The committed offset of a partition (kOffsetInvalid when never committed).
  std::int64_t committed_offset(const kafka::TopicPartition& tp) const {
    auto it = committed_.find(tp);
    return it == committed_.end() ? kOffsetInvalid : it->second;
  }
  int failed_commits() const { return failed_commits_; }
  bool paused(const kafka::TopicPartition& tp) const { return paused_.count(tp) > 0; }
  bool closed() const { return closed_; }
  int polls() const { return polls_; }
  const std::set<kafka::TopicPartition>& assigned() const { return assigned_; }

  // ---- kafka::Consumer ----

  Status subscribe(const std::vector<std::string>& topics) override {
    calls_.push_back("subscribe " + fmt::format("{}", fmt::join(topics, ",")));
    return {};
  }
  Status assign(const std::vector<kafka::TopicPartitionOffset>& partitions) override {
    for (const auto& p : partitions) {
      kafka::TopicPartition tp{p.topic, p.partition};
      assigned_.insert(tp);
      std::int64_t end = static_cast<std::int64_t>(logs_[tp].size());
      position_[tp] = p.offset == kOffsetBeginning ? 0 : p.offset == kOffsetEnd ? end : p.offset;
      calls_.push_back(fmt::format("assign {}/{}@{}", p.topic, p.partition, p.offset));
    }
    return {};
  }

  Result<std::optional<kafka::ConsumedRecord>> poll(std::chrono::milliseconds timeout) override {
    ++polls_;
    if (on_poll) on_poll();
    if (poll_error_) {
      Error e = std::move(*poll_error_);
      poll_error_.reset();
      return e;
    }
    deliver_rebalance_events();
    if (fetch_size_ > 0 && in_a_row_ >= fetch_size_) {
      in_a_row_ = 0;
      return nothing(timeout);
    }
    for (const auto& tp : assigned_) {
      if (paused_.count(tp)) continue;
      auto& log = logs_[tp];
      auto& pos = position_[tp];
      if (pos < static_cast<std::int64_t>(log.size())) {
        ++in_a_row_;
        return std::optional<kafka::ConsumedRecord>(log[static_cast<std::size_t>(pos++)]);
      }
    }
    return nothing(timeout);
  }

  Status pause(const std::vector<kafka::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) {
      paused_.insert(tp);
      calls_.push_back(fmt::format("pause {}/{}", tp.topic, tp.partition));
    }
    return {};
  }
  Status resume(const std::vector<kafka::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) {
      paused_.erase(tp);
      calls_.push_back(fmt::format("resume {}/{}", tp.topic, tp.partition));
    }
    return {};
  }
  Status seek(const kafka::TopicPartitionOffset& p) override {
    position_[{p.topic, p.partition}] = p.offset;
    calls_.push_back(fmt::format("seek {}/{}@{}", p.topic, p.partition, p.offset));
    return {};
  }

  Status commit(const std::vector<kafka::TopicPartitionOffset>& offsets) override {
    std::string line = "commit";
    for (const auto& o : offsets) line += fmt::format(" {}/{}@{}", o.topic, o.partition, o.offset);
    if (commit_failures_ > 0) {
      --commit_failures_;
      ++failed_commits_;
      calls_.push_back(line + " (failed)");
      return commit_error_;
    }
    calls_.push_back(line);
    commits_.push_back(offsets);
    for (const auto& o : offsets) committed_[{o.topic, o.partition}] = o.offset;
    return {};
  }
  Result<std::vector<kafka::TopicPartitionOffset>> committed(
      const std::vector<kafka::TopicPartition>& partitions, std::chrono::milliseconds) override {
    std::vector<kafka::TopicPartitionOffset> out;
    for (const auto& tp : partitions) out.push_back({tp.topic, tp.partition, committed_offset(tp)});
    return out;
  }

  Result<std::vector<std::int32_t>> partitions_of(const std::string& topic,
                                                  std::chrono::milliseconds) override {
    std::vector<std::int32_t> out;
    for (const auto& [tp, log] : logs_) {
      if (tp.topic == topic) out.push_back(tp.partition);
    }
    if (out.empty()) return Error::not_found("unknown topic " + topic);
    return out;
  }
  Result<std::vector<kafka::TopicPartitionOffset>> offsets_for_time(
      const std::string& topic, std::int64_t timestamp_ms, std::chrono::milliseconds) override {
    std::vector<kafka::TopicPartitionOffset> out;
    for (const auto& [tp, log] : logs_) {
      if (tp.topic != topic) continue;
      auto it = std::find_if(log.begin(), log.end(),
                             [&](const auto& r) { return r.timestamp_ms >= timestamp_ms; });
      out.push_back({tp.topic, tp.partition, static_cast<std::int64_t>(it - log.begin())});
    }
    return out;
  }
  Result<std::vector<kafka::TopicPartitionOffset>> end_offsets(const std::string& topic,
                                                               std::chrono::milliseconds) override {
    std::vector<kafka::TopicPartitionOffset> out;
    for (const auto& [tp, log] : logs_) {
      if (tp.topic == topic) {
        out.push_back({tp.topic, tp.partition, static_cast<std::int64_t>(log.size())});
      }
    }
    if (out.empty()) return Error::not_found("unknown topic " + topic);
    return out;
  }
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> lag() override {
    std::vector<std::pair<kafka::TopicPartition, std::int64_t>> out;
    for (const auto& tp : assigned_) {
      out.push_back({tp, static_cast<std::int64_t>(logs_[tp].size()) - position_[tp]});
    }
    return out;
  }
  void close() override {
    if (!closed_) calls_.push_back("close");
    closed_ = true;
  }

 private:
  struct RebalanceEvent {
    bool assign;
    std::vector<kafka::TopicPartition> partitions;
    bool lost;
  };

  void deliver_rebalance_events() {
    while (!events_.empty()) {
      auto event = std::move(events_.front());
      events_.erase(events_.begin());
      if (!listener_) throw std::logic_error("FakeConsumer: rebalance without a listener");
      if (event.assign) {
        for (const auto& tp : event.partitions) {
          assigned_.insert(tp);
          auto c = committed_offset(tp);
          position_[tp] = c == kOffsetInvalid ? 0 : c;
        }
        listener_->on_assigned(event.partitions);
      } else {
        listener_->on_revoked(event.partitions, event.lost);
        for (const auto& tp : event.partitions) {
          assigned_.erase(tp);
          paused_.erase(tp);
          position_.erase(tp);
        }
      }
    }
  }

  Result<std::optional<kafka::ConsumedRecord>> nothing(std::chrono::milliseconds timeout) {
    in_a_row_ = 0;
    if (clock_) clock_->advance(timeout);
    return std::optional<kafka::ConsumedRecord>();
  }

  FakeClock* clock_;
  kafka::RebalanceListener* listener_ = nullptr;
  std::map<kafka::TopicPartition, std::vector<kafka::ConsumedRecord>> logs_;
  std::map<kafka::TopicPartition, std::int64_t> position_;
  std::map<kafka::TopicPartition, std::int64_t> committed_;
  std::set<kafka::TopicPartition> assigned_;
  std::set<kafka::TopicPartition> paused_;
  std::vector<RebalanceEvent> events_;
  std::vector<std::string> calls_;
  std::vector<std::vector<kafka::TopicPartitionOffset>> commits_;
  int commit_failures_ = 0;
  Error commit_error_;
  int failed_commits_ = 0;
  std::optional<Error> poll_error_;
  std::size_t fetch_size_ = 0;
  std::size_t in_a_row_ = 0;
  int polls_ = 0;
  bool closed_ = false;
};

}  // namespace wi::fakes
