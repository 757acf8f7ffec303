#include "ingest/spool/spooling_sink.h"

#include <fmt/format.h>

#include "common/log.h"
#include "common/thread_name.h"

namespace wi::spool {

namespace {
// Kafka will never take this record as it is (too large, not authorised): retrying would hold
// up everything behind it. A fatal producer error is not the record's fault: retried.
bool refused_for_good(const Error& error) {
  return !error.retryable && error.code != ErrorCode::kInternal;
}

// Records handed to the drain producer and not yet confirmed. Enough to fill several produce
// batches per partition while the loop sleeps between refills (512 drained 100k records at
// 20k/s, 4096 at 50k/s); at 2 KB records that is under 10 MB in the producer's queue.
constexpr std::int64_t kMaxDrainInFlight = 4096;
}  // namespace

SpoolingSink::SpoolingSink(kafka::Publisher& direct, kafka::Publisher& drain, Spool& spool,
                           std::function<bool()> kafka_up, metrics::Registry& registry)
    : direct_(direct),
      drain_(drain),
      spool_(spool),
      kafka_up_(std::move(kafka_up)),
      log_(log::get("spool")),
      drained_total_(registry
                         .counter("ingest_spool_drained_total",
                                  "Spooled records republished to Kafka and confirmed")
                         .with({})),
      corrupt_total_(registry
                         .counter("ingest_spool_corrupt_total",
                                  "Damaged spool regions and unreadable spooled records skipped "
                                  "(never published)")
                         .with({})),
      rejected_total_(registry
                          .counter("ingest_spool_rejected_total",
                                   "Spooled records Kafka refused for good, kept in <spool>/rejected/")
                          .with({})) {
  registry.gauge_callback("ingest_spool_bytes", "Bytes in the spool's files", {},
                          [this] {
                            return std::vector<metrics::Registry::Sample>{
                                {{}, static_cast<double>(spool_.stats().bytes)}};
                          });
  registry.gauge_callback("ingest_spool_records", "Records in the spool not yet in Kafka", {},
                          [this] {
                            return std::vector<metrics::Registry::Sample>{
                                {{}, static_cast<double>(spool_.stats().records)}};
                          });
  registry.gauge_callback("ingest_spool_oldest_age_seconds",
                          "Age of the oldest record waiting in the spool", {}, [this] {
                            return std::vector<metrics::Registry::Sample>{
                                {{}, spool_.stats().oldest_age_seconds}};
                          });
  if (!spool_.empty()) {
    spooling_ = true;
    log_->warn("spool holds records from before the restart: spooling until they are drained");
  }
}

SpoolingSink::~SpoolingSink() { stop(); }

void SpoolingSink::start() {
  drainer_ = std::thread([this] {
    name_this_thread("spool:drainer");
    drain_loop();
  });
}

void SpoolingSink::stop() {
  stop_ = true;
  if (drainer_.joinable()) drainer_.join();
}

void SpoolingSink::enter_spooling(std::string_view why) {
  if (!spooling_.exchange(true)) log_->warn("spooling started: {}", why);
}

void SpoolingSink::to_spool(kafka::OutgoingRecord record, Callback on_durable) {
  spool_.append(std::move(record), std::move(on_durable));
}

void SpoolingSink::accept(kafka::OutgoingRecord record, Callback on_durable) {
  {
    std::lock_guard lock(mu_);
    if (!spooling_ && !kafka_up_()) enter_spooling("kafka is unreachable");
    if (spooling_) {
      to_spool(std::move(record), std::move(on_durable));
      return;
    }
  }
  direct_.publish_or_return(
      std::move(record), [this, cb = std::move(on_durable)](Result<kafka::Delivery> outcome,
                                                           kafka::OutgoingRecord back) mutable {
        if (outcome.ok()) {
          cb({});
          return;
        }
        // Kafka will never take this record (too large for its topic, not authorised): the
        // drain could not deliver it either, so the client hears why instead of a 200 for a
        // record that would only ever reach the rejected/ directory. Kafka itself is fine.
        if (refused_for_good(outcome.error())) {
          cb(Status(outcome.error()));
          return;
        }
        std::lock_guard lock(mu_);
        enter_spooling(fmt::format("kafka did not confirm in time ({})", outcome.error().message));
        to_spool(std::move(back), std::move(cb));
      });
}

void SpoolingSink::drain_loop() {
  while (!stop_) {
    if (!spooling_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (drain_failed_ && drain_in_flight_ == 0) {
      // Kafka did not take a record (its topic is missing, the broker went away): keep it,
      // retry from the first unconfirmed record later.
      drain_failed_ = false;
      spool_.rewind();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    bool handed = false;
    if (kafka_up_() && !drain_failed_) {
      auto on_unreadable = [this](const Unreadable& u) {
        corrupt_total_.inc();
        log_->error("drain: spooled record at segment {} offset {} cannot be read back, skipped: {}",
                    u.ref.segment, u.ref.offset, u.reason);
      };
      while (drain_in_flight_ < kMaxDrainInFlight && !stop_) {
        auto next = spool_.next(on_unreadable);
        if (!next) break;
        handed = true;
        ++drain_in_flight_;
        drain_.publish_or_return(std::move(next->second),
                                 [this, seq = next->first](Result<kafka::Delivery> r,
                                                           kafka::OutgoingRecord back) {
                                   on_drained(seq, std::move(r), std::move(back));
                                   --drain_in_flight_;
                                 });
      }
    }
    {
      std::lock_guard lock(mu_);
      if (spooling_ && spool_.empty() && drain_in_flight_ == 0) {
        spooling_ = false;
        log_->info("spooling stopped: the spool is drained, records go straight to Kafka");
      }
    }
    if (!handed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void SpoolingSink::on_drained(std::uint64_t seq, Result<kafka::Delivery> outcome,
                              kafka::OutgoingRecord record) {
  if (outcome.ok()) {
    spool_.confirm(seq);
    drained_total_.inc();
    return;
  }
  const Error& error = outcome.error();
  if (refused_for_good(error)) {
    if (auto kept = spool_.quarantine(seq, record)) {
      rejected_total_.inc();
      log_->error("drain: kafka refused a spooled record for good ({}); kept in {}, draining on",
                  error.message, *kept);
      return;
    } else {
      log_->error("drain: kafka refused a spooled record for good ({}) and it cannot be "
                  "quarantined ({}): retrying",
                  error.message, kept.error().message);
    }
  } else {
    log_->error("drain: {}", error.message);
  }
  drain_failed_ = true;
}

bool SpoolingSink::wait_drained(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (spooling_ || !spool_.empty()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace wi::spool
