#include "workers/runtime/worker_runtime.h"

#include <algorithm>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "common/log.h"
#include "workers/runtime/dead_letter.h"
#include "workers/runtime/state_restore.h"

namespace wi::worker {

using kafka::ConsumedRecord;
using kafka::TopicPartition;
using namespace std::chrono_literals;

WorkerRuntime::WorkerRuntime(RuntimeOptions options, RecordHandler& handler,
                             RuntimeConsumers consumers, kafka::Publisher& publisher,
                             metrics::Registry& registry, const Clock& clock,
                             ConsumerLagGauge* lag_gauge)
    : options_(std::move(options)),
      handler_(handler),
      consumers_(std::move(consumers)),
      publisher_(publisher),
      registry_(registry),
      clock_(clock),
      metrics_(registry, options_.worker),
      own_lag_gauge_(lag_gauge ? nullptr : std::make_unique<ConsumerLagGauge>(registry)),
      lag_gauge_(lag_gauge ? *lag_gauge : *own_lag_gauge_),
      log_(log::get(options_.worker + "-worker")),
      backoff_(options_.backoff_initial, options_.backoff_max,
               options_.jitter_seed ? *options_.jitter_seed : std::random_device{}()) {
  lag_source_ = lag_gauge_.add([this] {
    std::vector<metrics::Registry::Sample> out;
    std::lock_guard lock(lag_mu_);
    for (const auto& [tp, lag] : lag_) {
      if (lag >= 0) out.push_back({{tp.topic, std::to_string(tp.partition)}, double(lag)});
    }
    return out;
  });
}

WorkerRuntime::~WorkerRuntime() { lag_gauge_.remove(lag_source_); }

Status WorkerRuntime::start() {
  auto consumer = consumers_.group(*this);
  if (!consumer) return consumer.error();
  consumer_ = std::move(*consumer);
  if (auto s = consumer_->subscribe(options_.topics); !s) return s;
  log_->info("consuming {} as group {}", fmt::join(options_.topics, ","), options_.group);
  return {};
}

// ---- rebalancing --------------------------------------------------------------------------------

void WorkerRuntime::on_assigned(const std::vector<TopicPartition>& partitions) {
  metrics_.rebalances.inc();
  for (const auto& tp : partitions) assigned_.insert(tp);
  update_assigned_partitions();
  log_->info("assigned {} partition(s), now {}", partitions.size(), assigned_.size());
  if (options_.state_topic) restore_state(partitions);
}

void WorkerRuntime::on_revoked(const std::vector<TopicPartition>& partitions, bool lost) {
  metrics_.rebalances.inc();
  if (!lost) {
    commit_pending(&partitions);  // before the partitions move on
  } else {
    log_->warn("lost {} partition(s): their uncommitted records will be handled again",
               partitions.size());
  }
  for (const auto& tp : partitions) {
    assigned_.erase(tp);
    pending_commits_.erase(tp);
    retries_.erase(tp);
    paused_.erase(tp);
    if (tp.topic == options_.topics.front()) state_.erase(tp.partition);
    std::lock_guard lock(lag_mu_);
    lag_.erase(tp);
  }
  update_assigned_partitions();
  update_state_keys();
  log_->info("revoked {} partition(s){}, now {}", partitions.size(), lost ? " (lost)" : "",
             assigned_.size());
}

void WorkerRuntime::restore_state(const std::vector<TopicPartition>& partitions) {
  const auto& changelog = *options_.state_topic;
  std::vector<std::int32_t> mine;
  for (const auto& tp : partitions) {
    if (tp.topic == options_.topics.front()) mine.push_back(tp.partition);
  }
  if (mine.empty()) return;
  auto started = clock_.steady_now();
  // A failure here leaves the worker unable to handle these partitions correctly: stop loudly.
  auto reader = consumers_.restore();
  if (!reader) throw std::runtime_error("state restore: " + reader.error().message);
  auto report = worker::restore_state(**reader, publisher_, changelog, mine, state_, clock_);
  update_state_keys();
  log_->info("restored {} state record(s) for {} partition(s) of {} in {} ms ({} keys)",
             report.applied, mine.size(), changelog,
             std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - started)
                 .count(),
             report.keys);
}

