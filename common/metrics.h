#pragma once
// A small Prometheus metrics library shared by every binary.
//
// Usage: register families once at startup (registration may throw std::invalid_argument on
// programmer error), resolve the label values you need with Family::with() and cache the
// returned reference, then update it on the hot path (lock-free, never throws, never allocates).
// An HTTP handler elsewhere serves Registry::render() with content_type() on /metrics.
//
//   auto& requests = registry.counter("wi_http_requests_total", "Requests.", {"route", "code"});
//   Counter& ok = requests.with({"/hook", "200"});   // cache this
//   ok.inc();                                        // hot path

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wi::metrics {

// Default buckets for request/processing latencies, in seconds (Prometheus convention).
inline const std::vector<double> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

// `count` bounds: start, start*factor, start*factor^2, ...
// Throws std::invalid_argument unless start > 0, factor > 1 and count >= 1 (startup misuse).
std::vector<double> exponential_buckets(double start, double factor, int count);

// The Content-Type to send with Registry::render() output.
std::string content_type();

// Prometheus naming rules: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]*. Names starting with "__" are reserved for Prometheus internals and are
// rejected for both.
bool is_valid_metric_name(std::string_view name);
bool is_valid_label_name(std::string_view name);

namespace detail {

// Lock-free `a += delta` for doubles. Relaxed ordering: metrics carry no synchronisation duty,
// and a scrape only needs each value to be eventually visible.
inline void atomic_add(std::atomic<double>& a, double delta) noexcept {
  double current = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(current, current + delta, std::memory_order_relaxed,
                                  std::memory_order_relaxed)) {
  }
}

}  // namespace detail

// Monotonic counter.
// Threading: every member is lock-free and safe to call from any number of threads.
// Aligned to a cache line so hot counters of neighbouring series do not false-share.
class alignas(64) Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Negative and NaN increments are ignored rather than thrown on: a counter must never go
  // down (Prometheus would read that as a reset), and the hot path does not throw.
  void inc(double delta = 1.0) noexcept {
    if (!(delta >= 0.0)) return;
    detail::atomic_add(value_, delta);
  }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down.
// Threading: every member is lock-free and safe to call from any number of threads.
class alignas(64) Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void inc(double delta = 1.0) noexcept { detail::atomic_add(value_, delta); }
  void dec(double delta = 1.0) noexcept { detail::atomic_add(value_, -delta); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Histogram with bucket upper bounds fixed at construction; an implicit +Inf bucket is last.
// Threading: observe() and snapshot() are lock-free and safe from any number of threads.
// Counts are stored per bucket (not cumulative) so observe() touches exactly one bucket; the
// cumulative view is built at scrape time. _count is derived from the bucket counts, so it always
// equals the +Inf bucket; _sum may lag a concurrent observe() by one value, which is inherent to
// lock-free histograms and harmless for rate() queries.
class alignas(64) Histogram {
 public:
  struct Snapshot {
    std::vector<std::uint64_t> cumulative_counts;  // bounds().size() + 1 entries; last is +Inf
    double sum = 0.0;
    std::uint64_t count = 0;
  };

  // `bounds` must be strictly increasing and not NaN; a trailing +Inf is dropped (it is implicit).
  // Throws std::invalid_argument otherwise (construction happens at startup).
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // NaN observations are dropped: one NaN would turn _sum into NaN for the life of the process.
  void observe(double value) noexcept {
    if (std::isnan(value)) return;
    // First bound >= value: Prometheus buckets are inclusive (`le`).
    auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                          bounds_.begin());
    counts_[index].fetch_add(1, std::memory_order_relaxed);
    detail::atomic_add(sum_, value);
  }

  const std::vector<double>& bounds() const noexcept { return bounds_; }
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0.0};
};

namespace detail {

enum class Kind { kCounter, kGauge, kHistogram, kCallbackGauge };

// Orders label-value tuples lexicographically; transparent so that with() can look up an
// initializer_list<string_view> without building a std::vector<std::string> first.
struct LabelValuesLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

// Common part of every registered family; the Registry owns them and renders them in name order.
// Immutable after construction except for the series the subclass owns.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  Kind kind() const noexcept { return kind_; }

  // Appends the HELP and TYPE lines and every series in text format 0.0.4. Never throws except
  // std::bad_alloc.
  virtual void render(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names, Kind kind);

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  Kind kind_;
};

}  // namespace detail

// All series of one metric name, keyed by label values. M is Counter, Gauge or Histogram.
// Ownership: created and owned by a Registry; references returned by with() stay valid for the
// Registry's lifetime (series are never removed), so callers cache them for the hot path.
// Threading: with() is safe from any thread; it takes a shared lock for the lookup and an
// exclusive one only when it creates a series. Label values are stored as given, except that
// invalid UTF-8 is replaced by U+FFFD because the exposition format requires UTF-8.
// Cardinality is the caller's responsibility: never use unbounded input as a label value.
template <class M>
class Family final : public detail::FamilyBase {
 public:
  // Throws std::invalid_argument if the number of values differs from the number of label names.
  M& with(std::initializer_list<std::string_view> label_values);
  M& with(const std::vector<std::string>& label_values);

  void render(std::string& out) const override;

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> buckets);

  template <class Values>
  M& with_impl(const Values& label_values);

  std::vector<double> buckets_;  // used by Family<Histogram> only
  mutable std::shared_mutex mu_;
  // std::map: node-based, so addresses are stable, and iteration is already in render order.
  std::map<std::vector<std::string>, M, detail::LabelValuesLess> series_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// Owns every family of a process (or of a test) and renders them for /metrics.
// Ownership: families live as long as the Registry; not copyable or movable because callers hold
// references into it. Construct it before, and destroy it after, everything that uses it.
// Threading: all members are safe to call concurrently. Registration takes a mutex; render()
// holds it only long enough to list the families, so a callback may itself call with().
// Registering an existing name with the same type and label names (and buckets, for histograms)
// returns the existing family, keeping the first help text; any other reuse of a name throws
// std::invalid_argument, as do invalid names and a histogram name whose _bucket/_sum/_count
// series would collide with another family.
class Registry {
 public:
  using Sample = std::pair<std::vector<std::string>, double>;  // label values, value
  using CollectFn = std::function<std::vector<Sample>()>;

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& counter(std::string name, std::string help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {});
  // "le" may not be a label name; see Histogram for the bucket rules.
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<double> buckets,
                               std::vector<std::string> label_names = {});

  // A gauge family whose samples are computed at scrape time (consumer lag, spool size, ...).
  // `collect` is called from render(), never concurrently with itself, without any Registry lock
  // held; whatever it captures must outlive the Registry (or the last render()). Samples with the
  // wrong number of label values are skipped, duplicates keep the first, and an exception thrown
  // by `collect` drops that family's samples for one scrape instead of failing the whole scrape.
  // A name can be registered as a callback only once: a second callback would silently be lost.
  void gauge_callback(std::string name, std::string help, std::vector<std::string> label_names,
                      CollectFn collect);

  // Text exposition format 0.0.4: families sorted by name, series by label values.
  std::string render() const;

 private:
  template <class F, class Make>
  F& get_or_create(detail::Kind kind, std::string name, std::string help,
                   std::vector<std::string> label_names, const std::vector<double>* buckets,
                   Make make);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families_;
};

}  // namespace wi::metrics
