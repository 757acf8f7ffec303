#pragma once
// The load generator of `ingestctl bench`: one thread, epoll, N keep-alive HTTP/1.1
// connections, one request in flight per connection (no pipelining). Closed loop: each
// connection sends its next request as soon as the previous answer is in. Open loop: requests
// start on a fixed schedule (rate per second) on whichever connection is free; a request with
// no free connection waits, and the wait is reported separately from the latency.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ctl/bench/feed.h"
#include "ctl/bench/histogram.h"
#include "ctl/tcp_connect.h"

namespace wi::ctl {

struct LoadOptions {
  TcpAddress address;
  int connections = 64;
  std::optional<double> rate;  // requests per second: open loop; none: closed loop
  std::chrono::milliseconds duration{10000};
  // A request unanswered this long counts as a timeout and its connection is replaced; also
  // how long in-flight requests may take to finish after `duration`.
  std::chrono::milliseconds request_timeout{30000};
};

struct LoadResult {
  std::uint64_t sent = 0;      // requests started
  std::uint64_t answered = 0;  // complete responses
  std::map<int, std::uint64_t> by_status;
  std::uint64_t errors = 0;  // failed connects, resets mid-request, malformed responses
  std::uint64_t timeouts = 0;
  std::uint64_t not_sent = 0;  // open loop: due before the end, but no connection was free
  std::uint64_t body_bytes_answered = 0;
  std::uint64_t wire_bytes_sent = 0;
  std::uint64_t wire_bytes_received = 0;
  std::vector<std::string> acked_ids;  // event ids answered 200
  LatencyHistogram latency;            // µs, first byte written → response complete
  LatencyHistogram schedule_lag;       // µs, open loop: scheduled start → first byte written
  double elapsed_s = 0;                // start → last answer (or the end of the run)
  std::string first_error;

  // Answers with a 2xx status (for a webhook: acknowledged).
  std::uint64_t answered_2xx() const {
    std::uint64_t n = 0;
    for (const auto& [status, count] : by_status) n += status >= 200 && status <= 299 ? count : 0;
    return n;
  }
};

// Runs the load; returns what happened. Never throws for network trouble: it is counted.
LoadResult run_load(const LoadOptions& options, RequestFeed& feed, std::size_t body_bytes);

}  // namespace wi::ctl
