#pragma once
// The SIGTERM drain (SPEC §3): stop taking webhooks, let the requests already arriving finish
// and give every one its answer within INGEST_DRAIN_TIMEOUT (a request still arriving then
// gets 503), then wait for every record handed to Kafka to get its verdict, so that no
// delivery callback outlives the objects it answers through.

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
  // Requests some of whose bytes have arrived but not all (head or body still being received):
  // in flight as much as the unanswered ones, so the drain waits for them too.
  std::function<std::int64_t()> receiving;
  // At the timeout: answers every request still being received 503 + Retry-After and closes
  // its connection (nothing of it is published); returns how many it answered.
  std::function<std::int64_t()> refuse_receiving;
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
  std::int64_t receiving = 0;   // still being received when the drain gave up
  std::int64_t refused = 0;     // still being received at the timeout, so answered 503
  Status flushed;
  // Every request got its answer (a refused one its 503) and every record its verdict.
  bool complete() const { return unanswered == 0 && receiving == 0 && flushed.ok(); }
};

// Runs the drain. `wait` pauses between checks of `unanswered` and `receiving` (a sleep in ingestd,
// a step of the fake clock in tests); the clock decides when the timeout has passed.
DrainReport drain(const DrainSteps& steps, const DrainOptions& options, const Clock& clock,
                  const std::function<void(std::chrono::milliseconds)>& wait);

}  // namespace wi::ingest
