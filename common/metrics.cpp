#include "common/metrics.h"

#include <charconv>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "common/utf8.h"

namespace wi::metrics {
namespace {

constexpr std::string_view kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

bool is_name_char(char c, bool first, bool allow_colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (allow_colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool is_valid_name(std::string_view name, bool allow_colon) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

void append_escaped_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Formats so that a Prometheus parser reads back exactly the same double: integers (up to 2^53,
// where every integer is exact) without exponent or fraction, otherwise the shortest
// representation that round-trips.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
  char buf[64];
  std::to_chars_result result;
  if (v == std::trunc(v) && std::fabs(v) <= kMaxExactInteger) {
    result = std::to_chars(buf, buf + sizeof(buf), static_cast<std::int64_t>(v));
  } else {
    result = std::to_chars(buf, buf + sizeof(buf), v);
  }
  out.append(buf, result.ptr);
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[32];
  auto result = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, result.ptr);
}

const char* type_name(detail::Kind kind) {
  switch (kind) {
    case detail::Kind::kCounter:
      return "counter";
    case detail::Kind::kGauge:
      return "gauge";
    case detail::Kind::kHistogram:
      return "histogram";
    case detail::Kind::kCallbackGauge:
      return "gauge";
  }
  return "untyped";
}

void append_header(std::string& out, const detail::FamilyBase& family) {
  out += "# HELP ";
  out += family.name();
  if (!family.help().empty()) {
    out += ' ';
    append_escaped_help(out, family.help());
  }
  out += "\n# TYPE ";
  out += family.name();
  out += ' ';
  out += type_name(family.kind());
  out += '\n';
}

// `name{l1="v1",l2="v2"[,le="bound"]} value\n`; braces are omitted when there are no labels.
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const std::vector<std::string>& label_names,
                   const std::vector<std::string>& label_values, const std::string* le,
                   auto value) {
  out += name;
  out += suffix;
  if (!label_names.empty() || le != nullptr) {
    out += '{';
    for (std::size_t i = 0; i < label_names.size(); ++i) {
      if (i != 0) out += ',';
      out += label_names[i];
      out += "=\"";
      append_escaped_label_value(out, label_values[i]);
      out += '"';
    }
    if (le != nullptr) {
      if (!label_names.empty()) out += ',';
      out += "le=\"";
      out += *le;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  append_number(out, value);
  out += '\n';
}

// Drops a trailing +Inf (it is implicit) and rejects anything a scrape could not represent.
std::vector<double> normalize_buckets(std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i])) throw std::invalid_argument("histogram bucket bound is NaN");
    if (i != 0 && !(bounds[i - 1] < bounds[i])) {
      throw std::invalid_argument("histogram bucket bounds must be strictly increasing");
    }
  }
  return bounds;
}

void validate_names(std::string_view name, const std::vector<std::string>& label_names,
                    bool is_histogram) {
  if (!is_valid_metric_name(name)) {
    throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
  }
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!is_valid_label_name(label)) {
      throw std::invalid_argument("metric '" + std::string(name) + "': invalid label name '" +
                                  label + "'");
    }
    if (is_histogram && label == "le") {
      throw std::invalid_argument("histogram '" + std::string(name) +
                                  "': label name 'le' is reserved");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (label_names[j] == label) {
        throw std::invalid_argument("metric '" + std::string(name) + "': duplicate label '" +
                                    label + "'");
      }
    }
  }
}

std::invalid_argument conflict(std::string_view name, std::string_view why) {
  return std::invalid_argument("metric '" + std::string(name) + "' " + std::string(why));
}

}  // namespace

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (!(start > 0.0) || !(factor > 1.0) || count < 1 || std::isinf(start)) {
    throw std::invalid_argument("exponential_buckets needs start > 0, factor > 1, count >= 1");
  }
  std::vector<double> buckets;
  buckets.reserve(static_cast<std::size_t>(count));
  double bound = start;
  for (int i = 0; i < count; ++i) {
    buckets.push_back(bound);
    bound *= factor;
  }
  return buckets;
}

std::string content_type() {
  return "text/plain; version=0.0.4; charset=utf-8";
}

bool is_valid_metric_name(std::string_view name) {
  return is_valid_name(name, true);
}
bool is_valid_label_name(std::string_view name) {
  return is_valid_name(name, false);
}

// ---------------------------------------------------------------------------------------------
// Histogram

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(normalize_buckets(std::move(bounds))),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.cumulative_counts.resize(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snap.cumulative_counts[i] = running;
  }
  snap.count = running;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

