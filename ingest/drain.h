#pragma once
// The SIGTERM drain (SPEC §3): stop taking webhooks, give the accepted ones their answer
// within INGEST_DRAIN_TIMEOUT, then wait for every record handed to Kafka to get its verdict,
// so that no delivery callback outlives the objects it answers through.

#include <chrono>
#include <cstdint>
#include <functional>

#include "common/clock.h"
#include "common/result.h"

namespace wi::ingest {

// What the drain does to the running parts (ingestd: the service, the server, the producer).
struct DrainSteps {
  // New webhooks get 503 + Connection: close; idle keep-alive connections are closed.
  std::function<void()> stop_accepting;
  // Requests accepted and not answered yet.
  std::function<std::int64_t()> unanswered;
  // Waits up to the given time for every queued record's verdict.
  std::function<Status(std::chrono::milliseconds)> flush;
};

struct DrainOptions {
  std::chrono::milliseconds timeout{10000};  // INGEST_DRAIN_TIMEOUT
  // The longest Kafka may take to give a record its verdict (the producer's delivery bound
  // plus a margin): the flush waits at least this long even after the timeout.
  std::chrono::milliseconds delivery_bound{31000};
  // How long after the flush the answers it released may take to be written.
  std::chrono::milliseconds answer_grace{200};
  std::chrono::milliseconds check_every{10};
};

struct DrainReport {
  std::chrono::milliseconds took{0};
  std::int64_t unanswered = 0;  // still unanswered when the drain gave up
  Status flushed;
  bool complete() const { return unanswered == 0 && flushed.ok(); }
};

// Runs the drain. `wait` pauses between checks of `unanswered` (a sleep in ingestd, a step of
// the fake clock in tests); the clock decides when the timeout has passed.
DrainReport drain(const DrainSteps& steps, const DrainOptions& options, const Clock& clock,
                  const std::function<void(std::chrono::milliseconds)>& wait);

}  // namespace wi::ingest
