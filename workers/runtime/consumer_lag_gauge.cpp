#include "workers/runtime/consumer_lag_gauge.h"

namespace wi::worker {

ConsumerLagGauge::ConsumerLagGauge(metrics::Registry& registry) {
  registry.gauge_callback("worker_consumer_lag",
                          "Records between this consumer's position and the partition's end",
                          {"topic", "partition"}, [this] { return collect(); });
}

std::size_t ConsumerLagGauge::add(Source source) {
  std::lock_guard lock(mu_);
  sources_.emplace(next_id_, std::move(source));
  return next_id_++;
}

void ConsumerLagGauge::remove(std::size_t id) {
  std::lock_guard lock(mu_);
  sources_.erase(id);
}

std::vector<metrics::Registry::Sample> ConsumerLagGauge::collect() const {
  std::lock_guard lock(mu_);
  std::vector<metrics::Registry::Sample> out;
  for (const auto& [id, source] : sources_) {
    auto samples = source();
    out.insert(out.end(), std::make_move_iterator(samples.begin()),
               std::make_move_iterator(samples.end()));
  }
  return out;
}

}  // namespace wi::worker
