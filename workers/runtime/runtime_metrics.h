#pragma once
// The worker_* metrics every worker kind exposes (SPEC §5), in one place.

#include <string>

#include "common/metrics.h"

namespace wi::worker {

struct RuntimeMetrics {
  RuntimeMetrics(metrics::Registry& registry, const std::string& worker);
  metrics::Family<metrics::Counter>& records;  // {worker,outcome}
  metrics::Histogram& handle_seconds;
  metrics::Counter& rebalances;
  metrics::Gauge& assigned_partitions;
  metrics::Gauge& state_keys;
};

}  // namespace wi::worker
