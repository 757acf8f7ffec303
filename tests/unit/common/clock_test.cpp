#include "common/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace wi {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

SystemTime at_ms(std::int64_t unix_ms) {
  return SystemTime(milliseconds(unix_ms));
}

// 2026-11-27T01:35:50.123Z
constexpr std::int64_t kKnownMs = 1795743350123;

// ---- format_rfc3339_ms ------------------------------------------------------------------------

TEST(FormatRfc3339Test, Epoch) {
  EXPECT_EQ(format_rfc3339_ms(SystemTime{}), "1970-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339Test, KnownInstants) {
  EXPECT_EQ(format_rfc3339_ms(at_ms(kKnownMs)), "2026-11-27T01:35:50.123Z");
  EXPECT_EQ(format_rfc3339_ms(at_ms(946684800000)), "2000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(at_ms(1709208000000)), "2024-02-29T12:00:00.000Z");  // leap day
  EXPECT_EQ(format_rfc3339_ms(at_ms(4107542400000)), "2100-03-01T00:00:00.000Z");  // no leap day
  EXPECT_EQ(format_rfc3339_ms(at_ms(946684800000 - 1)), "1999-12-31T23:59:59.999Z");
}

TEST(FormatRfc3339Test, MillisecondsArePaddedToThreeDigits) {
  EXPECT_EQ(format_rfc3339_ms(at_ms(5)), "1970-01-01T00:00:00.005Z");
  EXPECT_EQ(format_rfc3339_ms(at_ms(50)), "1970-01-01T00:00:00.050Z");
  EXPECT_EQ(format_rfc3339_ms(at_ms(500)), "1970-01-01T00:00:00.500Z");
  EXPECT_EQ(format_rfc3339_ms(at_ms(61001)), "1970-01-01T00:01:01.001Z");
}

TEST(FormatRfc3339Test, SubMillisecondsAreTruncated) {
  EXPECT_EQ(format_rfc3339_ms(at_ms(kKnownMs) + microseconds(999)), "2026-11-27T01:35:50.123Z");
}

TEST(FormatRfc3339Test, BeforeTheEpoch) {
  EXPECT_EQ(format_rfc3339_ms(at_ms(-1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(at_ms(-1000)), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(format_rfc3339_ms(at_ms(-1500)), "1969-12-31T23:59:58.500Z");
  EXPECT_EQ(format_rfc3339_ms(at_ms(-86400000)), "1969-12-31T00:00:00.000Z");
}

// Against the C library's calendar, a day at a time from 1900 to 2200 (leap years and
// centuries included), at a different time of day each day.
TEST(FormatRfc3339Test, AgreesWithGmtimeAcrossThreeCenturies) {
  constexpr std::int64_t kDayMs = 86'400'000;
  for (std::int64_t day = -25567; day <= 84006; ++day) {  // 1900-01-01 .. 2200-01-01
    const std::int64_t ms = day * kDayMs + (day * 7919'123) % kDayMs;
    const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&secs, &tm), nullptr);
    char expected[96];
    std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                  tm.tm_sec, static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000));
    ASSERT_EQ(format_rfc3339_ms(at_ms(ms)), expected) << "day " << day;
  }
}

TEST(FormatRfc3339Test, ToUnixMs) {
  EXPECT_EQ(to_unix_ms(SystemTime{}), 0);
  EXPECT_EQ(to_unix_ms(at_ms(kKnownMs)), kKnownMs);
  EXPECT_EQ(to_unix_ms(at_ms(kKnownMs) + microseconds(999)), kKnownMs);
}

// ---- parse_time: absolute ---------------------------------------------------------------------

class ParseTimeTest : public ::testing::Test {
 protected:
  // Any fixed instant; absolute times must not depend on it.
  const SystemTime now_ = at_ms(kKnownMs + 3600000);

  std::int64_t parse_ms(std::string_view text) {
    auto r = parse_time(text, now_);
    EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? to_unix_ms(*r) : -1;
  }

  void expect_rejected(std::string_view text) {
    auto r = parse_time(text, now_);
    ASSERT_FALSE(r.ok()) << "accepted '" << text << "' as " << format_rfc3339_ms(*r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_FALSE(r.error().retryable);
    // The message quotes what was wrong (for "-15x", the "15x" part).
    auto quoted = text.substr(!text.empty() && text[0] == '-' ? 1 : 0);
    EXPECT_NE(r.error().message.find(std::string(quoted)), std::string::npos) << r.error().message;
  }
};

TEST_F(ParseTimeTest, UtcWithZ) {
  EXPECT_EQ(parse_ms("2026-11-27T01:35:50Z"), kKnownMs - 123);
  EXPECT_EQ(parse_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_ms("2024-02-29T12:00:00Z"), 1709208000000);
}

TEST_F(ParseTimeTest, FractionalSeconds) {
  EXPECT_EQ(parse_ms("2026-11-27T01:35:50.123Z"), kKnownMs);
  EXPECT_EQ(parse_ms("2026-11-27T01:35:50.1Z"), kKnownMs - 23);
  EXPECT_EQ(parse_ms("2026-11-27T01:35:50.12Z"), kKnownMs - 3);
  // Beyond milliseconds, digits are accepted and truncated.
  EXPECT_EQ(parse_ms("2026-11-27T01:35:50.123999Z"), kKnownMs);
  EXPECT_EQ(parse_ms("2026-11-27T01:35:50.000000001Z"), kKnownMs - 123);
}

TEST_F(ParseTimeTest, NumericOffsets) {
  EXPECT_EQ(parse_ms("2026-11-27T03:35:50.123+02:00"), kKnownMs);
  EXPECT_EQ(parse_ms("2026-11-26T20:05:50.123-05:30"), kKnownMs);
  EXPECT_EQ(parse_ms("2026-11-27T01:35:50.123+00:00"), kKnownMs);
  EXPECT_EQ(parse_ms("2026-11-27T01:35:50.123-00:00"), kKnownMs);
  // An offset that crosses midnight and a month end.
  EXPECT_EQ(parse_ms("2026-12-01T00:30:00+01:00"), parse_ms("2026-11-30T23:30:00Z"));
}

TEST_F(ParseTimeTest, RoundTripsWithFormat) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{5}, kKnownMs, std::int64_t{1709208000999},
                          std::int64_t{4107542400000}}) {
    auto text = format_rfc3339_ms(at_ms(ms));
    EXPECT_EQ(parse_ms(text), ms) << text;
  }
}