void WorkerRuntime::update_assigned_partitions() {
  auto now = static_cast<double>(assigned_.size());
  metrics_.assigned_partitions.inc(now - reported_assigned_);
  reported_assigned_ = now;
}

void WorkerRuntime::update_state_keys() {
  std::size_t keys = 0;
  for (const auto& [p, store] : state_) keys += store->size();
  metrics_.state_keys.inc(static_cast<double>(keys) - reported_state_keys_);
  reported_state_keys_ = static_cast<double>(keys);
}

// ---- the loop -----------------------------------------------------------------------------------

void WorkerRuntime::run(const std::atomic<bool>& stop) {
  last_commit_ = clock_.steady_now();  // "a second of work" counts from here, not from 0
  while (!stop) {
    resume_due_partitions();
    handle_batch(poll_batch(), stop);
    commit_pending();
    update_lag();
  }
  log_->info("stopping: committing and leaving the group");
  commit_pending();
  consumer_->close();
}

std::vector<ConsumedRecord> WorkerRuntime::poll_batch() {
  std::vector<ConsumedRecord> batch;
  auto next = consumer_->poll(100ms);
  while (true) {
    if (!next) {
      if (!next.error().retryable) log_->error("consume: {}", next.error().message);
      break;
    }
    if (!*next) break;
    batch.push_back(std::move(**next));
    if (batch.size() >= options_.max_batch) break;
    next = consumer_->poll(0ms);
  }
  return batch;
}

void WorkerRuntime::handle_batch(std::vector<ConsumedRecord> batch, const std::atomic<bool>& stop) {
  // Group by partition, keeping offset order, so a handler can look ahead in its partition.
  std::map<TopicPartition, std::vector<ConsumedRecord>> by_partition;
  for (auto& rec : batch) by_partition[{rec.topic, rec.partition}].push_back(std::move(rec));
  for (auto& [tp, records] : by_partition) {
    for (std::size_t i = 0; i < records.size() && !stop; ++i) {
      // A revocation during polling took this partition away: its new owner handles it.
      if (!assigned_.count(tp)) break;
      std::span<const ConsumedRecord> later(records.data() + i + 1, records.size() - i - 1);
      if (!handle_record(records[i], later, stop)) break;
      // Slow handlers: commit as we go, so a crash repeats at most a second of work.
      if (clock_.steady_now() - last_commit_ >= 1s) commit_pending();
    }
    if (stop) break;
  }
}

bool WorkerRuntime::handle_record(const ConsumedRecord& record,
                                  std::span<const ConsumedRecord> later,
                                  const std::atomic<bool>& stop) {
  TopicPartition tp{record.topic, record.partition};
  int attempt = 1;
  if (auto it = retries_.find(tp); it != retries_.end() && it->second.offset == record.offset) {
    attempt = it->second.attempts + 1;
  }
  HandlerContext context;
  context.attempt = attempt;
  context.later_in_partition = later;
  context.stopping = [&stop] { return stop.load(); };
  if (options_.state_topic && record.topic == options_.topics.front()) {
    auto it = state_.find(record.partition);
    context.state = it == state_.end() ? nullptr : it->second.get();
  }
  HandleResult result = call_handler(record, context);
  if (result.outcome == Outcome::kRetry && stop) {
    // Abandoned at shutdown: not committed, handled again by the partition's next owner.
    return false;
  }
  if (result.outcome == Outcome::kRetry && attempt >= options_.max_attempts) {
    result = HandleResult::dead_letter(
        fmt::format("gave up after {} attempts: {}", attempt, result.reason));
  }
  switch (result.outcome) {
    case Outcome::kProcessed:
      break;
    case Outcome::kSkipped:
      log_->debug("skipped {}/{}@{}: {}", record.topic, record.partition, record.offset,
                  result.reason);
      break;
    case Outcome::kRetry:
      metrics_.records.with({options_.worker, "retried"}).inc();
      schedule_retry(record, attempt, result.reason);
      return false;
    case Outcome::kDeadLetter:
      if (auto s = dead_letter(record, attempt, result.reason); !s) {
        // Without the dead letter we must not commit: keep the record and try again later.
        log_->error("dead letter for {}/{}@{} failed: {}", record.topic, record.partition,
                    record.offset, s.error().message);
        schedule_retry(record, attempt, "dead letter failed");
        return false;
      }
      break;
  }
  metrics_.records.with({options_.worker, to_string(result.outcome)}).inc();
  retries_.erase(tp);
  pending_commits_[tp] = record.offset + 1;
  return true;
}

