// Hot-path costs of the metrics library: what a request pays per counter/histogram update, what
// an uncached with() lookup costs (the reason callers cache references), and what a scrape costs.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "common/metrics.h"

namespace wi::metrics {
namespace {

void BM_CounterIncCached(benchmark::State& state) {
  // Static so that every thread of the threaded variant updates the same series (contention).
  static Registry registry;
  static Counter& counter = registry.counter("bench_inc_total", "", {"route"}).with({"/hook"});
  for (auto _ : state) counter.inc();
  benchmark::DoNotOptimize(counter.value());
}
BENCHMARK(BM_CounterIncCached);
BENCHMARK(BM_CounterIncCached)->Threads(4)->UseRealTime();

void BM_GaugeInc(benchmark::State& state) {
  Registry registry;
  Gauge& gauge = registry.gauge("bench_gauge", "").with({});
  for (auto _ : state) gauge.inc();
  benchmark::DoNotOptimize(gauge.value());
}
BENCHMARK(BM_GaugeInc);

void BM_HistogramObserve(benchmark::State& state) {
  static Registry registry;
  static Histogram& histogram =
      registry.histogram("bench_latency_seconds", "", kLatencyBuckets, {"route"}).with({"/hook"});
  // Cycle through values spread over the buckets so the branch predictor cannot learn one path.
  std::vector<double> values;
  for (int i = 0; i < 64; ++i) values.push_back(0.0003 * (1 << (i % 16)));
  std::size_t i = 0;
  for (auto _ : state) histogram.observe(values[i++ & 63]);
  benchmark::DoNotOptimize(histogram.snapshot().count);
}
BENCHMARK(BM_HistogramObserve);
BENCHMARK(BM_HistogramObserve)->Threads(4)->UseRealTime();

void BM_FamilyWithLookup(benchmark::State& state) {
  Registry registry;
  auto& family = registry.counter("bench_lookup_total", "", {"route", "code"});
  for (int r = 0; r < 10; ++r) {
    for (int c : {200, 400, 500}) family.with({"/route" + std::to_string(r), std::to_string(c)});
  }
  for (auto _ : state) {
    Counter& counter = family.with({"/route7", "200"});
    benchmark::DoNotOptimize(&counter);
  }
}
BENCHMARK(BM_FamilyWithLookup);

void BM_Render50Series(benchmark::State& state) {
  Registry registry;
  auto& requests = registry.counter("bench_requests_total", "Requests.", {"route", "code"});
  for (int r = 0; r < 10; ++r) {
    for (int c : {200, 400, 500}) {
      requests.with({"/route" + std::to_string(r), std::to_string(c)}).inc(r * 1000 + c);
    }
  }
  auto& depth = registry.gauge("bench_queue_depth", "Depth.", {"queue"});
  for (int q = 0; q < 18; ++q) depth.with({"q" + std::to_string(q)}).set(q * 1.5);
  // 2 histogram series = 2 * (14 + 1 buckets + sum + count) = 34 more sample lines.
  auto& latency =
      registry.histogram("bench_latency_seconds", "Latency.", kLatencyBuckets, {"route"});
  for (const char* route : {"/a", "/b"}) latency.with({route}).observe(0.012);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = registry.render();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_Render50Series);

}  // namespace
}  // namespace wi::metrics
