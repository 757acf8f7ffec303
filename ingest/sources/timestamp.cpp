#include "ingest/sources/timestamp.h"

namespace wi::ingest {

std::optional<std::int64_t> parse_unix_seconds(std::string_view text) {
  // 12 digits reach the year 33658: enough, and far from int64 overflow.
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool within_tolerance(std::int64_t unix_seconds, SystemTime now, std::chrono::seconds tolerance) {
  const std::int64_t now_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t skew = unix_seconds - now_seconds;
  return skew <= tolerance.count() && -skew <= tolerance.count();
}

}  // namespace wi::ingest