// ---- parse_time: relative ---------------------------------------------------------------------

TEST_F(ParseTimeTest, RelativeToNow) {
  auto rel = [&](std::string_view text) {
    auto r = parse_time(text, now_);
    EXPECT_TRUE(r.ok()) << text;
    return r.ok() ? now_ - *r : SystemTime::duration::min();
  };
  EXPECT_EQ(rel("-15m"), minutes(15));
  EXPECT_EQ(rel("-2h"), hours(2));
  EXPECT_EQ(rel("-30s"), seconds(30));
  EXPECT_EQ(rel("-1d"), hours(24));
  EXPECT_EQ(rel("-500ms"), milliseconds(500));
  EXPECT_EQ(rel("-0s"), seconds(0));
}

TEST_F(ParseTimeTest, RelativeUsesTheGivenNow) {
  auto a = parse_time("-1h", at_ms(kKnownMs));
  auto b = parse_time("-1h", at_ms(kKnownMs + 1000));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(to_unix_ms(*a), kKnownMs - 3600000);
  EXPECT_EQ(*b - *a, seconds(1));
}

// ---- parse_time: rejections -------------------------------------------------------------------

TEST_F(ParseTimeTest, RejectsGarbage) {
  expect_rejected("garbage");
  expect_rejected("");
  expect_rejected("yesterday");
  expect_rejected("1795743350123");
  expect_rejected("2026-11-27");
}

TEST_F(ParseTimeTest, RejectsMissingZone) {
  expect_rejected("2026-11-27T01:35:50");
  expect_rejected("2026-11-27T01:35:50.123");
}

