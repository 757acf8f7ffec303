#include "workers/runtime/runtime_metrics.h"

namespace wi::worker {

RuntimeMetrics::RuntimeMetrics(metrics::Registry& registry, const std::string& worker)
    : records(registry.counter("worker_records_total", "Records handled, by outcome",
                               {"worker", "outcome"})),
      handle_seconds(registry
                         .histogram("worker_handle_seconds", "Time spent in the handler per record",
                                    metrics::kLatencyBuckets, {"worker"})
                         .with({worker})),
      rebalances(registry.counter("worker_rebalances_total", "Partition assignment changes", {"worker"})
                     .with({worker})),
      assigned_partitions(
          registry.gauge("worker_assigned_partitions", "Partitions this process owns", {"worker"})
              .with({worker})),
      state_keys(registry.gauge("worker_state_store_keys", "Keys in the restored state stores",
                                {"worker"})
                     .with({worker})) {
  for (const char* outcome : {"processed", "skipped", "retried", "dead_lettered"}) {
    records.with({worker, outcome});
  }
}

}  // namespace wi::worker
