// `ingestctl tail <topic>`: prints records as JSON lines.
#include <atomic>
#include <iostream>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/codec.h"
#include "common/json_text.h"
#include "common/utf8.h"
#include "ctl/command.h"
#include "ctl/interrupt.h"

namespace wi::ctl {

namespace {

// {"topic":..,"partition":..,"offset":..,"timestamp":..,"timestamp_ms":..,"key":..,
//  "headers":{..},"value":..,"value_encoding":"utf8"|"base64"} — key and value are UTF-8 text
// when they are valid UTF-8, else base64 (with "key_encoding"/"value_encoding" saying so).
std::string to_json_line(const kafka::ConsumedRecord& rec) {
  auto text_or_base64 = [](std::string& out, const std::string& field, const std::string& bytes) {
    const bool text = utf8::is_valid(bytes);
    out += ",\"" + field + "\":";
    json::append_string(out, text ? bytes : codec::base64_encode(bytes));
    out += ",\"" + field + "_encoding\":";
    out += text ? "\"utf8\"" : "\"base64\"";
  };
  std::string out = "{\"topic\":";
  json::append_string(out, rec.topic);
  out += fmt::format(",\"partition\":{},\"offset\":{},\"timestamp\":\"{}\",\"timestamp_ms\":{}",
                     rec.partition, rec.offset,
                     format_rfc3339_ms(SystemTime(std::chrono::milliseconds(rec.timestamp_ms))),
                     rec.timestamp_ms);
  if (rec.key) {
    text_or_base64(out, "key", *rec.key);
  } else {
    out += ",\"key\":null";
  }
  out += ",\"headers\":{";
  for (std::size_t i = 0; i < rec.headers.size(); ++i) {
    if (i) out += ",";
    json::append_string(out, rec.headers[i].name);
    out += ":";
    json::append_string(out, rec.headers[i].value);
  }
  out += "}";
  text_or_base64(out, "value", rec.value);
  out += "}";
  return out;
}

class TailCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& parent) override {
    auto* cmd = parent.add_subcommand("tail", "Print a topic's records as JSON lines");
    cmd->add_option("topic", topic_, "Topic to read")->required();
    auto* begin = cmd->add_flag("--from-beginning", from_beginning_, "Start at the oldest record");
    cmd->add_option("--from-time", from_time_,
                    "Start at the first record at or after this time (RFC 3339 or -15m)")
        ->excludes(begin);
    cmd->add_option("--count", count_, "Stop after this many records");
    cmd->add_option("--timeout", timeout_,
                    "Stop after this long (e.g. 30s); with --count, fewer records is an error");
    return cmd;
  }

  int run(const GlobalFlags& flags) override {
    auto config = load_config(flags);
    kafka::ConsumerOptions options;
    options.client = client_options(config);
    auto consumer = kafka::RdKafkaConsumer::create(options);
    if (!consumer) return fail(consumer.error().message);
    auto& c = **consumer;
    const auto kMetaTimeout = std::chrono::seconds(15);

    std::vector<kafka::TopicPartitionOffset> start;
    if (from_time_) {
      auto t = parse_time(*from_time_, SystemClock().now());
      if (!t) {
        std::cerr << "ingestctl: --from-time: " << t.error().message << "\n";
        return kExitUsage;
      }
      auto offsets = c.offsets_for_time(topic_, to_unix_ms(*t), kMetaTimeout);
      if (!offsets) return fail(offsets.error().message);
      start = *offsets;
    } else {
      auto parts = c.partitions_of(topic_, kMetaTimeout);
      if (!parts) return fail(parts.error().message);
      for (auto p : *parts) {
        start.push_back({topic_, p,
                         from_beginning_ ? kafka::Consumer::kOffsetBeginning
                                         : kafka::Consumer::kOffsetEnd});
      }
    }
    if (auto s = c.assign(start); !s) return fail(s.error().message);

    std::optional<std::chrono::milliseconds> limit;
    if (timeout_) {
      auto d = parse_duration(*timeout_);
      if (!d) {
        std::cerr << "ingestctl: --timeout: " << d.error().message << "\n";
        return kExitUsage;
      }
      limit = *d;
    }
    const auto& interrupted = stop_on_interrupt();
    auto deadline = std::chrono::steady_clock::now() + limit.value_or(std::chrono::hours(24 * 365));
    std::int64_t printed = 0;
    while (!interrupted && (!count_ || printed < *count_) &&
           std::chrono::steady_clock::now() < deadline) {
      auto rec = c.poll(std::chrono::milliseconds(200));
      if (!rec) {
        if (!rec.error().retryable) return fail(rec.error().message);
        continue;
      }
      if (!*rec) continue;
      std::cout << to_json_line(**rec) << "\n" << std::flush;
      ++printed;
    }
    c.close();
    if (count_ && printed < *count_ && !interrupted) {
      return fail(fmt::format("only {} of {} records arrived within {}", printed, *count_,
                              timeout_.value_or("the timeout")));
    }
    return kExitOk;
  }

 private:
  static int fail(const std::string& message) {
    std::cerr << "ingestctl: " << message << "\n";
    return kExitFailure;
  }

  std::string topic_;
  bool from_beginning_ = false;
  std::optional<std::string> from_time_;
  std::optional<std::int64_t> count_;
  std::optional<std::string> timeout_;
};

}  // namespace

std::unique_ptr<Command> make_tail_command() { return std::make_unique<TailCommand>(); }

}  // namespace wi::ctl
