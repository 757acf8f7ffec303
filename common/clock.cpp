#include "common/clock.h"

#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace wi {

std::string format_rfc3339_ms(SystemTime t) {
  auto ms_total = to_unix_ms(t);
  std::time_t secs = static_cast<std::time_t>(ms_total / 1000);
  int ms = static_cast<int>(ms_total % 1000);
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

std::int64_t to_unix_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data() || n < 0) {
    return Error::invalid(fmt::format("'{}' is not a duration (e.g. 30s, 500ms, 15m)", text));
  }
  // Far beyond any useful duration, and small enough that no unit below overflows.
  if (n > 1000000000) return Error::invalid(fmt::format("'{}' is too long", text));
  std::string_view unit(end, text.data() + text.size() - end);
  using namespace std::chrono;
  milliseconds d;
  if (unit == "ms") d = milliseconds(n);
  else if (unit == "s" || unit.empty()) d = seconds(n);
  else if (unit == "m") d = minutes(n);
  else if (unit == "h") d = hours(n);
  else if (unit == "d") d = hours(24 * n);
  else return Error::invalid(fmt::format("'{}' has an unknown unit (use ms, s, m, h or d)", text));
  // The system clock spans about 292 years; keep every use of a duration well inside it.
  if (d > hours(24 * 365 * 100)) return Error::invalid(fmt::format("'{}' is too long", text));
  return d;
}

namespace {

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  // Digits only: from_chars would accept a sign ("T-1:00:00Z").
  if (pos + len > s.size() || s[pos] < '0' || s[pos] > '9') return false;
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return ec == std::errc() && end == s.data() + pos + len;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

Result<SystemTime> parse_time(std::string_view text, SystemTime now) {
  if (!text.empty() && text.front() == '-') {
    auto d = parse_duration(text.substr(1));
    if (!d) return d.error();
    return now - *d;
  }
  auto bad = [&] {
    return Error::invalid(fmt::format(
        "'{}' is not an RFC 3339 time (2026-11-27T01:35:50Z) or a relative one (-15m)", text));
  };
  // YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]
  int year, mon, day, hour, min, sec;
  if (text.size() < 20 || !read_int(text, 0, 4, year) || text[4] != '-' ||
      !read_int(text, 5, 2, mon) || text[7] != '-' || !read_int(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !read_int(text, 11, 2, hour) ||
      text[13] != ':' || !read_int(text, 14, 2, min) || text[16] != ':' ||
      !read_int(text, 17, 2, sec)) {
    return bad();
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return bad();
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDaysInMonth[mon - 1] || (mon == 2 && day == 29 && !leap)) return bad();
  // system_clock counts nanoseconds in 64 bits: it ends in April 2262.
  if (year < 1970 || year > 2200) {
    return Error::invalid(fmt::format("'{}' is out of range (years 1970 to 2200)", text));
  }
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  std::int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!read_int(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !read_int(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_s = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  std::int64_t secs = days_from_civil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day)) *
                          86400 +
                      hour * 3600 + min * 60 + sec - offset_s;
  return SystemTime(std::chrono::milliseconds(secs * 1000 + millis));
}

}  // namespace wi
