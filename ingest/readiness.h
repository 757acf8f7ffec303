#pragma once
// Readiness: whether ingestd can make records durable now, for /readyz (SPEC §3). Probing
// Kafka takes up to a second and a half, so /readyz never probes: it reads the last answer,
// which a ReadinessRefresher keeps fresh on its own thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace wi::ingest {

// Thread-safe: ready() is called from the HTTP server's threads.
class Readiness {
 public:
  virtual ~Readiness() = default;
  virtual bool ready() const = 0;
};

// The last answer of a probe (Kafka: "did a metadata request succeed within its timeout").
class ProbedReadiness final : public Readiness {
 public:
  using Probe = std::function<bool()>;
  // Probes once before returning, so the first requests see the real state (with a spool, an
  // unknown state would send them to disk).
  explicit ProbedReadiness(Probe probe);
  bool ready() const override { return ready_.load(); }
  // Probes again; logs one line when the answer changes. One caller at a time.
  void refresh();

 private:
  Probe probe_;
  std::atomic<bool> ready_{false};
};

// Ready while Kafka answers, or while the spool can still take records (then requests are
// spooled and acknowledged from disk). `spool_has_room` is empty when there is no spool.
class KafkaOrSpoolReadiness final : public Readiness {
 public:
  KafkaOrSpoolReadiness(const Readiness& kafka, std::function<bool()> spool_has_room)
      : kafka_(kafka), spool_has_room_(std::move(spool_has_room)) {}
  bool ready() const override { return kafka_.ready() || (spool_has_room_ && spool_has_room_()); }

 private:
  const Readiness& kafka_;
  std::function<bool()> spool_has_room_;
};

// Calls readiness.refresh() every `interval` on its own thread, until destroyed (which
// interrupts the wait at once).
class ReadinessRefresher {
 public:
  ReadinessRefresher(ProbedReadiness& readiness, std::chrono::milliseconds interval);
  ~ReadinessRefresher();
  ReadinessRefresher(const ReadinessRefresher&) = delete;
  ReadinessRefresher& operator=(const ReadinessRefresher&) = delete;

 private:
  void loop();

  ProbedReadiness& readiness_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace wi::ingest
