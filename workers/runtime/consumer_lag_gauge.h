#pragma once
// worker_consumer_lag{topic,partition}: one callback gauge for every WorkerRuntime of a
// process. A Registry keeps one callback per name, so a worker that runs several stages (one
// runtime each, dropbox-worker's fan-out and poll) shares one ConsumerLagGauge: each runtime
// adds its lag source and the callback reports them all. Their topics differ, so their samples
// never collide.

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "common/metrics.h"

namespace wi::worker {

class ConsumerLagGauge {
 public:
  using Source = std::function<std::vector<metrics::Registry::Sample>()>;

  // Registers worker_consumer_lag in `registry`; this object must outlive the registry's last
  // render() (declare it after the registry, stop the metrics endpoint first).
  explicit ConsumerLagGauge(metrics::Registry& registry);
  ConsumerLagGauge(const ConsumerLagGauge&) = delete;
  ConsumerLagGauge& operator=(const ConsumerLagGauge&) = delete;

  // Thread-safe. A source is called from the metrics endpoint's thread; remove() it before
  // whatever it captures goes away.
  std::size_t add(Source source);
  void remove(std::size_t id);

 private:
  std::vector<metrics::Registry::Sample> collect() const;

  mutable std::mutex mu_;
  std::map<std::size_t, Source> sources_;
  std::size_t next_id_ = 0;
};

}  // namespace wi::worker
