#include "common/log.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "common/clock.h"
#include "common/json_text.h"

namespace wi::log {

namespace {

// Scrubs secret values from a fully formatted line. Secrets shorter than 4 bytes are not
// scrubbed: they would redact ordinary words, and config validation rejects them anyway.
class RedactingFormatter final : public spdlog::formatter {
 public:
  RedactingFormatter(std::unique_ptr<spdlog::formatter> inner,
                     std::shared_ptr<const std::vector<std::string>> secrets)
      : inner_(std::move(inner)), secrets_(std::move(secrets)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    if (secrets_->empty()) {
      inner_->format(msg, dest);
      return;
    }
    spdlog::memory_buf_t line;
    inner_->format(msg, line);
    std::string text(line.data(), line.size());
    for (const auto& secret : *secrets_) {
      for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
        text.replace(pos, secret.size(), "<redacted>");
        pos += 10;
      }
    }
    dest.append(text.data(), text.data() + text.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<RedactingFormatter>(inner_->clone(), secrets_);
  }

 private:
  std::unique_ptr<spdlog::formatter> inner_;
  std::shared_ptr<const std::vector<std::string>> secrets_;
};

// The text format's pattern, with control characters in the message escaped (\n, \r, \xNN):
// one event is always one line, whatever a value in it held.
class EscapingTextFormatter final : public spdlog::formatter {
 public:
  EscapingTextFormatter()
      : inner_(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v",
                                                           spdlog::pattern_time_type::utc)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const bool clean = std::none_of(payload.begin(), payload.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u < 0x20 || u == 0x7f;
    });
    if (clean) {
      inner_->format(msg, dest);
      return;
    }
    std::string escaped;
    escaped.reserve(payload.size() + 16);
    for (char c : payload) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '\n') {
        escaped += "\\n";
      } else if (c == '\r') {
        escaped += "\\r";
      } else if (c == '\t') {
        escaped += "\\t";
      } else if (u < 0x20 || u == 0x7f) {
        escaped += fmt::format("\\x{:02x}", u);
      } else {
        escaped.push_back(c);
      }
    }
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->format(copy, dest);
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<EscapingTextFormatter>();
  }

 private:
  std::unique_ptr<spdlog::formatter> inner_;
};

// {"ts":"2026-11-27T01:35:50.123Z","level":"info","logger":"ingestd","msg":"..."}
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto level = spdlog::level::to_string_view(msg.level);
    std::string line = fmt::format("{{\"ts\":\"{}\",\"level\":\"{}\",\"logger\":",
                                   format_rfc3339_ms(msg.time),
                                   std::string_view(level.data(), level.size()));
    json::append_string(line, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    line += ",\"msg\":";
    json::append_string(line, std::string_view(msg.payload.data(), msg.payload.size()));
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

spdlog::level::level_enum parse_level(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return spdlog::level::info;
}

std::mutex g_mutex;
spdlog::sink_ptr g_sink;
spdlog::level::level_enum g_level = spdlog::level::info;

// What the sink's formatter needs to be rebuilt when secrets are added after setup().
bool g_installed = false;
Options g_options;
std::vector<Secret> g_secrets;

// The configured format behind a redactor of `secrets`.
std::unique_ptr<spdlog::formatter> make_formatter(const Options& options,
                                                  const std::vector<Secret>& secrets) {
  auto values = std::make_shared<std::vector<std::string>>();
  for (const auto& s : secrets) {
    if (s.reveal().size() < 4) continue;
    values->push_back(s.reveal());
    // The JSON formatter and log::quoted() escape a value before redaction sees it, so a
    // secret with a quote, a backslash or a control character appears in its escaped form.
    auto quoted = json::quote(s.reveal());
    auto escaped = quoted.substr(1, quoted.size() - 2);
    if (escaped != s.reveal()) values->push_back(std::move(escaped));
  }
  // Longest first: a secret that contains another must be replaced whole, not in part.
  std::stable_sort(values->begin(), values->end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  std::unique_ptr<spdlog::formatter> inner;
  if (options.format == "json") {
    inner = std::make_unique<JsonFormatter>();
  } else {
    inner = std::make_unique<EscapingTextFormatter>();
  }
  return std::make_unique<RedactingFormatter>(std::move(inner), values);
}

void install(spdlog::sink_ptr sink, const Options& options, const std::vector<Secret>& secrets) {
  sink->set_formatter(make_formatter(options, secrets));
  std::lock_guard lock(g_mutex);
  g_installed = true;
  g_options = options;
  g_secrets = secrets;
  g_sink = std::move(sink);
  g_level = parse_level(options.level);
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> logger) {
    logger->sinks().assign({g_sink});
    logger->set_level(g_level);
  });
  auto def = std::make_shared<spdlog::logger>("main", g_sink);
  def->set_level(g_level);
  spdlog::set_default_logger(def);
}

}  // namespace

void setup(const Options& options, const std::vector<Secret>& secrets) {
  install(std::make_shared<spdlog::sinks::stderr_sink_mt>(), options, secrets);
}

void set_sink_for_testing(spdlog::sink_ptr sink, const Options& options,
                          const std::vector<Secret>& secrets) {
  install(std::move(sink), options, secrets);
}

void add_secrets(const std::vector<Secret>& secrets) {
  std::lock_guard lock(g_mutex);
  if (!g_installed) return;  // setup() not called: nothing is configured to redact
  g_secrets.insert(g_secrets.end(), secrets.begin(), secrets.end());
  // The sink swaps its formatter under its own lock: a line being written meanwhile is
  // formatted whole by the old redactor or by the new one.
  g_sink->set_formatter(make_formatter(g_options, g_secrets));
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(component)) return existing;
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v", spdlog::pattern_time_type::utc));
  }
  auto logger = std::make_shared<spdlog::logger>(component, g_sink);
  logger->set_level(g_level);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace wi::log
