#include "workers/runtime/worker_runtime.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/log.h"
#include "common/topics.h"

namespace wi::worker {

using kafka::ConsumedRecord;
using kafka::TopicPartition;
using namespace std::chrono_literals;

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kProcessed: return "processed";
    case Outcome::kSkipped: return "skipped";
    case Outcome::kRetry: return "retried";
    case Outcome::kDeadLetter: return "dead_lettered";
  }
  return "unknown";
}

RuntimeMetrics::RuntimeMetrics(metrics::Registry& registry, const std::string& worker)
    : records(registry.counter("worker_records_total", "Records handled, by outcome",
                               {"worker", "outcome"})),
      handle_seconds(registry
                         .histogram("worker_handle_seconds", "Time spent in the handler per record",
                                    metrics::kLatencyBuckets, {"worker"})
                         .with({worker})),
      rebalances(registry.counter("worker_rebalances_total", "Partition assignment changes", {"worker"})
                     .with({worker})),
      assigned_partitions(
          registry.gauge("worker_assigned_partitions", "Partitions this process owns", {"worker"})
              .with({worker})),
      state_keys(registry.gauge("worker_state_store_keys", "Keys in the restored state stores",
                                {"worker"})
                     .with({worker})) {
  for (const char* outcome : {"processed", "skipped", "retried", "dead_lettered"}) {
    records.with({worker, outcome});
  }
}

WorkerRuntime::WorkerRuntime(RuntimeOptions options, RecordHandler& handler,
                             kafka::Publisher& publisher, metrics::Registry& registry,
                             const Clock& clock)
    : options_(std::move(options)),
      handler_(handler),
      publisher_(publisher),
      registry_(registry),
      clock_(clock),
      metrics_(registry, options_.worker),
      log_(log::get(options_.worker + "-worker")) {
  registry_.gauge_callback(
      "worker_consumer_lag", "Records between this consumer's position and the partition's end",
      {"topic", "partition"}, [this] {
        std::vector<metrics::Registry::Sample> out;
        std::lock_guard lock(lag_mu_);
        for (const auto& [tp, lag] : lag_) {
          if (lag >= 0) out.push_back({{tp.topic, std::to_string(tp.partition)}, double(lag)});
        }
        return out;
      });
}

WorkerRuntime::~WorkerRuntime() = default;

Status WorkerRuntime::start() {
  kafka::ConsumerOptions options;
  options.client = options_.client;
  options.group_id = options_.group;
  options.listener = this;
  options.session_timeout_ms = options_.session_timeout_ms;
  options.max_poll_interval_ms = options_.max_poll_interval_ms;
  options.auto_offset_reset = options_.auto_offset_reset;
  auto consumer = kafka::RdKafkaConsumer::create(options);
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
  metrics_.assigned_partitions.set(static_cast<double>(assigned_.size()));
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
  metrics_.assigned_partitions.set(static_cast<double>(assigned_.size()));
  std::size_t keys = 0;
  for (const auto& [p, store] : state_) keys += store->size();
  metrics_.state_keys.set(static_cast<double>(keys));
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
  kafka::ConsumerOptions options;
  options.client = options_.client;
  options.client.client_id = options_.worker + "-restore";
  // The restore consumer reads the changelog directly, never joining the group. A failure
  // here leaves the worker unable to handle these partitions correctly: stop loudly.
  auto restorer = kafka::RdKafkaConsumer::create(options);
  if (!restorer) throw std::runtime_error("state restore: " + restorer.error().message);
  auto ends = (*restorer)->end_offsets(changelog, 30s);
  if (!ends) throw std::runtime_error("state restore: " + ends.error().message);
  std::map<std::int32_t, std::int64_t> end_of;
  for (const auto& e : *ends) end_of[e.partition] = e.offset;
  std::vector<kafka::TopicPartitionOffset> start;
  std::set<std::int32_t> remaining;
  for (auto p : mine) {
    state_[p] = std::make_unique<StateStore>(publisher_, changelog, p);
    if (end_of[p] > 0) {
      start.push_back({changelog, p, kafka::Consumer::kOffsetBeginning});
      remaining.insert(p);
    }
  }
  std::size_t applied = 0;
  if (!start.empty()) {
    if (auto s = (*restorer)->assign(start); !s) {
      throw std::runtime_error("state restore: " + s.error().message);
    }
    auto deadline = clock_.steady_now() + 120s;
    while (!remaining.empty()) {
      if (clock_.steady_now() > deadline) {
        throw std::runtime_error("state restore of " + changelog + " did not finish in 120 s");
      }
      auto r = (*restorer)->poll(200ms);
      if (!r) continue;
      if (!*r) continue;
      const auto& rec = **r;
      if (rec.key) {
        state_[rec.partition]->apply(*rec.key, rec.null_value ? std::nullopt
                                                              : std::optional<std::string>(rec.value));
        ++applied;
      }
      if (rec.offset + 1 >= end_of[rec.partition]) remaining.erase(rec.partition);
    }
  }
  (*restorer)->close();
  std::size_t keys = 0;
  for (const auto& [p, store] : state_) keys += store->size();
  metrics_.state_keys.set(static_cast<double>(keys));
  log_->info("restored {} state record(s) for {} partition(s) of {} in {} ms ({} keys)", applied,
             mine.size(), changelog,
             std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - started)
                 .count(),
             keys);
}

