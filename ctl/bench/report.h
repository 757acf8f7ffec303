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

// The load's summary: requests, statuses, throughput, latency percentiles.
void print_load(std::ostream& out, const BenchSetup& setup, const LoadResult& load,
                double client_cpu_s);
// The Kafka check (or why there is none).
void print_check(std::ostream& out, const std::string& topic, const AckCheckResult& check);

// {"requests":..,"rps":..,"p50_ms":..,...,"missing":..,"duplicates":..}; missing and
// duplicates are null when there was no check (/healthz).
std::string json_summary(const BenchSetup& setup, const LoadResult& load,
                         const std::optional<AckCheckResult>& check, double client_cpu_s);

}  // namespace wi::ctl
