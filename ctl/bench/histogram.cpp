#include "ctl/bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace wi::ctl {
namespace {

constexpr int kLinearBits = 10;  // exact below 1024
constexpr std::uint64_t kLinear = 1ULL << kLinearBits;
constexpr int kSubBits = 9;  // 512 buckets per power of two
constexpr std::uint64_t kSub = 1ULL << kSubBits;
constexpr int kTopExponent = 42;  // 2^42 µs ≈ 50 days
constexpr std::size_t kBuckets = kLinear + (kTopExponent - kLinearBits) * kSub;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

std::size_t LatencyHistogram::index_of(std::uint64_t v) {
  if (v < kLinear) return static_cast<std::size_t>(v);
  const int exponent = std::bit_width(v) - 1;  // >= kLinearBits
  if (exponent >= kTopExponent) return kBuckets - 1;
  // The kSubBits bits below the leading one pick the bucket within this power of two.
  const std::uint64_t sub = (v >> (exponent - kSubBits)) - kSub;
  return kLinear + static_cast<std::size_t>(exponent - kLinearBits) * kSub +
         static_cast<std::size_t>(sub);
}

std::uint64_t LatencyHistogram::highest_in(std::size_t index) {
  if (index < kLinear) return index;
  const std::size_t rel = index - kLinear;
  const int exponent = static_cast<int>(rel / kSub) + kLinearBits;
  const std::uint64_t sub = rel % kSub + kSub;
  const int shift = exponent - kSubBits;
  return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t micros) {
  ++counts_[index_of(micros)];
  ++count_;
  sum_ += micros;
  min_ = std::min(min_, micros);
  max_ = std::max(max_, micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::percentile(double percentile) const {
  if (count_ == 0) return 0;
  const double p = std::clamp(percentile, 0.0, 100.0);
  // The rank of the value asked for, 1-based: at least one value.
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_in(i), max_);
  }
  return max_;
}

}  // namespace wi::ctl
