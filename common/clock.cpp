#include "common/clock.h"

#include <charconv>

#include <fmt/format.h>

namespace wi {

namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct CivilDate {
  std::int64_t year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};

// The inverse of days_from_civil (same algorithm).
CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2), month, day};
}

// Writes `value` as exactly `width` decimal digits ending just before `end`.
void put_digits(char* end, std::int64_t value, int width) {
  for (int i = 0; i < width; ++i, value /= 10) *--end = static_cast<char>('0' + value % 10);
}

}  // namespace

// Arithmetic only: this runs for every webhook (its received-at header), and gmtime_r takes
// glibc's time zone lock even for UTC, which the reactor threads would contend for; fmt would
// add a parse of the format string. system_clock spans 1677-2262: the year has four digits.
std::string format_rfc3339_ms(SystemTime t) {
  constexpr std::int64_t kMsPerDay = 86'400'000;
  const std::int64_t ms_total = to_unix_ms(t);
  std::int64_t days = ms_total / kMsPerDay;
  std::int64_t ms_of_day = ms_total % kMsPerDay;
  if (ms_of_day < 0) {  // before the epoch: round the day down, not toward zero
    ms_of_day += kMsPerDay;
    days -= 1;
  }
  const CivilDate date = civil_from_days(days);
  char text[] = "YYYY-MM-DDThh:mm:ss.sssZ";
  put_digits(text + 4, date.year, 4);
  put_digits(text + 7, date.month, 2);
  put_digits(text + 10, date.day, 2);
  put_digits(text + 13, ms_of_day / 3'600'000, 2);
  put_digits(text + 16, ms_of_day / 60'000 % 60, 2);
  put_digits(text + 19, ms_of_day / 1000 % 60, 2);
  put_digits(text + 23, ms_of_day % 1000, 3);
  return std::string(text, sizeof text - 1);
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