TEST_F(ParseTimeTest, RejectsOutOfRangeFields) {
  expect_rejected("2026-13-01T00:00:00Z");
  expect_rejected("2026-00-01T00:00:00Z");
  expect_rejected("2026-11-00T00:00:00Z");
  expect_rejected("2026-11-32T00:00:00Z");
  expect_rejected("2026-11-27T24:00:00Z");
  expect_rejected("2026-11-27T01:60:00Z");
  expect_rejected("2026-11-27T01:35:61Z");
}

TEST_F(ParseTimeTest, RejectsDaysThatDoNotExistInTheMonth) {
  expect_rejected("2026-02-29T00:00:00Z");  // not a leap year
  expect_rejected("2100-02-29T00:00:00Z");  // not a leap year either
  expect_rejected("2026-02-30T00:00:00Z");
  expect_rejected("2026-04-31T00:00:00Z");
  EXPECT_EQ(parse_ms("2024-02-29T00:00:00Z"), 1709164800000);
}

TEST_F(ParseTimeTest, RejectsSignedFields) {
  expect_rejected("2026-11-27T-1:00:00Z");
  expect_rejected("2026-11-27T01:-5:00Z");
  expect_rejected("2026-11-27T01:35:-1Z");
  expect_rejected("2026-11-27T01:35:50+-1:00");
}

TEST_F(ParseTimeTest, RejectsMalformedStructure) {
  expect_rejected("2026/11/27T01:35:50Z");
  expect_rejected("2026-11-27X01:35:50Z");
  expect_rejected("2026-11-27T01:35:50.Z");      // a dot needs digits
  expect_rejected("2026-11-27T01:35:50Zjunk");   // trailing text
  expect_rejected("2026-11-27T01:35:50+02");     // offset without minutes
  expect_rejected("2026-11-27T01:35:50+0200");   // offset without colon
  expect_rejected("2026-11-27T01:35:50+24:00");  // offset hours
  expect_rejected("2026-11-27T01:35:50+02:60");  // offset minutes
  expect_rejected(" 2026-11-27T01:35:50Z");
}

TEST_F(ParseTimeTest, RejectsBadRelativeTimes) {
  expect_rejected("-");
  expect_rejected("-15x");
  expect_rejected("-m");
  expect_rejected("+15m");  // only the past
  expect_rejected("15m");
  expect_rejected("--15m");
  expect_rejected("-1.5h");
}

// ---- parse_duration ---------------------------------------------------------------------------

TEST(ParseDurationTest, Units) {
  auto ms = [](std::string_view text) {
    auto r = parse_duration(text);
    EXPECT_TRUE(r.ok()) << text;
    return r.ok() ? r->count() : -1;
  };
  EXPECT_EQ(ms("500ms"), 500);
  EXPECT_EQ(ms("30s"), 30000);
  EXPECT_EQ(ms("2m"), 120000);
  EXPECT_EQ(ms("1h"), 3600000);
  EXPECT_EQ(ms("1d"), 86400000);
  EXPECT_EQ(ms("0s"), 0);
  EXPECT_EQ(ms("45"), 45000);  // no unit: seconds
  EXPECT_EQ(ms("90m"), 5400000);
}

TEST(ParseDurationTest, Rejections) {
  for (std::string_view text : {"", "s", "ms", "-5s", "+5s", "5x", "5 s", " 5s", "5s ", "1.5s",
                                "5sm", "5S", "5hours", "99999999999999999999s"}) {
    auto r = parse_duration(text);
    ASSERT_FALSE(r.ok()) << "accepted '" << text << "' as " << r->count() << "ms";
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << text;
  }
}

// ---- SystemClock ------------------------------------------------------------------------------

TEST(SystemClockTest, TracksTheRealClocks) {
  SystemClock clock;
  const Clock& iface = clock;
  auto sys_before = std::chrono::system_clock::now();
  auto steady_before = std::chrono::steady_clock::now();
  auto sys = iface.now();
  auto steady = iface.steady_now();
  EXPECT_GE(sys, sys_before);
  EXPECT_GE(steady, steady_before);
  EXPECT_LE(sys, std::chrono::system_clock::now());
  EXPECT_LE(steady, std::chrono::steady_clock::now());
}

}  // namespace
}  // namespace wi
