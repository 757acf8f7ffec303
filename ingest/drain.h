#pragma once
// The SIGTERM drain (SPEC §3): stop taking webhooks, let the requests already arriving finish
// and give every one its answer within INGEST_DRAIN_TIMEOUT (a request still arriving at the
// receive cutoff gets 503), then wait for every record handed to Kafka to get its verdict, so
// that no delivery callback outlives the objects it answers through. Every wait ends within
// kShutdownLimit of the signal.

#include <chrono>
#include <cstdint>
#include <functional>

#include "common/clock.h"
#include "common/result.h"

namespace wi::ingest {

// SPEC §3: on SIGTERM ingestd "answers everything in flight, flushes, and exits 0 within
// 10 s". The drain's waits all end by this long after it began, whatever the configuration.
inline constexpr std::chrono::milliseconds kShutdownLimit{10000};

// What the drain does to the running parts (ingestd: the service, the server, the producer).
struct DrainSteps {
  // New webhooks get 503 + Connection: close; idle keep-alive connections are closed.
  std::function<void()> stop_accepting;
  // Requests accepted and not answered yet.
  std::function<std::int64_t()> unanswered;
  // Requests that had begun arriving before stop_accepting and are not complete yet (head or
  // body still being received): in flight as much as the unanswered ones, so the drain waits
  // for them too. Requests begun since are not counted: they get the quick 503 when their
  // head is complete, and cannot hold the drain up.
  std::function<std::int64_t()> receiving;
  // At the receive cutoff: answers every request still being received 503 + Retry-After and
  // closes its connection (nothing of it is published); returns how many it answered.
  std::function<std::int64_t()> refuse_receiving;
  // Records handed to Kafka and still waiting for their verdict.
  std::function<std::int64_t()> awaiting_verdict;
  // Waits up to the given time for every queued record's verdict.
  std::function<Status(std::chrono::milliseconds)> flush;
};

struct DrainOptions {
  std::chrono::milliseconds timeout{8000};  // INGEST_DRAIN_TIMEOUT
  // The longest Kafka may take to give a record its verdict (the producer's delivery bound
  // plus a margin, which also covers verifying a body): the flush waits this long even after
  // the timeout, and requests still arriving are refused early enough for it (receive_cutoff).
  std::chrono::milliseconds delivery_bound{6000};
  // How long after the flush the answers it released may take to be written.
  std::chrono::milliseconds answer_grace{200};
  std::chrono::milliseconds check_every{10};
};

// How long after the drain begins it stops waiting for requests still being received and
// refuses them: the drain timeout, or earlier when a body completing then, handed to Kafka
// and given its whole delivery bound, would be answered after kShutdownLimit. 0 (refuse at
// once) when the delivery bound leaves no room at all.
std::chrono::milliseconds receive_cutoff(const DrainOptions& options);

struct DrainReport {
  std::chrono::milliseconds took{0};
  std::int64_t unanswered = 0;  // still unanswered when the drain gave up
  std::int64_t receiving = 0;   // still being received when the drain gave up
  std::int64_t refused = 0;     // still being received at the receive cutoff, so answered 503
  Status flushed;
  // Every request got its answer (a refused one its 503) and every record its verdict.
  bool complete() const { return unanswered == 0 && receiving == 0 && flushed.ok(); }
};

// Runs the drain. `wait` pauses between checks of `unanswered` and `receiving` (a sleep in ingestd,
// a step of the fake clock in tests); the clock decides when the timeout has passed. Returns
// within kShutdownLimit (given a flush that keeps to its bound).
DrainReport drain(const DrainSteps& steps, const DrainOptions& options, const Clock& clock,
                  const std::function<void(std::chrono::milliseconds)>& wait);

}  // namespace wi::ingest
