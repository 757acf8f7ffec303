#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/utf8.h"
#include "common/secret.h"

namespace wi::log {
namespace {

using Fields = std::map<std::string, std::string>;

// A strict parser for the one shape the JSON formatter emits: a flat object whose values are
// all strings, followed by a newline. Returns nullopt on anything else.
class FlatJson {
 public:
  static std::optional<Fields> parse(std::string_view text) {
    FlatJson p(text);
    Fields out;
    if (!p.eat('{')) return std::nullopt;
    for (bool first = true;; first = false) {
      if (p.eat('}')) break;
      if (!first && !p.eat(',')) return std::nullopt;
      auto key = p.string();
      if (!key || !p.eat(':')) return std::nullopt;
      auto value = p.string();
      if (!value || out.count(*key)) return std::nullopt;
      out[*key] = *value;
    }
    if (!p.eat('\n') || p.pos_ != text.size()) return std::nullopt;
    return out;
  }

 private:
  explicit FlatJson(std::string_view text) : s_(text) {}

  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::optional<std::uint32_t> hex4() {
    if (pos_ + 4 > s_.size()) return std::nullopt;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return std::nullopt;
    }
    return v;
  }

  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (pos_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return out;
      if (c < 0x20) return std::nullopt;  // raw control characters are not allowed
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        continue;
      }
      if (pos_ >= s_.size()) return std::nullopt;
      switch (s_[pos_++]) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          auto cp = hex4();
          if (!cp || (*cp >= 0xD800 && *cp <= 0xDFFF)) return std::nullopt;  // we never emit pairs
          append_utf8(out, *cp);
          break;
        }
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

int count(const std::string& text, const std::string& part) {
  int n = 0;
  for (auto pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) ++n;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size() - 1;
    out.push_back(text.substr(start, nl - start + 1));
    start = nl + 1;
  }
  return out;
}

const std::regex kRfc3339Ms(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");

class LogTest : public ::testing::Test {
 protected:
  void install(const std::string& level, const std::string& format,
               const std::vector<Secret>& secrets = {}) {
    out_.str("");
    set_sink_for_testing(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_), {level, format},
                         secrets);
  }

  void TearDown() override {
    // Leave a neutral state for the next test: no sink pointing at our stream, no secrets.
    set_sink_for_testing(std::make_shared<spdlog::sinks::null_sink_mt>(), {}, {});
  }

  std::string output() const { return out_.str(); }

  std::ostringstream out_;
};

// ---- text format ------------------------------------------------------------------------------

TEST_F(LogTest, TextLineHasTimeLevelLoggerAndMessage) {
  install("info", "text");
  get("log_test")->info("accepted event_id={} bytes={}", "ev-1", 42);
  const std::regex shape(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z info \[log_test\] accepted event_id=ev-1 bytes=42\n)");
  EXPECT_TRUE(std::regex_match(output(), shape)) << output();
}

