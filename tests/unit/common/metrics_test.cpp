#include "common/metrics.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace wi::metrics {
namespace {

// ---------------------------------------------------------------------------------------------
// A strict parser for the subset of text format 0.0.4 that render() produces. The tests assert
// on parsed values rather than on substrings so that escaping and number formatting are checked
// the way a Prometheus server would read them.

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0.0;
};

struct Exposition {
  std::vector<Sample> samples;
  std::vector<std::pair<std::string, std::string>> help;  // name, unescaped text
  std::vector<std::pair<std::string, std::string>> type;  // name, type

  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const {
    std::optional<double> found;
    for (const auto& s : samples) {
      if (s.name == name && s.labels == labels) {
        if (found) throw std::runtime_error("duplicate series " + name);
        found = s.value;
      }
    }
    return found;
  }

  std::vector<const Sample*> series(const std::string& name) const {
    std::vector<const Sample*> out;
    for (const auto& s : samples) {
      if (s.name == name) out.push_back(&s);
    }
    return out;
  }

  int help_count(const std::string& name) const {
    int n = 0;
    for (const auto& [h, text] : help) n += h == name;
    return n;
  }

  std::optional<std::string> help_text(const std::string& name) const {
    for (const auto& [h, text] : help) {
      if (h == name) return text;
    }
    return std::nullopt;
  }

  std::optional<std::string> type_of(const std::string& name) const {
    for (const auto& [t, kind] : type) {
      if (t == name) return kind;
    }
    return std::nullopt;
  }
};

[[noreturn]] void fail(const std::string& line, const std::string& why) {
  throw std::runtime_error("cannot parse '" + line + "': " + why);
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

double parse_value(const std::string& line, std::string_view text) {
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  double v = 0.0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) fail(line, "bad value");
  return v;
}

std::string unescape_help(const std::string& line, std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) fail(line, "dangling backslash");
    if (text[i] == '\\') {
      out += '\\';
    } else if (text[i] == 'n') {
      out += '\n';
    } else {
      fail(line, "bad escape in HELP");
    }
  }
  return out;
}

Exposition parse(const std::string& text) {
  Exposition exp;
  if (!text.empty() && text.back() != '\n') fail(text, "missing final newline");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) fail(line, "empty line");
    if (line.starts_with("# HELP ")) {
      std::string_view rest = std::string_view(line).substr(7);
      auto space = rest.find(' ');
      std::string name(rest.substr(0, space));
      std::string help = space == std::string_view::npos
                             ? std::string()
                             : unescape_help(line, rest.substr(space + 1));
      exp.help.emplace_back(std::move(name), std::move(help));
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      std::string_view rest = std::string_view(line).substr(7);
      auto space = rest.find(' ');
      if (space == std::string_view::npos) fail(line, "TYPE without type");
      exp.type.emplace_back(std::string(rest.substr(0, space)),
                            std::string(rest.substr(space + 1)));
      continue;
    }
    if (line[0] == '#') fail(line, "unexpected comment");

    Sample sample;
    std::size_t i = 0;
    while (i < line.size() && is_name_char(line[i])) sample.name += line[i++];
    if (sample.name.empty()) fail(line, "no metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i >= line.size()) fail(line, "unterminated labels");
        if (line[i] == '}') {
          ++i;
          break;
        }
        std::string label;
        while (i < line.size() && line[i] != '=') label += line[i++];
        if (i + 1 >= line.size() || line[i + 1] != '"') fail(line, "label without quote");
        i += 2;
        std::string value;
        while (true) {
          if (i >= line.size()) fail(line, "unterminated label value");
          char c = line[i++];
          if (c == '"') break;
          if (c != '\\') {
            value += c;
            continue;
          }
          if (i >= line.size()) fail(line, "dangling backslash");
          char e = line[i++];
          if (e == '\\') {
            value += '\\';
          } else if (e == '"') {
            value += '"';
          } else if (e == 'n') {
            value += '\n';
          } else {
            fail(line, "bad escape in label value");
          }
        }
        if (!sample.labels.emplace(label, value).second) fail(line, "duplicate label");
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    if (i >= line.size() || line[i] != ' ') fail(line, "no space before value");
    sample.value = parse_value(line, std::string_view(line).substr(i + 1));
    exp.samples.push_back(std::move(sample));
  }
  return exp;
}