HandleResult WorkerRuntime::call_handler(const ConsumedRecord& record, HandlerContext& context) {
  // A redriven or replayed record meant for one group only (SPEC §5): every other group lets
  // it pass, so one deploy host's dead letter does not redeploy every host.
  using kafka::control_headers::kRedriveForGroup;
  if (const std::string* for_group = kafka::find_header(record.headers, kRedriveForGroup);
      for_group && *for_group != options_.group) {
    return HandleResult::skipped(fmt::format("{} is for group {}", kRedriveForGroup,
                                             *for_group));
  }
  auto started = clock_.steady_now();
  HandleResult result;
  try {
    result = handler_.handle(record, context);
  } catch (const std::exception& e) {
    // A handler bug must not take the worker down or lose the record.
    result = HandleResult::retry(fmt::format("handler threw: {}", e.what()));
  }
  metrics_.handle_seconds.observe(
      std::chrono::duration<double>(clock_.steady_now() - started).count());
  return result;
}

void WorkerRuntime::schedule_retry(const ConsumedRecord& record, int attempt,
                                   const std::string& reason) {
  TopicPartition tp{record.topic, record.partition};
  auto delay = backoff_.delay(attempt);
  retries_[tp] = Retry{record.offset, attempt, clock_.steady_now() + delay};
  log_->warn("retry {}/{}@{} in {} ms (attempt {} of {}): {}", record.topic, record.partition,
             record.offset, delay.count(), attempt, options_.max_attempts, reason);
  // Only this partition waits; everything after the record is fetched again after the seek.
  if (auto s = consumer_->pause({tp}); !s) log_->error("{}", s.error().message);
  paused_.insert(tp);
  if (auto s = consumer_->seek({record.topic, record.partition, record.offset}); !s) {
    log_->error("{}", s.error().message);
  }
}

void WorkerRuntime::resume_due_partitions() {
  auto now = clock_.steady_now();
  std::vector<TopicPartition> due;
  for (const auto& tp : paused_) {
    auto it = retries_.find(tp);
    if (it == retries_.end() || it->second.resume_at <= now) due.push_back(tp);
  }
  if (due.empty()) return;
  if (auto s = consumer_->resume(due); !s) log_->error("{}", s.error().message);
  for (const auto& tp : due) paused_.erase(tp);
}

Status WorkerRuntime::dead_letter(const ConsumedRecord& record, int attempts,
                                  const std::string& reason) {
  if (auto s = publish_dead_letter(publisher_, record,
                                   {options_.worker, options_.group, attempts, reason});
      !s) {
    return s;
  }
  const std::string* event_id = kafka::find_header(record.headers, "event-id");
  log_->warn("dead-lettered {}/{}@{} event_id={} after {} attempt(s): {}", record.topic,
             record.partition, record.offset, event_id ? *event_id : "-", attempts, reason);
  return {};
}

void WorkerRuntime::commit_pending(const std::vector<TopicPartition>* only) {
  std::vector<kafka::TopicPartitionOffset> offsets;
  for (const auto& [tp, offset] : pending_commits_) {
    if (only && std::find(only->begin(), only->end(), tp) == only->end()) continue;
    offsets.push_back({tp.topic, tp.partition, offset});
  }
  if (!only) last_commit_ = clock_.steady_now();
  if (offsets.empty()) return;
  if (auto s = consumer_->commit(offsets); !s) {
    // Not fatal: the records are handled again after a restart (at-least-once).
    log_->warn("commit failed: {}", s.error().message);
    return;
  }
  for (const auto& o : offsets) pending_commits_.erase({o.topic, o.partition});
}

void WorkerRuntime::update_lag() {
  auto lags = consumer_->lag();
  std::lock_guard lock(lag_mu_);
  for (const auto& [tp, lag] : lags) lag_[tp] = lag;
}

}  // namespace wi::worker
