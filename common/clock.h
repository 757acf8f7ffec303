#pragma once
// Time: a Clock interface so logic can be tested with a fake, and the two time formats the
// product speaks (RFC 3339 with milliseconds for headers, relative "-15m" for operators).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace wi {

using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

// Thread-safe; the real one is stateless.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
  virtual SteadyTime steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
};

// "2026-11-27T01:35:50.123Z" (UTC, milliseconds, Z).
std::string format_rfc3339_ms(SystemTime t);

std::int64_t to_unix_ms(SystemTime t);

// An absolute RFC 3339 time ("2026-11-27T01:35:50Z", fractional seconds and numeric offsets
// allowed) or a time relative to `now`: "-15m", "-2h", "-30s", "-1d", "-500ms".
Result<SystemTime> parse_time(std::string_view text, SystemTime now);

// "30s", "500ms", "2m", "1h" → duration (for CLI flags such as --duration).
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace wi