Exposition render_and_parse(const Registry& registry) {
  return parse(registry.render());
}

// ---------------------------------------------------------------------------------------------

TEST(MetricsTest, CounterWithLabelsRendersIncrements) {
  Registry registry;
  auto& requests = registry.counter("wi_requests_total", "Requests received.", {"route", "code"});
  Counter& ok = requests.with({"/hook", "200"});
  ok.inc();
  ok.inc(2.5);
  requests.with(std::vector<std::string>{"/hook", "500"}).inc(7);
  EXPECT_EQ(&ok, &requests.with({"/hook", "200"}));  // cached references stay the same

  Exposition exp = render_and_parse(registry);
  EXPECT_EQ(exp.value("wi_requests_total", {{"route", "/hook"}, {"code", "200"}}), 3.5);
  EXPECT_EQ(exp.value("wi_requests_total", {{"route", "/hook"}, {"code", "500"}}), 7.0);
  EXPECT_EQ(exp.type_of("wi_requests_total"), "counter");
  EXPECT_EQ(exp.help_text("wi_requests_total"), "Requests received.");
}

TEST(MetricsTest, CounterIgnoresNegativeAndNaNIncrements) {
  Counter counter;
  counter.inc(3);
  counter.inc(-1);
  counter.inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(counter.value(), 3.0);
}

TEST(MetricsTest, UnlabelledFamiliesRenderZeroBeforeFirstUse) {
  Registry registry;
  registry.counter("wi_a_total", "A.");
  registry.gauge("wi_b", "B.");
  registry.histogram("wi_c_seconds", "C.", {1.0});
  registry.counter("wi_d_total", "D.", {"x"});  // labelled: no series until with()

  Exposition exp = render_and_parse(registry);
  EXPECT_EQ(exp.value("wi_a_total"), 0.0);
  EXPECT_EQ(exp.value("wi_b"), 0.0);
  EXPECT_EQ(exp.value("wi_c_seconds_bucket", {{"le", "1"}}), 0.0);
  EXPECT_EQ(exp.value("wi_c_seconds_bucket", {{"le", "+Inf"}}), 0.0);
  EXPECT_EQ(exp.value("wi_c_seconds_count"), 0.0);
  EXPECT_EQ(exp.value("wi_c_seconds_sum"), 0.0);
  EXPECT_TRUE(exp.series("wi_d_total").empty());
  EXPECT_EQ(exp.type_of("wi_d_total"), "counter");
}

