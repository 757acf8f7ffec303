#include "ctl/bench/report.h"

#include <fmt/format.h>

#include <string_view>

#include "common/json_text.h"

namespace wi::ctl {
namespace {

double ms(std::uint64_t micros) {
  return static_cast<double>(micros) / 1000.0;
}

double rps(const LoadResult& load) {
  return load.elapsed_s > 0 ? static_cast<double>(load.answered) / load.elapsed_s : 0.0;
}

double mb_per_s(const LoadResult& load) {
  return load.elapsed_s > 0 ? static_cast<double>(load.body_bytes_answered) / 1e6 / load.elapsed_s
                            : 0.0;
}

std::string percentiles(const LatencyHistogram& h) {
  return fmt::format("p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f} ms",
                     ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)),
                     ms(h.percentile(99.9)), ms(h.max()));
}

// CPU microseconds per 2xx answer; none when not measured or nothing was answered 2xx.
std::optional<double> us_per_2xx(const std::optional<double>& cpu_s, const LoadResult& load) {
  const std::uint64_t answers = load.answered_2xx();
  if (!cpu_s || answers == 0) return std::nullopt;
  return *cpu_s * 1e6 / static_cast<double>(answers);
}

std::string json_number_or_null(const std::optional<double>& value) {
  return value ? fmt::format("{:.2f}", *value) : "null";
}

void print_process_cpu(std::ostream& out, std::string_view label,
                       const std::optional<double>& cpu_s, const LoadResult& load) {
  if (!cpu_s) return;
  const auto per_request = us_per_2xx(cpu_s, load);
  out << fmt::format("{:<12}{:.2f} s, {} per 2xx answer\n", label, *cpu_s,
                     per_request ? fmt::format("{:.1f} µs", *per_request) : "none");
}

}  // namespace

void print_load(std::ostream& out, const BenchSetup& setup, const LoadResult& load,
                const LoadCpu& cpu) {
  const std::string mode = setup.rate
                               ? fmt::format("open loop at {:g} req/s over {} connections",
                                             *setup.rate, setup.connections)
                               : fmt::format("closed loop, {} connections", setup.connections);
  out << fmt::format(
      "target      {}{}\n", setup.url,
      setup.source.empty() ? "" : fmt::format(" (source {}, kind {})", setup.source, setup.kind));
  out << fmt::format("load        {}, {:g} s, body {} bytes\n", mode, setup.duration_s,
                     setup.body_bytes);
  std::string statuses;
  for (const auto& [status, n] : load.by_status) {
    statuses += fmt::format("{}{}: {}", statuses.empty() ? "" : ", ", status, n);
  }
  out << fmt::format(
      "requests    {} sent, {} answered ({}), {} errors, {} timeouts{}\n", load.sent, load.answered,
      statuses.empty() ? "none" : statuses, load.errors, load.timeouts,
      setup.rate ? fmt::format(", {} not sent (no free connection)", load.not_sent) : "");
  if (!load.first_error.empty()) out << "first error " << load.first_error << "\n";
  out << fmt::format("throughput  {:.0f} req/s, {:.2f} MB/s of bodies over {:.2f} s\n", rps(load),
                     mb_per_s(load), load.elapsed_s);
  out << "latency     " << percentiles(load.latency) << "\n";
  if (setup.rate) out << "start lag   " << percentiles(load.schedule_lag) << "\n";
  out << fmt::format("client cpu  {:.2f} s ({:.0f}% of one core)\n", cpu.client_s,
                     load.elapsed_s > 0 ? 100.0 * cpu.client_s / load.elapsed_s : 0.0);
  print_process_cpu(out, "server cpu", cpu.server_s, load);
  print_process_cpu(out, "broker cpu", cpu.broker_s, load);
}

void print_check(std::ostream& out, const std::string& topic, const AckCheckResult& check) {
  out << fmt::format(
      "check       {}: {} acknowledged, {} found, missing {}, duplicates {} ({} records read in "
      "{:.1f} s)\n",
      topic, check.acknowledged, check.found, check.missing, check.duplicates, check.records_read,
      check.seconds);
}

std::string json_summary(const BenchSetup& setup, const LoadResult& load,
                         const std::optional<AckCheckResult>& check, const LoadCpu& cpu) {
  std::string statuses;
  for (const auto& [status, n] : load.by_status) {
    statuses += fmt::format("{}\"{}\":{}", statuses.empty() ? "" : ",", status, n);
  }
  std::string out = "{\"url\":";
  json::append_string(out, setup.url);
  out += ",\"source\":";
  if (setup.source.empty()) {
    out += "null";
  } else {
    json::append_string(out, setup.source);
  }
  out += fmt::format(
      ",\"mode\":\"{}\",\"connections\":{},\"rate\":{},\"duration_s\":{:g},\"body_bytes\":{},"
      "\"requests\":{},\"responses\":{},\"status\":{{{}}},\"errors\":{},\"timeouts\":{},"
      "\"not_sent\":{},\"elapsed_s\":{:.3f},\"rps\":{:.1f},\"mb_per_s\":{:.3f},"
      "\"p50_ms\":{:.3f},\"p90_ms\":{:.3f},\"p99_ms\":{:.3f},\"p999_ms\":{:.3f},"
      "\"max_ms\":{:.3f},\"client_cpu_s\":{:.2f},\"server_cpu_us_per_req\":{},"
      "\"broker_cpu_us_per_req\":{}",
      setup.rate ? "open" : "closed", setup.connections,
      setup.rate ? fmt::format("{:g}", *setup.rate) : "null", setup.duration_s, setup.body_bytes,
      load.sent, load.answered, statuses, load.errors, load.timeouts, load.not_sent, load.elapsed_s,
      rps(load), mb_per_s(load), ms(load.latency.percentile(50)), ms(load.latency.percentile(90)),
      ms(load.latency.percentile(99)), ms(load.latency.percentile(99.9)), ms(load.latency.max()),
      cpu.client_s, json_number_or_null(us_per_2xx(cpu.server_s, load)),
      json_number_or_null(us_per_2xx(cpu.broker_s, load)));
  if (check) {
    out += fmt::format(",\"acknowledged\":{},\"found\":{},\"missing\":{},\"duplicates\":{}}}",
                       check->acknowledged, check->found, check->missing, check->duplicates);
  } else {
    out += ",\"acknowledged\":null,\"found\":null,\"missing\":null,\"duplicates\":null}";
  }
  return out;
}

}  // namespace wi::ctl
