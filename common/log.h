#pragma once
// Logging: spdlog to stderr, one line per event, text or JSON (LOG_FORMAT), level per
// LOG_LEVEL. Every line passes through a redactor that replaces any configured secret value
// with "<redacted>", so a secret that slips into a message (an error string that echoes a
// header, a URL with a token) still never reaches the log.
//
// Values that come from a request (event ids, reasons that may echo input) go into a line as
// log::quoted(value): double-quoted with JSON escapes, so a newline or a quote in them cannot
// forge a line or a field. Text-format lines also escape any control character left in the
// message, whatever its origin.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/json_text.h"
#include "common/secret.h"

namespace wi::log {

struct Options {
  std::string level = "info";   // debug|info|warn|error
  std::string format = "text";  // text|json
};

// Configures the process-wide sink, format, level and redaction. Call once from main, after
// config loading, before any other thread logs. Loggers from get() made earlier are updated.
void setup(const Options& options, const std::vector<Secret>& secrets);

// Adds secrets learnt after setup() to the redaction of every line from now on (the worker
// runtime sets up logging before a worker kind reads its own settings, secrets among them).
// Thread-safe. Before setup() (or set_sink_for_testing()) it does nothing.
void add_secrets(const std::vector<Secret>& secrets);

// A named logger ("ingestd", "kafka", ...) sharing the configured sink.
std::shared_ptr<spdlog::logger> get(const std::string& component);

// For tests: route every logger into `sink` (in addition to nothing else).
void set_sink_for_testing(spdlog::sink_ptr sink, const Options& options,
                          const std::vector<Secret>& secrets);

// A request-derived value for a log line (see above): log->info("event_id={}", quoted(id)).
struct Quoted {
  std::string_view text;
};
inline Quoted quoted(std::string_view text) { return Quoted{text}; }

}  // namespace wi::log

template <>
struct fmt::formatter<wi::log::Quoted> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const wi::log::Quoted& value, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(wi::json::quote(value.text), ctx);
  }
};
