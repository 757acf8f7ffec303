#pragma once
// Latency histogram for `ingestctl bench`: HdrHistogram-style log-linear buckets in
// microseconds. Values below 1024 µs are exact; above, each power of two is split into 512
// buckets (relative error under 0.2 %). Up to about 50 days; larger values land in the top
// bucket. Fixed size (~140 KiB), O(1) record. Not thread-safe: one per thread, then merge().

#include <cstdint>
#include <vector>

namespace wi::ctl {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void record(std::uint64_t micros);
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // The smallest recorded-value bound v such that at least `percentile` % of the values are
  // <= v (the bucket's highest value, never above max()); 0 when empty.
  std::uint64_t percentile(double percentile) const;

 private:
  static std::size_t index_of(std::uint64_t micros);
  static std::uint64_t highest_in(std::size_t index);

  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace wi::ctl