TEST(MetricsTest, GaugeSetIncDec) {
  Registry registry;
  auto& family = registry.gauge("wi_queue_depth", "Queue depth.", {"queue"});
  Gauge& a = family.with({"a"});
  a.set(10);
  a.inc();
  a.inc(4);
  a.dec();
  a.dec(0.5);
  Gauge& b = family.with({"b"});
  b.dec(3);

  Exposition exp = render_and_parse(registry);
  EXPECT_EQ(exp.value("wi_queue_depth", {{"queue", "a"}}), 13.5);
  EXPECT_EQ(exp.value("wi_queue_depth", {{"queue", "b"}}), -3.0);
  EXPECT_EQ(exp.type_of("wi_queue_depth"), "gauge");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumCountAndInf) {
  Registry registry;
  auto& family = registry.histogram("wi_latency_seconds", "Latency.", {0.1, 1.0, 10.0}, {"route"});
  Histogram& h = family.with({"/hook"});
  for (double v : {0.05, 0.1, 0.5, 5.0, 50.0}) h.observe(v);  // 0.1 lands in le="0.1"
  h.observe(std::numeric_limits<double>::quiet_NaN());        // dropped

  Exposition exp = render_and_parse(registry);
  auto bucket = [&](const std::string& le) {
    return exp.value("wi_latency_seconds_bucket", {{"route", "/hook"}, {"le", le}});
  };
  EXPECT_EQ(bucket("0.1"), 2.0);
  EXPECT_EQ(bucket("1"), 3.0);
  EXPECT_EQ(bucket("10"), 4.0);
  EXPECT_EQ(bucket("+Inf"), 5.0);
  EXPECT_EQ(exp.value("wi_latency_seconds_count", {{"route", "/hook"}}), 5.0);
  EXPECT_DOUBLE_EQ(*exp.value("wi_latency_seconds_sum", {{"route", "/hook"}}), 55.65);
  EXPECT_EQ(exp.type_of("wi_latency_seconds"), "histogram");

  // Buckets are rendered in increasing `le` order with non-decreasing counts, +Inf last.
  auto buckets = exp.series("wi_latency_seconds_bucket");
  ASSERT_EQ(buckets.size(), 4u);
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_LT(parse_value("", buckets[i - 1]->labels.at("le")),
              parse_value("", buckets[i]->labels.at("le")));
    EXPECT_LE(buckets[i - 1]->value, buckets[i]->value);
  }
  EXPECT_EQ(buckets.back()->labels.at("le"), "+Inf");

  Histogram::Snapshot snap = h.snapshot();
  EXPECT_EQ(snap.cumulative_counts, (std::vector<std::uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(snap.count, 5u);
}

TEST(MetricsTest, HistogramBucketValidation) {
  const double inf = std::numeric_limits<double>::infinity();
  Histogram trailing_inf({1.0, 2.0, inf});
  EXPECT_EQ(trailing_inf.bounds(), (std::vector<double>{1.0, 2.0}));
  Histogram only_inf({});
  only_inf.observe(3);
  EXPECT_EQ(only_inf.snapshot().cumulative_counts, (std::vector<std::uint64_t>{1}));

  EXPECT_THROW(Histogram({2.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(Histogram({1.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(Histogram({std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
  Registry registry;
  EXPECT_THROW(registry.histogram("wi_h", "", {3.0, 2.0}), std::invalid_argument);
}

TEST(MetricsTest, LabelValueEscapingRoundTrips) {
  Registry registry;
  const std::string tricky = "say \"hi\"\\path\nnext line";
  registry.counter("wi_escape_total", "Escaping.", {"v"}).with({tricky}).inc(2);
  registry.histogram("wi_escape_seconds", "Escaping.", {1.0}, {"v"}).with({tricky}).observe(0.5);

  const std::string text = registry.render();
  EXPECT_NE(text.find(R"(v="say \"hi\"\\path\nnext line")"), std::string::npos) << text;
  Exposition exp = parse(text);
  EXPECT_EQ(exp.value("wi_escape_total", {{"v", tricky}}), 2.0);
  EXPECT_EQ(exp.value("wi_escape_seconds_bucket", {{"v", tricky}, {"le", "1"}}), 1.0);
}

TEST(MetricsTest, HelpIsEscaped) {
  Registry registry;
  registry.gauge("wi_help", "line one\nback\\slash \"quotes\" stay");
  const std::string text = registry.render();
  EXPECT_NE(text.find("# HELP wi_help line one\\nback\\\\slash \"quotes\" stay\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(parse(text).help_text("wi_help"), "line one\nback\\slash \"quotes\" stay");
}

TEST(MetricsTest, InvalidUtf8InLabelValuesIsReplaced) {
  Registry registry;
  auto& family = registry.counter("wi_utf8_total", "", {"v"});
  family
      .with({std::string_view("a\xff"
                              "b")})
      .inc();
  family
      .with({std::string_view("a\xff"
                              "b")})
      .inc();                          // same series again
  family.with({"caf\xc3\xa9"}).inc();  // valid UTF-8 untouched
  Exposition exp = render_and_parse(registry);
  EXPECT_EQ(exp.value("wi_utf8_total", {{"v",
                                         "a\xef\xbf\xbd"
                                         "b"}}),
            2.0);
  EXPECT_EQ(exp.value("wi_utf8_total", {{"v", "caf\xc3\xa9"}}), 1.0);
}

TEST(MetricsTest, HelpAndTypeAppearOncePerFamilyBeforeItsSamples) {
  Registry registry;
  auto& counter = registry.counter("wi_events_total", "Events.", {"kind"});
  for (const char* kind : {"a", "b", "c"}) counter.with({kind}).inc();
  auto& hist = registry.histogram("wi_size_bytes", "Sizes.", {10, 100}, {"kind"});
  for (const char* kind : {"a", "b"}) hist.with({kind}).observe(1);
  registry.gauge("wi_up", "Up.").with({}).set(1);

  const std::string text = registry.render();
  Exposition exp = parse(text);
  for (const char* name : {"wi_events_total", "wi_size_bytes", "wi_up"}) {
    EXPECT_EQ(exp.help_count(name), 1) << name;
    int types = 0;
    for (const auto& [t, kind] : exp.type) types += t == name;
    EXPECT_EQ(types, 1) << name;
  }
  EXPECT_EQ(exp.help.size(), 3u);
  EXPECT_EQ(exp.type.size(), 3u);
  // Every sample line comes after its family's HELP and TYPE lines.
  EXPECT_LT(text.find("# HELP wi_events_total"), text.find("# TYPE wi_events_total"));
  EXPECT_LT(text.find("# TYPE wi_events_total"), text.find("wi_events_total{"));
  EXPECT_LT(text.find("# TYPE wi_size_bytes"), text.find("wi_size_bytes_bucket{"));
}

TEST(MetricsTest, OutputIsSortedDeterministically) {
  Registry registry;
  auto& z = registry.counter("wi_z_total", "Z.", {"k"});
  auto& a = registry.gauge("wi_a", "A.", {"k", "j"});
  z.with({"b"}).inc();
  z.with({"a"}).inc();
  a.with({"y", "2"}).set(1);
  a.with({"x", "9"}).set(2);
  a.with({"y", "1"}).set(3);

  const std::string first = registry.render();
  EXPECT_EQ(first, registry.render());
  EXPECT_EQ(first,
            "# HELP wi_a A.\n"
            "# TYPE wi_a gauge\n"
            "wi_a{k=\"x\",j=\"9\"} 2\n"
            "wi_a{k=\"y\",j=\"1\"} 3\n"
            "wi_a{k=\"y\",j=\"2\"} 1\n"
            "# HELP wi_z_total Z.\n"
            "# TYPE wi_z_total counter\n"
            "wi_z_total{k=\"a\"} 1\n"
            "wi_z_total{k=\"b\"} 1\n");
}

TEST(MetricsTest, NumbersParseBackExactly) {
  Registry registry;
  auto& g = registry.gauge("wi_num", "", {"case"});
  const std::vector<std::pair<std::string, double>> cases = {
      {"million", 1e6},
      {"big_int", 9007199254740992.0},
      {"huge", 1e300},
      {"tenth", 0.1},
      {"third", 1.0 / 3.0},
      {"tiny", 5e-324},
      {"negative", -42.0},
      {"neg_frac", -0.000123},
      {"pos_inf", std::numeric_limits<double>::infinity()},
      {"neg_inf", -std::numeric_limits<double>::infinity()},
  };
  for (const auto& [name, v] : cases) g.with({name}).set(v);
  g.with({"nan"}).set(std::numeric_limits<double>::quiet_NaN());
  registry.counter("wi_int_total", "").with({}).inc(1234567890);

  const std::string text = registry.render();
  EXPECT_NE(text.find("wi_num{case=\"million\"} 1000000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("wi_num{case=\"big_int\"} 9007199254740992\n"), std::string::npos);
  EXPECT_NE(text.find("wi_num{case=\"pos_inf\"} +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("wi_num{case=\"neg_inf\"} -Inf\n"), std::string::npos);
  EXPECT_NE(text.find("wi_num{case=\"nan\"} NaN\n"), std::string::npos);
  EXPECT_NE(text.find("wi_int_total 1234567890\n"), std::string::npos);

  Exposition exp = parse(text);
  for (const auto& [name, v] : cases) {
    EXPECT_EQ(exp.value("wi_num", {{"case", name}}), v) << name;
  }
  EXPECT_TRUE(std::isnan(*exp.value("wi_num", {{"case", "nan"}})));
}

TEST(MetricsTest, ReRegistrationIsIdempotent) {
  Registry registry;
  auto& c1 = registry.counter("wi_c_total", "Help.", {"a"});
  auto& c2 = registry.counter("wi_c_total", "Other help is ignored.", {"a"});
  EXPECT_EQ(&c1, &c2);
  c1.with({"x"}).inc();
  EXPECT_EQ(&c1.with({"x"}), &c2.with({"x"}));

  auto& g1 = registry.gauge("wi_g", "");
  EXPECT_EQ(&g1, &registry.gauge("wi_g", ""));
  auto& h1 = registry.histogram("wi_h_seconds", "", kLatencyBuckets, {"r"});
  EXPECT_EQ(&h1, &registry.histogram("wi_h_seconds", "", kLatencyBuckets, {"r"}));
  // A trailing +Inf is implicit, so it names the same bucket layout.
  std::vector<double> with_inf = kLatencyBuckets;
  with_inf.push_back(std::numeric_limits<double>::infinity());
  EXPECT_EQ(&h1, &registry.histogram("wi_h_seconds", "", with_inf, {"r"}));

  Exposition exp = render_and_parse(registry);
  EXPECT_EQ(exp.value("wi_c_total", {{"a", "x"}}), 1.0);
  EXPECT_EQ(exp.help_text("wi_c_total"), "Help.");
  EXPECT_EQ(exp.help_count("wi_c_total"), 1);
}

TEST(MetricsTest, ConflictingRegistrationThrows) {
  Registry registry;
  registry.counter("wi_x_total", "", {"a"});
  EXPECT_THROW(registry.gauge("wi_x_total", "", {"a"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("wi_x_total", "", {1}, {"a"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("wi_x_total", "", {"b"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("wi_x_total", "", {"a", "b"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("wi_x_total", ""), std::invalid_argument);
  EXPECT_THROW(registry.gauge_callback("wi_x_total", "", {"a"},
                                       [] { return std::vector<Registry::Sample>{}; }),
               std::invalid_argument);

  registry.histogram("wi_h_seconds", "", {1, 2});
  EXPECT_THROW(registry.histogram("wi_h_seconds", "", {1, 3}), std::invalid_argument);
  // Series names a histogram produces cannot be reused, in either registration order.
  EXPECT_THROW(registry.counter("wi_h_seconds_count", ""), std::invalid_argument);
  EXPECT_THROW(registry.gauge("wi_h_seconds_bucket", ""), std::invalid_argument);
  registry.gauge("wi_q_sum", "");
  EXPECT_THROW(registry.histogram("wi_q", "", {1}), std::invalid_argument);

  auto collect = [] { return std::vector<Registry::Sample>{}; };
  registry.gauge_callback("wi_cb", "", {}, collect);
  EXPECT_THROW(registry.gauge_callback("wi_cb", "", {}, collect), std::invalid_argument);
  EXPECT_THROW(registry.gauge("wi_cb", ""), std::invalid_argument);
  EXPECT_THROW(registry.gauge_callback("wi_cb2", "", {}, nullptr), std::invalid_argument);

  // Failed registrations leave no trace in the output.
  Exposition exp = render_and_parse(registry);
  EXPECT_EQ(exp.type.size(), 4u);
}

TEST(MetricsTest, WrongLabelCountThrows) {
  Registry registry;
  auto& two = registry.counter("wi_two_total", "", {"a", "b"});
  EXPECT_THROW(two.with({"x"}), std::invalid_argument);
  EXPECT_THROW(two.with({"x", "y", "z"}), std::invalid_argument);
  EXPECT_THROW(two.with({}), std::invalid_argument);
  EXPECT_THROW(two.with(std::vector<std::string>{"x"}), std::invalid_argument);
  EXPECT_NO_THROW(two.with({"x", "y"}));
  auto& none = registry.gauge("wi_none", "");
  EXPECT_THROW(none.with({"x"}), std::invalid_argument);
  auto& hist = registry.histogram("wi_hist", "", {1}, {"a"});
  EXPECT_THROW(hist.with({}), std::invalid_argument);
}

TEST(MetricsTest, InvalidNamesThrow) {
  Registry registry;
  for (const char* bad : {"", "1abc", "a-b", "a b", "a.b", "__reserved", "é"}) {
    EXPECT_THROW(registry.counter(bad, ""), std::invalid_argument) << bad;
    EXPECT_FALSE(is_valid_metric_name(bad)) << bad;
  }
  for (const char* bad : {"", "1a", "a:b", "a-b", "__name__", "__x"}) {
    EXPECT_THROW(registry.gauge("wi_ok", "", {bad}), std::invalid_argument) << bad;
    EXPECT_FALSE(is_valid_label_name(bad)) << bad;
  }
  EXPECT_THROW(registry.gauge("wi_ok", "", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("wi_ok_seconds", "", {1}, {"le"}), std::invalid_argument);
  EXPECT_THROW(
      registry.gauge_callback("bad-name", "", {}, [] { return std::vector<Registry::Sample>{}; }),
      std::invalid_argument);

  // Valid edge cases.
  EXPECT_NO_THROW(registry.counter("ns:sub_system:x_total", "", {"_a", "B9"}));
  EXPECT_NO_THROW(registry.gauge("_x", "", {"le"}));  // `le` is reserved only for histograms
  EXPECT_NO_THROW(registry.gauge("a_", "", {"a"}));
}

TEST(MetricsTest, CallbackGaugesAppearAtScrapeTime) {
  Registry registry;
  int spool_files = 3;
  registry.gauge_callback("wi_spool_files", "Files in the spool.", {}, [&spool_files] {
    return std::vector<Registry::Sample>{{{}, static_cast<double>(spool_files)}};
  });
  registry.gauge_callback("wi_consumer_lag", "Lag per partition.", {"topic", "partition"}, [] {
    return std::vector<Registry::Sample>{
        {{"webhooks", "1"}, 20}, {{"webhooks", "0"}, 10},
        {{"webhooks"}, 99},       // wrong arity: skipped
        {{"webhooks", "0"}, 11},  // duplicate: first wins
        {{"we\"b", "2"}, 5},
    };
  });
  registry.gauge_callback("wi_broken", "Throws.", {}, []() -> std::vector<Registry::Sample> {
    throw std::runtime_error("backend down");
  });
  // A callback may use the registry's other families without deadlocking render().
  Counter& scrapes = registry.counter("wi_scrapes_total", "").with({});
  registry.gauge_callback("wi_reentrant", "", {}, [&scrapes] {
    scrapes.inc();
    return std::vector<Registry::Sample>{{{}, scrapes.value()}};
  });

  Exposition exp = render_and_parse(registry);
  EXPECT_EQ(exp.value("wi_spool_files"), 3.0);
  EXPECT_EQ(exp.type_of("wi_spool_files"), "gauge");
  EXPECT_EQ(exp.value("wi_consumer_lag", {{"topic", "webhooks"}, {"partition", "0"}}), 10.0);
  EXPECT_EQ(exp.value("wi_consumer_lag", {{"topic", "webhooks"}, {"partition", "1"}}), 20.0);
  EXPECT_EQ(exp.value("wi_consumer_lag", {{"topic", "we\"b"}, {"partition", "2"}}), 5.0);
  EXPECT_EQ(exp.series("wi_consumer_lag").size(), 3u);
  EXPECT_EQ(exp.type_of("wi_broken"), "gauge");
  EXPECT_TRUE(exp.series("wi_broken").empty());
  EXPECT_EQ(exp.value("wi_reentrant"), 1.0);

  spool_files = 8;
  exp = render_and_parse(registry);
  EXPECT_EQ(exp.value("wi_spool_files"), 8.0);
  EXPECT_EQ(exp.value("wi_reentrant"), 2.0);
}

TEST(MetricsTest, ExponentialAndDefaultBuckets) {
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(exponential_buckets(0.5, 10, 1), (std::vector<double>{0.5}));
  EXPECT_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
  EXPECT_THROW(exponential_buckets(1, 1, 3), std::invalid_argument);
  EXPECT_THROW(exponential_buckets(1, 2, 0), std::invalid_argument);

  EXPECT_EQ(kLatencyBuckets.front(), 0.0005);
  EXPECT_EQ(kLatencyBuckets.back(), 10.0);
  EXPECT_TRUE(std::is_sorted(kLatencyBuckets.begin(), kLatencyBuckets.end()));
  EXPECT_NO_THROW(Histogram{kLatencyBuckets});
}

TEST(MetricsTest, ContentType) {
  EXPECT_EQ(content_type(), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(MetricsTest, ConcurrentUpdatesAreExact) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 100'000;
  Registry registry;
  auto& counter = registry.counter("wi_concurrent_total", "", {"shared"});
  auto& gauge = registry.gauge("wi_concurrent_gauge", "");
  auto& hist = registry.histogram("wi_concurrent_seconds", "", {0.5}, {"t"});
  auto& per_thread = registry.counter("wi_per_thread_total", "", {"t"});

  std::atomic<bool> done{false};
  std::thread scraper([&] {
    // Scrapes while writers run: must be race-free and always parseable.
    while (!done.load()) parse(registry.render());
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      Counter& shared = counter.with({"yes"});  // all threads race to create the same series
      Gauge& g = gauge.with({});
      Histogram& h = hist.with({std::to_string(t % 2)});
      for (int i = 0; i < kIterations; ++i) {
        shared.inc();
        g.inc(2);
        g.dec();
        h.observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 1000 == 0) per_thread.with({std::to_string(t)}).inc();
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  scraper.join();

  Exposition exp = render_and_parse(registry);
  EXPECT_EQ(exp.value("wi_concurrent_total", {{"shared", "yes"}}), kThreads * kIterations);
  EXPECT_EQ(exp.value("wi_concurrent_gauge"), kThreads * kIterations);
  double observations = 0;
  for (const char* t : {"0", "1"}) {
    const double per_series = 2.0 * kIterations;  // two threads per series
    EXPECT_EQ(exp.value("wi_concurrent_seconds_count", {{"t", t}}), per_series);
    EXPECT_EQ(exp.value("wi_concurrent_seconds_bucket", {{"t", t}, {"le", "0.5"}}), per_series / 2);
    EXPECT_EQ(exp.value("wi_concurrent_seconds_sum", {{"t", t}}),
              per_series / 2 * 0.25 + per_series / 2 * 1.0);
    observations += *exp.value("wi_concurrent_seconds_bucket", {{"t", t}, {"le", "+Inf"}});
  }
  EXPECT_EQ(observations, kThreads * kIterations);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(exp.value("wi_per_thread_total", {{"t", std::to_string(t)}}), kIterations / 1000);
  }
}

}  // namespace
}  // namespace wi::metrics