TEST_F(LogTest, TextLevelsAreNamed) {
  install("debug", "text");
  auto lg = get("log_test");
  lg->debug("d");
  lg->warn("w");
  lg->error("e");
  auto lines = lines_of(output());
  ASSERT_EQ(lines.size(), 3u) << output();
  EXPECT_NE(lines[0].find(" debug [log_test] d\n"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" warning [log_test] w\n"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(" error [log_test] e\n"), std::string::npos) << lines[2];
}

// ---- JSON format ------------------------------------------------------------------------------

TEST_F(LogTest, JsonLineIsAnObjectWithTsLevelLoggerMsg) {
  install("info", "json");
  auto before = std::chrono::system_clock::now();
  get("log_test")->info("hello world");
  auto after = std::chrono::system_clock::now();

  auto fields = FlatJson::parse(output());
  ASSERT_TRUE(fields.has_value()) << output();
  EXPECT_EQ(fields->size(), 4u);
  EXPECT_EQ(fields->at("level"), "info");
  EXPECT_EQ(fields->at("logger"), "log_test");
  EXPECT_EQ(fields->at("msg"), "hello world");

  const auto& ts = fields->at("ts");
  ASSERT_TRUE(std::regex_match(ts, kRfc3339Ms)) << ts;
  auto parsed = parse_time(ts, after);
  ASSERT_TRUE(parsed.ok()) << ts;
  // The timestamp is this moment, truncated to milliseconds.
  EXPECT_GE(*parsed, std::chrono::floor<std::chrono::milliseconds>(before));
  EXPECT_LE(*parsed, after);
}

TEST_F(LogTest, JsonEscapesAwkwardMessages) {
  install("info", "json");
  const std::string msg = std::string("quote\" backslash\\ newline\n tab\t bell\x07 bad\xFF end");
  get("log_test")->info("{}", msg);
  auto lines = lines_of(output());
  ASSERT_EQ(lines.size(), 1u) << output();  // the newline in the message did not split the line
  EXPECT_TRUE(utf8::is_valid(lines[0]));
  auto fields = FlatJson::parse(lines[0]);
  ASSERT_TRUE(fields.has_value()) << lines[0];
  EXPECT_EQ(fields->at("msg"), "quote\" backslash\\ newline\n tab\t bell\x07 bad\xEF\xBF\xBD end");
}

TEST_F(LogTest, JsonLevelNames) {
  install("debug", "json");
  auto lg = get("log_test");
  lg->debug("a");
  lg->warn("b");
  lg->error("c");
  auto lines = lines_of(output());
  ASSERT_EQ(lines.size(), 3u) << output();
  std::vector<std::string> levels;
  for (const auto& line : lines) {
    auto fields = FlatJson::parse(line);
    ASSERT_TRUE(fields.has_value()) << line;
    levels.push_back(fields->at("level"));
  }
  EXPECT_EQ(levels, (std::vector<std::string>{"debug", "warning", "error"}));
}

// ---- redaction --------------------------------------------------------------------------------

TEST_F(LogTest, TextRedactsRegisteredSecret) {
  install("info", "text", {Secret("s3cr3t-value-123")});
  get("log_test")->info("bad signature, expected s3cr3t-value-123 from header");
  const auto out = output();
  EXPECT_EQ(out.find("s3cr3t-value-123"), std::string::npos) << out;
  EXPECT_NE(out.find("expected <redacted> from header"), std::string::npos) << out;
}

TEST_F(LogTest, TextRedactsEveryOccurrence) {
  install("info", "text", {Secret("tok-abcdef")});
  get("log_test")->info("a=tok-abcdef b=tok-abcdeftok-abcdef");
  const auto out = output();
  EXPECT_EQ(out.find("tok-abcdef"), std::string::npos) << out;
  EXPECT_EQ(count(out, "<redacted>"), 3) << out;
  EXPECT_NE(out.find("a=<redacted> b=<redacted><redacted>"), std::string::npos) << out;
}

TEST_F(LogTest, JsonRedactsRegisteredSecret) {
  install("info", "json", {Secret("s3cr3t-value-123")});
  get("log_test")->info("url=https://x/?token=s3cr3t-value-123&again=s3cr3t-value-123");
  const auto out = output();
  EXPECT_EQ(out.find("s3cr3t-value-123"), std::string::npos) << out;
  auto fields = FlatJson::parse(out);
  ASSERT_TRUE(fields.has_value()) << out;
  EXPECT_EQ(fields->at("msg"), "url=https://x/?token=<redacted>&again=<redacted>");
}

TEST_F(LogTest, JsonRedactsSecretsThatNeedEscaping) {
  // A password with a quote and a backslash is written escaped in JSON; it must still go.
  const std::string secret = "pa\"ss\\word-9";
  install("info", "json", {Secret(secret)});
  get("log_test")->info("smtp login failed for {}", secret);
  const auto out = output();
  EXPECT_EQ(out.find(secret), std::string::npos) << out;
  EXPECT_EQ(out.find("pa\\\"ss\\\\word-9"), std::string::npos) << out;  // the escaped form
  auto fields = FlatJson::parse(out);
  ASSERT_TRUE(fields.has_value()) << out;
  EXPECT_EQ(fields->at("msg").find(secret), std::string::npos) << out;
  EXPECT_NE(fields->at("msg").find("<redacted>"), std::string::npos) << out;
}

TEST_F(LogTest, SecretThatContainsAnotherSecretIsRedactedWhole) {
  // The shorter secret is registered first; the longer one must not be left half visible.
  install("info", "text", {Secret("abcd1234"), Secret("abcd1234-tail-5678")});
  get("log_test")->info("k1=abcd1234 k2=abcd1234-tail-5678");
  const auto out = output();
  EXPECT_EQ(out.find("abcd1234"), std::string::npos) << out;
  EXPECT_EQ(out.find("tail-5678"), std::string::npos) << out;
  EXPECT_NE(out.find("k1=<redacted> k2=<redacted>\n"), std::string::npos) << out;
}

TEST_F(LogTest, ShortSecretsAreNotScrubbed) {
  // Below 4 bytes, redaction would eat ordinary words; config validation rejects such secrets.
  install("info", "text", {Secret("abc")});
  get("log_test")->info("abc");
  EXPECT_NE(output().find("] abc\n"), std::string::npos) << output();
}

TEST_F(LogTest, SecretsAddedAfterSetupAreRedactedFromThenOnKeepingTheFirstOnesAndTheFormat) {
  install("info", "json", {Secret("first-secret-1")});
  auto lg = get("log_test");
  lg->info("before: later-secret-2");
  add_secrets({Secret("later-secret-2")});
  lg->info("after: later-secret-2 first-secret-1");
  auto lines = lines_of(output());
  ASSERT_EQ(lines.size(), 2u) << output();
  EXPECT_NE(lines[0].find("before: later-secret-2"), std::string::npos) << lines[0];
  auto fields = FlatJson::parse(lines[1]);
  ASSERT_TRUE(fields.has_value()) << lines[1];  // still the configured (JSON) format
  EXPECT_EQ(fields->at("msg"), "after: <redacted> <redacted>");
}

TEST_F(LogTest, WithoutSecretsNothingIsRedacted) {
  install("info", "text");
  get("log_test")->info("s3cr3t-value-123");
  EXPECT_NE(output().find("s3cr3t-value-123"), std::string::npos) << output();
  EXPECT_EQ(output().find("<redacted>"), std::string::npos) << output();
}

TEST_F(LogTest, FormattingASecretGivesRedacted) {
  const Secret s("never-print-me");
  EXPECT_EQ(fmt::format("{}", s), "<redacted>");
  EXPECT_EQ(fmt::format("key={} end", s), "key=<redacted> end");
  EXPECT_EQ(fmt::format("[{:>12}]", s), "[  <redacted>]");
  EXPECT_EQ(s.reveal(), "never-print-me");

  // Through a logger, even one that knows no secrets.
  install("info", "text");
  get("log_test")->info("secret={}", s);
  EXPECT_EQ(output().find("never-print-me"), std::string::npos) << output();
  EXPECT_NE(output().find("secret=<redacted>"), std::string::npos) << output();
}

// ---- levels -----------------------------------------------------------------------------------

TEST_F(LogTest, DebugSuppressedAtInfo) {
  install("info", "text");
  auto lg = get("log_test");
  lg->debug("hidden-debug");
  lg->info("shown-info");
  lg->warn("shown-warn");
  const auto out = output();
  EXPECT_EQ(out.find("hidden-debug"), std::string::npos) << out;
  EXPECT_NE(out.find("shown-info"), std::string::npos) << out;
  EXPECT_NE(out.find("shown-warn"), std::string::npos) << out;
}

TEST_F(LogTest, DebugShownAtDebug) {
  install("debug", "text");
  get("log_test")->debug("shown-debug");
  EXPECT_NE(output().find("shown-debug"), std::string::npos) << output();
}

TEST_F(LogTest, WarnAndErrorLevels) {
  install("warn", "text");
  auto lg = get("log_test");
  lg->info("hidden-info");
  lg->warn("shown-warn");
  EXPECT_EQ(output().find("hidden-info"), std::string::npos) << output();
  EXPECT_NE(output().find("shown-warn"), std::string::npos) << output();

  install("error", "text");
  lg->warn("hidden-warn");
  lg->error("shown-error");
  EXPECT_EQ(output().find("hidden-warn"), std::string::npos) << output();
  EXPECT_NE(output().find("shown-error"), std::string::npos) << output();
}

TEST_F(LogTest, LoggersMadeEarlierFollowTheNewSinkAndLevel) {
  auto early = get("log_test_early");
  install("debug", "json", {Secret("early-secret")});
  early->debug("with early-secret");
  auto fields = FlatJson::parse(output());
  ASSERT_TRUE(fields.has_value()) << output();
  EXPECT_EQ(fields->at("logger"), "log_test_early");
  EXPECT_EQ(fields->at("msg"), "with <redacted>");
}

TEST_F(LogTest, DefaultLoggerUsesTheSink) {
  install("info", "text", {Secret("default-secret")});
  spdlog::info("via default default-secret");
  const auto out = output();
  EXPECT_NE(out.find("via default <redacted>"), std::string::npos) << out;
  EXPECT_EQ(out.find("default-secret"), std::string::npos) << out;
}

TEST_F(LogTest, GetReturnsTheSameLoggerForAName) {
  EXPECT_EQ(get("log_test_same"), get("log_test_same"));
  EXPECT_NE(get("log_test_same"), get("log_test_other"));
}

// ---- request-derived values ------------------------------------------------------------------

TEST_F(LogTest, QuotedValueWithANewlineCannotForgeATextLine) {
  install("info", "text");
  const std::string forged = "ev-1\n2026-01-01T00:00:00.000Z info [ingestd] accepted event_id=\"evil\"";
  get("log_test")->info("rejected event_id={} status=401", wi::log::quoted(forged));
  const auto lines = lines_of(output());
  ASSERT_EQ(lines.size(), 1u) << output();
  EXPECT_NE(lines[0].find(R"(event_id="ev-1\n2026-01-01T00:00:00.000Z info [ingestd] accepted event_id=\"evil\"" status=401)"),
            std::string::npos)
      << lines[0];
}

TEST_F(LogTest, TextLinesEscapeControlCharactersWhateverTheirOrigin) {
  install("info", "text");
  get("log_test")->info("reason={} tail", "a\r\nb\x01" "c\td");
  const auto lines = lines_of(output());
  ASSERT_EQ(lines.size(), 1u) << output();
  EXPECT_NE(lines[0].find("reason=a\\r\\nb\\x01c\\td tail\n"), std::string::npos) << lines[0];
}

TEST_F(LogTest, QuotedSecretWithAQuoteIsStillRedactedInText) {
  const std::string secret = "pa\"ss\\word-9";
  install("info", "text", {Secret(secret)});
  get("log_test")->info("header={}", wi::log::quoted(secret));
  const auto out = output();
  EXPECT_EQ(out.find("ss"), std::string::npos) << out;
  EXPECT_NE(out.find("header=\"<redacted>\""), std::string::npos) << out;
}

}  // namespace
}  // namespace wi::log