// ---------------------------------------------------------------------------------------------
// Families

namespace detail {

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
                       Kind kind)
    : name_(std::move(name)),
      help_(utf8::sanitize(help)),
      label_names_(std::move(label_names)),
      kind_(kind) {}

// Samples computed at scrape time; see Registry::gauge_callback for the contract.
class CallbackFamily final : public FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, std::vector<std::string> label_names,
                 Registry::CollectFn collect)
      : FamilyBase(std::move(name), std::move(help), std::move(label_names), Kind::kCallbackGauge),
        collect_(std::move(collect)) {}

  void render(std::string& out) const override {
    std::vector<Registry::Sample> samples;
    {
      std::lock_guard lock(collect_mu_);
      try {
        samples = collect_();
      } catch (...) {  // one broken callback must not fail the whole /metrics scrape
        samples.clear();
      }
    }
    const std::size_t arity = label_names().size();
    std::erase_if(samples, [arity](const Registry::Sample& s) { return s.first.size() != arity; });
    // Prometheus rejects a whole scrape that holds invalid UTF-8, and label values may come
    // from request data: each malformed byte becomes U+FFFD instead.
    for (auto& sample : samples) {
      for (auto& value : sample.first) value = utf8::sanitize(value);
    }
    std::stable_sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) {
      return LabelValuesLess{}(a.first, b.first);
    });
    // A duplicate series would make Prometheus drop samples; keep the first one.
    samples.erase(std::unique(samples.begin(), samples.end(),
                              [](const auto& a, const auto& b) { return a.first == b.first; }),
                  samples.end());

    append_header(out, *this);
    for (const auto& [label_values, value] : samples) {
      append_sample(out, name(), "", label_names(), label_values, nullptr, value);
    }
  }

 private:
  Registry::CollectFn collect_;
  mutable std::mutex collect_mu_;
};

}  // namespace detail

template <class M>
Family<M>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> buckets)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names),
                 std::is_same_v<M, Counter> ? detail::Kind::kCounter
                 : std::is_same_v<M, Gauge> ? detail::Kind::kGauge
                                            : detail::Kind::kHistogram),
      buckets_(std::move(buckets)) {}

template <class M>
M& Family<M>::with(std::initializer_list<std::string_view> label_values) {
  return with_impl(label_values);
}

template <class M>
M& Family<M>::with(const std::vector<std::string>& label_values) {
  return with_impl(label_values);
}

template <class M>
template <class Values>
M& Family<M>::with_impl(const Values& label_values) {
  if (label_values.size() != label_names().size()) {
    throw std::invalid_argument("metric '" + name() + "' expects " +
                                std::to_string(label_names().size()) + " label values, got " +
                                std::to_string(label_values.size()));
  }
  {
    std::shared_lock lock(mu_);
    auto it = series_.find(label_values);
    if (it != series_.end()) return it->second;
  }
  // Build the key outside the lock; a sanitised key may already exist under a raw value that
  // missed above, which try_emplace handles by returning the existing series.
  std::vector<std::string> key;
  key.reserve(label_values.size());
  for (const auto& value : label_values) key.push_back(utf8::sanitize(value));

  std::unique_lock lock(mu_);
  if constexpr (std::is_same_v<M, Histogram>) {
    return series_.try_emplace(std::move(key), buckets_).first->second;
  } else {
    return series_.try_emplace(std::move(key)).first->second;
  }
}