// ---- the loop -----------------------------------------------------------------------------------

void WorkerRuntime::run(const std::atomic<bool>& stop) {
  while (!stop) {
    resume_due_partitions();
    auto batch = poll_batch();
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
        if (clock_.steady_now() - last_commit_ >= std::chrono::seconds(1)) commit_pending();
      }
      if (stop) break;
    }
    commit_pending();
    update_lag();
  }
  log_->info("stopping: committing and leaving the group");
  commit_pending();
  consumer_->close();
}

std::vector<ConsumedRecord> WorkerRuntime::poll_batch() {
  std::vector<ConsumedRecord> batch;
  auto first = consumer_->poll(100ms);
  while (true) {
    if (!first) {
      if (!first.error().retryable) log_->error("consume: {}", first.error().message);
      break;
    }
    if (!*first) break;
    batch.push_back(std::move(**first));
    if (batch.size() >= options_.max_batch) break;
    first = consumer_->poll(0ms);
  }
  return batch;
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
    case Outcome::kSkipped:
      if (result.outcome == Outcome::kSkipped) {
        log_->debug("skipped {}/{}@{}: {}", record.topic, record.partition, record.offset,
                    result.reason);
      }
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

void WorkerRuntime::schedule_retry(const ConsumedRecord& record, int attempt,
                                   const std::string& reason) {
  TopicPartition tp{record.topic, record.partition};
  auto delay = backoff(attempt);
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

std::chrono::milliseconds WorkerRuntime::backoff(int attempt) {
  // Exponential with full jitter in the upper half: spreads retries of many workers.
  double base = static_cast<double>(options_.backoff_initial.count()) *
                std::pow(2.0, std::min(attempt - 1, 20));
  base = std::min(base, static_cast<double>(options_.backoff_max.count()));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base * jitter(rng_)));
}

Status WorkerRuntime::dead_letter(const ConsumedRecord& record, int attempts,
                                  const std::string& reason) {
  kafka::OutgoingRecord dlq;
  dlq.topic = record.topic + topics::kDlqSuffix;
  dlq.key = record.key;
  dlq.value = record.value;
  dlq.tombstone = record.null_value;
  dlq.headers = record.headers;
  dlq.headers.push_back({"dlq-reason", reason});
  dlq.headers.push_back({"dlq-worker", options_.worker});
  dlq.headers.push_back({"dlq-attempts", std::to_string(attempts)});
  dlq.headers.push_back({"dlq-original-topic", record.topic});
  dlq.headers.push_back({"dlq-original-partition", std::to_string(record.partition)});
  dlq.headers.push_back({"dlq-original-offset", std::to_string(record.offset)});
  auto delivered = kafka::publish_and_wait(publisher_, std::move(dlq), 30s);
  if (!delivered) return delivered.error();
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
