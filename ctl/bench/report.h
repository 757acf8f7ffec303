#pragma once
// What `ingestctl bench` prints: a few human lines, then one JSON line for scripts.

#include <optional>
#include <ostream>
#include <string>

#include "ctl/bench/ack_check.h"
#include "ctl/bench/client.h"

namespace wi::ctl {

struct BenchSetup {
  std::string url;
  std::string source;  // empty for /healthz
  std::string kind;
  int connections = 0;
  std::optional<double> rate;
  double duration_s = 0;
  std::size_t body_bytes = 0;
};

// CPU seconds used over the load window (not the Kafka check): bench's own, and the server's
// and the broker's when their pids were given (--server-pid, --broker-pid) and still there at
// the end.
struct LoadCpu {
  double client_s = 0;
  std::optional<double> server_s;
  std::optional<double> broker_s;
};

// The load's summary: requests, statuses, throughput, latency percentiles, CPU (the server's
// and the broker's also per 2xx answer).
void print_load(std::ostream& out, const BenchSetup& setup, const LoadResult& load,
                const LoadCpu& cpu);
// The Kafka check (or why there is none).
void print_check(std::ostream& out, const std::string& topic, const AckCheckResult& check);

// {"requests":..,"rps":..,"p50_ms":..,...,"server_cpu_us_per_req":..,
// "broker_cpu_us_per_req":..,"missing":..,"duplicates":..}; the CPU per request is null when
// that pid was not given (or no answer was 2xx), missing and duplicates when there was no check
// (/healthz).
std::string json_summary(const BenchSetup& setup, const LoadResult& load,
                         const std::optional<AckCheckResult>& check, const LoadCpu& cpu);

}  // namespace wi::ctl