template <class M>
void Family<M>::render(std::string& out) const {
  append_header(out, *this);
  std::shared_lock lock(mu_);
  for (const auto& [label_values, metric] : series_) {
    if constexpr (std::is_same_v<M, Histogram>) {
      const Histogram::Snapshot snap = metric.snapshot();
      const std::vector<double>& bounds = metric.bounds();
      std::string le;
      for (std::size_t i = 0; i <= bounds.size(); ++i) {
        le.clear();
        append_number(le, i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity());
        append_sample(out, name(), "_bucket", label_names(), label_values, &le,
                      snap.cumulative_counts[i]);
      }
      append_sample(out, name(), "_sum", label_names(), label_values, nullptr, snap.sum);
      append_sample(out, name(), "_count", label_names(), label_values, nullptr, snap.count);
    } else {
      append_sample(out, name(), "", label_names(), label_values, nullptr, metric.value());
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---------------------------------------------------------------------------------------------
// Registry

namespace {

// A family without labels has exactly one series; creating it up front makes it render as 0
// before first use, so dashboards and alerts see the metric instead of "no data".
template <class M>
Family<M>& with_default_series(Family<M>& family) {
  if (family.label_names().empty()) family.with({});
  return family;
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

template <class F, class Make>
F& Registry::get_or_create(detail::Kind kind, std::string name, std::string help,
                           std::vector<std::string> label_names, const std::vector<double>* buckets,
                           Make make) {
  const bool is_histogram = kind == detail::Kind::kHistogram;
  validate_names(name, label_names, is_histogram);

  std::lock_guard lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    detail::FamilyBase& existing = *it->second;
    if (kind == detail::Kind::kCallbackGauge) {
      throw conflict(name, "is already registered; a callback gauge can be registered once");
    }
    if (existing.kind() != kind) {
      throw conflict(
          name, std::string("is already registered as a ") +
                    (existing.kind() == detail::Kind::kCallbackGauge ? "callback gauge"
                                                                     : type_name(existing.kind())));
    }
    if (existing.label_names() != label_names) {
      throw conflict(name, "is already registered with different label names");
    }
    if (is_histogram && static_cast<Family<Histogram>&>(existing).buckets_ != *buckets) {
      throw conflict(name, "is already registered with different buckets");
    }
    return static_cast<F&>(existing);
  }

  // A histogram also exposes name_bucket, name_sum and name_count; a family with one of those
  // names would produce an exposition Prometheus cannot parse unambiguously.
  for (std::string_view suffix : kHistogramSuffixes) {
    if (is_histogram && families_.contains(name + std::string(suffix))) {
      throw conflict(name, "is a histogram whose series collide with family '" + name +
                               std::string(suffix) + "'");
    }
    if (std::string_view(name).ends_with(suffix)) {
      auto base = families_.find(std::string_view(name).substr(0, name.size() - suffix.size()));
      if (base != families_.end() && base->second->kind() == detail::Kind::kHistogram) {
        throw conflict(name, "collides with a series of histogram '" + base->first + "'");
      }
    }
  }

  std::unique_ptr<F> family = make(std::move(name), std::move(help), std::move(label_names));
  F& ref = *family;
  families_.emplace(ref.name(), std::move(family));
  return ref;
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
  return with_default_series(get_or_create<Family<Counter>>(
      detail::Kind::kCounter, std::move(name), std::move(help), std::move(label_names), nullptr,
      [](std::string n, std::string h, std::vector<std::string> l) {
        return std::unique_ptr<Family<Counter>>(
            new Family<Counter>(std::move(n), std::move(h), std::move(l), {}));
      }));
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names) {
  return with_default_series(get_or_create<Family<Gauge>>(
      detail::Kind::kGauge, std::move(name), std::move(help), std::move(label_names), nullptr,
      [](std::string n, std::string h, std::vector<std::string> l) {
        return std::unique_ptr<Family<Gauge>>(
            new Family<Gauge>(std::move(n), std::move(h), std::move(l), {}));
      }));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<double> buckets,
                                       std::vector<std::string> label_names) {
  std::vector<double> bounds = normalize_buckets(std::move(buckets));
  return with_default_series(get_or_create<Family<Histogram>>(
      detail::Kind::kHistogram, std::move(name), std::move(help), std::move(label_names), &bounds,
      [&bounds](std::string n, std::string h, std::vector<std::string> l) {
        return std::unique_ptr<Family<Histogram>>(
            new Family<Histogram>(std::move(n), std::move(h), std::move(l), std::move(bounds)));
      }));
}

void Registry::gauge_callback(std::string name, std::string help,
                              std::vector<std::string> label_names, CollectFn collect) {
  if (!collect) throw conflict(name, "registered with an empty callback");
  get_or_create<detail::CallbackFamily>(
      detail::Kind::kCallbackGauge, std::move(name), std::move(help), std::move(label_names),
      nullptr, [&collect](std::string n, std::string h, std::vector<std::string> l) {
        return std::make_unique<detail::CallbackFamily>(std::move(n), std::move(h), std::move(l),
                                                        std::move(collect));
      });
}

std::string Registry::render() const {
  // Families are never removed, so the pointers stay valid after the lock is released; rendering
  // without it lets callbacks run without blocking registration or risking self-deadlock.
  std::vector<const detail::FamilyBase*> families;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  out.reserve(families.size() * 256);
  for (const detail::FamilyBase* family : families) family->render(out);
  return out;
}

}  // namespace wi::metrics
