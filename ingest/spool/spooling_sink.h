#pragma once
// SpoolingSink: the EventSink ingestd uses when INGEST_SPOOL_DIR is set.
//
// Direct mode: records go to Kafka; one that Kafka does not confirm within the short bound
// (the direct publisher's delivery timeout, INGEST_SPOOL_AFTER_MS) is written to the spool
// and acknowledged once fsync'd. Spooling mode (entered on such a failure, or at once while
// Kafka is known to be unreachable, or at start when the spool holds records): every new
// record goes to the spool behind the waiting ones, so no record overtakes an older one for
// the same key; a drainer republishes the spool in order (its own producer never gives up)
// and, once everything spooled is confirmed, switches back to direct mode.
//
// The drain never wedges on one record: a record that cannot be read back is skipped
// (ingest_spool_corrupt_total), and one Kafka refuses for good (too large, not authorised) is
// quarantined whole under <dir>/rejected/ (ingest_spool_rejected_total); each gets an error
// line, and the records behind it keep draining in order.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/kafka/publisher.h"
#include "common/metrics.h"
#include "ingest/event_sink.h"
#include "ingest/spool/spool.h"

namespace spdlog {
class logger;
}

namespace wi::spool {

class SpoolingSink final : public ingest::EventSink {
 public:
  // `kafka_up`: the latest reachability probe. All references must outlive the sink.
  SpoolingSink(kafka::Publisher& direct, kafka::Publisher& drain, Spool& spool,
               std::function<bool()> kafka_up, metrics::Registry& registry);
  ~SpoolingSink() override;

  void accept(kafka::OutgoingRecord record, Callback on_durable) override;

  void start();  // the drainer thread
  void stop();
  bool spooling() const { return spooling_.load(); }
  // Waits (up to `timeout`) until the spool is drained; for shutdown and tests.
  bool wait_drained(std::chrono::milliseconds timeout);

 private:
  void enter_spooling(std::string_view why);  // with mu_ held
  void to_spool(kafka::OutgoingRecord record, Callback on_durable);  // with mu_ held
  void drain_loop();
  // The drain producer's verdict on spooled record `seq` (`record` is the record back).
  void on_drained(std::uint64_t seq, Result<kafka::Delivery> outcome, kafka::OutgoingRecord record);

  kafka::Publisher& direct_;
  kafka::Publisher& drain_;
  Spool& spool_;
  std::function<bool()> kafka_up_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Counter& drained_total_;
  metrics::Counter& corrupt_total_;
  metrics::Counter& rejected_total_;

  std::mutex mu_;  // mode decisions and spool appends happen together under it
  std::atomic<bool> spooling_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> drain_in_flight_{0};
  std::atomic<bool> drain_failed_{false};
  std::thread drainer_;
};

}  // namespace wi::spool
