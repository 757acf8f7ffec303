#include "common/http/request_parser.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace wi::http {
namespace {

using State = RequestParser::State;
using Limits = RequestParser::Limits;

constexpr std::uint64_t kBodyLimit = 1 << 20;

// What one request parse produced, for comparing the same input fed in different pieces.
struct Outcome {
  State state = State::kHead;
  ParseError error = ParseError::kNone;
  std::string method, target;
  int version_minor = -1;
  std::vector<Header> headers;
  std::optional<std::uint64_t> content_length;
  bool chunked = false, keep_alive = false, expect_continue = false;
  std::string body;
  std::size_t consumed = 0;

  bool operator==(const Outcome& o) const {
    auto same_headers = [&] {
      if (headers.size() != o.headers.size()) return false;
      for (std::size_t i = 0; i < headers.size(); ++i) {
        if (headers[i].name != o.headers[i].name || headers[i].value != o.headers[i].value) {
          return false;
        }
      }
      return true;
    };
    return state == o.state && error == o.error && method == o.method && target == o.target &&
           version_minor == o.version_minor && same_headers() &&
           content_length == o.content_length && chunked == o.chunked &&
           keep_alive == o.keep_alive && expect_continue == o.expect_continue && body == o.body &&
           consumed == o.consumed;
  }
};

void PrintTo(const Outcome& o, std::ostream* os) {
  *os << "{state=" << static_cast<int>(o.state) << " error=" << describe(o.error)
      << " method=" << o.method << " target=" << o.target << " body.size=" << o.body.size()
      << " consumed=" << o.consumed << "}";
}

// Feeds `input` to `parser` in pieces whose sizes `next_piece` chooses, as a connection
// would: accept_body(max_body) at kHeadReady, stop at kComplete or kFailed.
Outcome drive(RequestParser& parser, std::string_view input,
              const std::function<std::size_t(std::size_t)>& next_piece,
              std::uint64_t max_body = kBodyLimit) {
  Outcome out;
  std::size_t offset = 0;
  while (true) {
    if (parser.state() == State::kHeadReady) {
      parser.accept_body(max_body);
      continue;
    }
    if (parser.state() == State::kComplete || parser.state() == State::kFailed) break;
    if (offset == input.size()) break;
    std::size_t piece = std::min(next_piece(input.size() - offset), input.size() - offset);
    std::size_t used_in_piece = 0;
    while (used_in_piece < piece) {
      std::size_t n = parser.feed(input.data() + offset + used_in_piece, piece - used_in_piece);
      used_in_piece += n;
      if (parser.state() == State::kHeadReady) {
        parser.accept_body(max_body);
        continue;
      }
      if (n == 0) break;  // complete or failed: the rest of the piece is not ours
    }
    offset += used_in_piece;
    if (used_in_piece < piece) break;
  }
  out.state = parser.state();
  out.error = parser.error();
  out.consumed = offset;
  const auto& h = parser.head();
  out.method = h.method;
  out.target = h.target;
  out.version_minor = h.version_minor;
  out.headers = h.headers.all();
  out.content_length = h.content_length;
  out.chunked = h.chunked;
  out.keep_alive = h.keep_alive;
  out.expect_continue = h.expect_continue;
  if (parser.state() == State::kComplete) out.body = parser.body();
  return out;
}

Outcome parse_whole(std::string_view input, std::uint64_t max_body = kBodyLimit,
                    Limits limits = {}) {
  RequestParser parser(limits);
  return drive(
      parser, input, [](std::size_t rest) { return rest; }, max_body);
}

Outcome parse_bytewise(std::string_view input, std::uint64_t max_body = kBodyLimit,
                       Limits limits = {}) {
  RequestParser parser(limits);
  return drive(
      parser, input, [](std::size_t) { return std::size_t{1}; }, max_body);
}

Outcome parse_random(std::string_view input, unsigned seed, std::uint64_t max_body = kBodyLimit,
                     Limits limits = {}) {
  RequestParser parser(limits);
  std::mt19937 rng(seed);
  return drive(
      parser, input,
      [&](std::size_t rest) {
        // Mostly tiny pieces (to cut CRLFs and tokens), sometimes big ones.
        std::uniform_int_distribution<std::size_t> small(1, 7), big(1, rest);
        return (rng() % 4 == 0) ? big(rng) : small(rng);
      },
      max_body);
}

ParseError error_of(std::string_view input, std::uint64_t max_body = kBodyLimit,
                    Limits limits = {}) {
  return parse_whole(input, max_body, limits).error;
}

const std::string kPost =
    "POST /webhooks/github?x=1&y=2 HTTP/1.1\r\n"
    "Host: ingest.example.com\r\n"
    "User-Agent: GitHub-Hookshot/abc\r\n"
    "X-GitHub-Event: push\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "{\"zen\":\"hi\"}\n";

const std::string kChunked =
    "POST /webhooks/x HTTP/1.1\r\n"
    "Host: h\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5;name=value;flag\r\n"
    "hello\r\n"
    "1\r\n"
    " \r\n"
    "A \t; ext=\"quoted; string\"\r\n"
    "0123456789\r\n"
    "000\r\n"
    "Checksum: abc\r\n"
    "X-Other:\tdef\r\n"
    "\r\n";

// ---- basics ------------------------------------------------------------------------------------

TEST(RequestParserTest, ParsesACompletePost) {
  Outcome o = parse_whole(kPost);
  ASSERT_EQ(o.state, State::kComplete) << describe(o.error);
  EXPECT_EQ(o.method, "POST");
  EXPECT_EQ(o.target, "/webhooks/github?x=1&y=2");
  EXPECT_EQ(o.version_minor, 1);
  ASSERT_EQ(o.headers.size(), 5u);
  EXPECT_EQ(o.headers[0].name, "Host");
  EXPECT_EQ(o.headers[2].name, "X-GitHub-Event");
  EXPECT_EQ(o.headers[2].value, "push");
  EXPECT_EQ(o.content_length, 13u);
  EXPECT_FALSE(o.chunked);
  EXPECT_TRUE(o.keep_alive);
  EXPECT_FALSE(o.expect_continue);
  EXPECT_EQ(o.body, "{\"zen\":\"hi\"}\n");
  EXPECT_EQ(o.consumed, kPost.size());
}

TEST(RequestParserTest, PathQueryAndCaseInsensitiveLookup) {
  RequestParser p;
  p.feed(kPost);
  ASSERT_EQ(p.state(), State::kHeadReady);
  EXPECT_EQ(p.head().path(), "/webhooks/github");
  EXPECT_EQ(p.head().query(), "x=1&y=2");
  ASSERT_NE(p.head().headers.find("x-github-event"), nullptr);
  EXPECT_EQ(*p.head().headers.find("CONTENT-TYPE"), "application/json");

  RequestParser q;
  q.feed(std::string_view("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_EQ(q.state(), State::kHeadReady);
  EXPECT_EQ(q.head().path(), "/healthz");
  EXPECT_EQ(q.head().query(), "");
}

TEST(RequestParserTest, StopsAtHeadReadyUntilBodyIsAccepted) {
  RequestParser p;
  std::size_t n = p.feed(kPost);
  const std::size_t head_size = kPost.find("\r\n\r\n") + 4;
  EXPECT_EQ(n, head_size);
  EXPECT_EQ(p.state(), State::kHeadReady);
  EXPECT_EQ(p.feed(kPost.data() + n, kPost.size() - n), 0u);  // waits for the owner
  EXPECT_EQ(p.bytes_seen(), head_size);
  p.accept_body(100);
  EXPECT_EQ(p.state(), State::kBody);
  EXPECT_EQ(p.feed(kPost.data() + n, kPost.size() - n), kPost.size() - n);
  EXPECT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.bytes_seen(), kPost.size());
}

TEST(RequestParserTest, HeadersKeepSpellingOrderAndDuplicatesWithOwsTrimmed) {
  Outcome o = parse_whole(
      "GET / HTTP/1.1\r\nHost: h\r\nX-A:  one \t\r\nx-a:two\r\nX-Empty:\r\nX-Tab:\tv\t\r\n"
      "X-8bit: caf\xC3\xA9\r\n\r\n");
  ASSERT_EQ(o.state, State::kComplete);
  ASSERT_EQ(o.headers.size(), 6u);
  EXPECT_EQ(o.headers[1].name, "X-A");
  EXPECT_EQ(o.headers[1].value, "one");
  EXPECT_EQ(o.headers[2].name, "x-a");
  EXPECT_EQ(o.headers[2].value, "two");
  EXPECT_EQ(o.headers[3].value, "");
  EXPECT_EQ(o.headers[4].value, "v");
  EXPECT_EQ(o.headers[5].value, "caf\xC3\xA9");
}

TEST(RequestParserTest, AcceptsBareLfAndLeadingEmptyLines) {
  Outcome o = parse_whole("\r\n\nPOST /a HTTP/1.1\nHost: h\nContent-Length: 2\n\nok");
  ASSERT_EQ(o.state, State::kComplete) << describe(o.error);
  EXPECT_EQ(o.target, "/a");
  EXPECT_EQ(o.body, "ok");
  EXPECT_EQ(error_of("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            ParseError::kBadRequest);  // more than a few
}

TEST(RequestParserTest, RequestsWithoutFramingHaveNoBody) {
  for (std::string method : {"GET", "HEAD", "DELETE", "POST", "OPTIONS"}) {
    std::string req = method + " /x HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\n";
    RequestParser p;
    std::size_t n = p.feed(req);
    ASSERT_EQ(p.state(), State::kHeadReady) << method;
    EXPECT_FALSE(p.head().has_body());
    p.accept_body(0);  // even a zero limit: there is nothing to read
    EXPECT_EQ(p.state(), State::kComplete) << method;
    EXPECT_EQ(p.body(), "");
    EXPECT_EQ(req.substr(n), "GET /next HTTP/1.1\r\n");
  }
  Outcome zero = parse_whole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(zero.state, State::kComplete);
  EXPECT_EQ(zero.content_length, 0u);
}

TEST(RequestParserTest, BytesSeenStartedAndReset) {
  RequestParser p;
  EXPECT_FALSE(p.started());
  EXPECT_EQ(p.bytes_seen(), 0u);
  p.feed("P", 1);
  EXPECT_TRUE(p.started());
  EXPECT_EQ(p.state(), State::kHead);
  p.feed(kPost.data() + 1, kPost.size() - 1);
  p.accept_body(100);
  p.feed(kPost.data() + p.bytes_seen(), kPost.size() - p.bytes_seen());
  EXPECT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.bytes_seen(), kPost.size());
  p.reset();
  EXPECT_FALSE(p.started());
  EXPECT_EQ(p.state(), State::kHead);
  EXPECT_EQ(p.error(), ParseError::kNone);
  EXPECT_TRUE(p.head().headers.empty());
  EXPECT_TRUE(p.head().method.empty());
  EXPECT_EQ(p.body(), "");
}

TEST(RequestParserTest, LeadingEmptyLinesDoNotStartARequest) {
  // RFC 9112 §2.2: a stray CRLF after a previous body is no request yet; a drain must not wait
  // for it, and the idle timeout, not the header timeout, applies to it.
  RequestParser p;
  p.feed("\r\n\n\r", 4);
  EXPECT_FALSE(p.started());
  EXPECT_EQ(p.bytes_seen(), 4u);
  p.feed("\nG", 2);
  EXPECT_TRUE(p.started());
  p.feed("ET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(p.state(), State::kHeadReady);
  EXPECT_EQ(p.head().method, "GET");
}

TEST(RequestParserTest, FeedAfterCompleteOrFailedConsumesNothing) {
  RequestParser p;
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  p.feed(req);
  p.accept_body(10);
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.feed(req), 0u);

  RequestParser bad;
  EXPECT_EQ(bad.feed(std::string_view("GET / HTTP/9\r\nmore")), 14u);
  EXPECT_EQ(bad.state(), State::kFailed);
  EXPECT_EQ(bad.feed(req), 0u);
  bad.accept_body(10);  // ignored outside kHeadReady
  EXPECT_EQ(bad.state(), State::kFailed);
}

// ---- splits ------------------------------------------------------------------------------------

TEST(RequestParserTest, SameOutcomeWhateverTheSplit) {
  const std::vector<std::string> inputs = {
      kPost,
      kChunked,
      "GET /webhooks/dropbox?challenge=abc HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
      "\nPOST /a HTTP/1.1\nHost: h\nContent-Length: 3\n\nabcEXTRA",
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n",
      "POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody",
      // Failures must fail the same way too.
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(40, 'f') +
          "\r\n",
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE("input #" + std::to_string(i));
    const Outcome whole = parse_whole(inputs[i]);
    EXPECT_EQ(parse_bytewise(inputs[i]), whole);
    for (unsigned seed = 1; seed <= 200; ++seed) {
      ASSERT_EQ(parse_random(inputs[i], seed), whole) << "seed " << seed;
    }
  }
}

TEST(RequestParserTest, EveryTwoPieceSplitOfAChunkedRequest) {
  const Outcome whole = parse_whole(kChunked);
  ASSERT_EQ(whole.state, State::kComplete) << describe(whole.error);
  EXPECT_EQ(whole.body, "hello 0123456789");
  EXPECT_EQ(whole.consumed, kChunked.size());
  for (std::size_t cut = 0; cut <= kChunked.size(); ++cut) {
    RequestParser p;
    bool first = true;
    Outcome o = drive(p, kChunked, [&](std::size_t rest) {
      std::size_t n = first ? cut : rest;
      first = false;
      return n == 0 ? rest : n;
    });
    ASSERT_EQ(o, whole) << "cut at " << cut;
  }
}

// ---- connection handling -------------------------------------------------------------------

TEST(RequestParserTest, KeepAliveRules) {
  struct Case {
    const char* version;
    const char* connection;  // nullptr: no Connection field
    bool keep_alive;
  };
  const Case cases[] = {
      {"1.1", nullptr, true},
      {"1.1", "close", false},
      {"1.1", "Close", false},
      {"1.1", "keep-alive", true},
      {"1.1", "Upgrade, CLOSE", false},
      {"1.1", "closed", true},
      {"1.0", nullptr, false},
      {"1.0", "keep-alive", true},
      {"1.0", "Keep-Alive", true},
      {"1.0", "foo ,  KEEP-ALIVE ", true},
      {"1.0", "keep-alive, close", false},
      {"1.0", "close", false},
  };
  for (const auto& c : cases) {
    std::string req = std::string("GET / HTTP/") + c.version + "\r\nHost: h\r\n";
    if (c.connection) req += std::string("Connection: ") + c.connection + "\r\n";
    req += "\r\n";
    Outcome o = parse_whole(req);
    ASSERT_EQ(o.state, State::kComplete) << req;
    EXPECT_EQ(o.version_minor, c.version[2] - '0');
    EXPECT_EQ(o.keep_alive, c.keep_alive) << req;
  }
  // Several Connection fields count together.
  EXPECT_FALSE(parse_whole("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n"
                           "connection: close\r\n\r\n")
                   .keep_alive);
}

TEST(RequestParserTest, HostRules) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\n\r\n"), ParseError::kBadRequest);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), ParseError::kBadRequest);
  EXPECT_EQ(error_of("GET / HTTP/1.0\r\n\r\n"), ParseError::kNone);
  Limits lenient;
  lenient.require_host = false;
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\n\r\n", kBodyLimit, lenient), ParseError::kNone);
}

TEST(RequestParserTest, PipelinedRequestsParseOneAtATime) {
  const std::string a = "POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  const std::string b = "GET /two HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string c =
      "POST /three HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n";
  const std::string stream = a + b + c;

  RequestParser p;
  std::size_t offset = 0;
  std::vector<std::string> targets, bodies;
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 3; ++i) {
    std::size_t start = offset;
    offset += p.feed(stream.data() + offset, stream.size() - offset);
    ASSERT_EQ(p.state(), State::kHeadReady);
    p.accept_body(100);
    offset += p.feed(stream.data() + offset, stream.size() - offset);
    ASSERT_EQ(p.state(), State::kComplete);
    EXPECT_EQ(p.bytes_seen(), offset - start);
    targets.push_back(p.head().target);
    bodies.push_back(p.take_body());
    sizes.push_back(offset - start);
    p.reset();
  }
  EXPECT_EQ(offset, stream.size());
  EXPECT_EQ(targets, (std::vector<std::string>{"/one", "/two", "/three"}));
  EXPECT_EQ(bodies, (std::vector<std::string>{"abc", "", "xy"}));
  EXPECT_EQ(sizes, (std::vector<std::size_t>{a.size(), b.size(), c.size()}));

  // The same stream byte by byte gives the same requests.
  RequestParser q;
  std::vector<std::string> seen;
  auto advance = [&] {
    if (q.state() == State::kHeadReady) q.accept_body(100);
    if (q.state() == State::kComplete) {
      seen.push_back(q.head().target + "=" + q.body());
      q.reset();
    }
  };
  for (char ch : stream) {
    ASSERT_NE(q.state(), State::kFailed);
    std::size_t used = q.feed(&ch, 1);
    if (used == 0) {  // the byte belongs to the next step or the next request
      advance();
      used = q.feed(&ch, 1);
    }
    ASSERT_EQ(used, 1u);
    advance();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"/one=abc", "/two=", "/three=xy"}));
}

// ---- errors ------------------------------------------------------------------------------------

TEST(RequestParserTest, StatusAndDescriptionOfEveryError) {
  EXPECT_EQ(status_of(ParseError::kBadRequest), 400);
  EXPECT_EQ(status_of(ParseError::kHeaderTooLarge), 431);
  EXPECT_EQ(status_of(ParseError::kBodyTooLarge), 413);
  EXPECT_EQ(status_of(ParseError::kNotImplemented), 501);
  EXPECT_EQ(status_of(ParseError::kVersionNotSupported), 505);
  EXPECT_EQ(status_of(ParseError::kExpectationFailed), 417);
  for (auto e : {ParseError::kNone, ParseError::kBadRequest, ParseError::kHeaderTooLarge,
                 ParseError::kBodyTooLarge, ParseError::kNotImplemented,
                 ParseError::kVersionNotSupported, ParseError::kExpectationFailed}) {
    EXPECT_STRNE(describe(e), "");
  }
}

TEST(RequestParserTest, RequestLineErrors) {
  const std::pair<std::string, ParseError> cases[] = {
      {"GET / HTTP/2.0", ParseError::kVersionNotSupported},
      {"GET / HTTP/1.2", ParseError::kVersionNotSupported},
      {"GET / HTTP/0.9", ParseError::kVersionNotSupported},
      {"GET / HTTP/3", ParseError::kVersionNotSupported},
      {"GET / HTTP/1.1x", ParseError::kBadRequest},
      {"GET / http/1.1", ParseError::kBadRequest},
      {"GET / HTTP/", ParseError::kBadRequest},
      {"GET / HTTP/1.", ParseError::kBadRequest},
      {"GET / HTTP/1.1 ", ParseError::kBadRequest},
      {"GET /", ParseError::kBadRequest},
      {"GET", ParseError::kBadRequest},
      {"GET  / HTTP/1.1", ParseError::kBadRequest},
      {" GET / HTTP/1.1", ParseError::kBadRequest},
      {"GET /a b HTTP/1.1", ParseError::kBadRequest},
      {"G(T / HTTP/1.1", ParseError::kBadRequest},
      {"GET /\x01 HTTP/1.1", ParseError::kBadRequest},
      {"GET /\x7f HTTP/1.1", ParseError::kBadRequest},
      {"GET /caf\xC3\xA9 HTTP/1.1", ParseError::kBadRequest},
      {std::string("GET /\0 HTTP/1.1", 15), ParseError::kBadRequest},
      {"GET / HTTP/1.1\r", ParseError::kNone},
      {"GET / HTTP/1.1\r\r", ParseError::kBadRequest},
      {"GET /\rx HTTP/1.1", ParseError::kBadRequest},
      {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", ParseError::kBadRequest},  // TLS hello
  };
  for (const auto& [line, expected] : cases) {
    std::string req = line + "\nHost: h\r\n\r\n";
    EXPECT_EQ(error_of(req), expected) << line;
    EXPECT_EQ(parse_bytewise(req).error, expected) << line;
  }
}

TEST(RequestParserTest, HeaderFieldErrors) {
  const std::pair<std::string, ParseError> cases[] = {
      {"Name : value", ParseError::kBadRequest},  // whitespace before the colon
      {"Name\t: value", ParseError::kBadRequest},
      {" folded", ParseError::kBadRequest},  // obs-fold
      {"\tfolded", ParseError::kBadRequest},
      {"NoColon", ParseError::kBadRequest},
      {": empty-name", ParseError::kBadRequest},
      {"Na(me: v", ParseError::kBadRequest},
      {"X: a\x01"
       "b",
       ParseError::kBadRequest},
      {"X: a\x7f"
       "b",
       ParseError::kBadRequest},
      {"X: a\rb", ParseError::kBadRequest},  // bare CR
      {std::string("X: a\0b", 6), ParseError::kBadRequest},
      {std::string("X\0: ab", 6), ParseError::kBadRequest},
      {"X: tab\tinside is fine", ParseError::kNone},
  };
  for (const auto& [field, expected] : cases) {
    std::string req = "GET / HTTP/1.1\r\nHost: h\r\n" + field + "\r\n\r\n";
    EXPECT_EQ(error_of(req), expected) << field;
    EXPECT_EQ(parse_bytewise(req).error, expected) << field;
  }
  // A fold directly after the request line is just as bad.
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\n folded: x\r\nHost: h\r\n\r\n"), ParseError::kBadRequest);
}

TEST(RequestParserTest, ContentLengthRules) {
  auto with = [](const std::string& fields) {
    return "POST / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n12345";
  };
  EXPECT_EQ(parse_whole(with("Content-Length: 5\r\nContent-Length: 5\r\n")).body, "12345");
  EXPECT_EQ(parse_whole(with("Content-Length: 5, 5\r\n")).body, "12345");
  EXPECT_EQ(parse_whole(with("content-length:5 \r\n")).body, "12345");
  EXPECT_EQ(parse_whole(with("Content-Length: 005\r\n")).body, "12345");
  const char* bad[] = {
      "Content-Length: 5\r\nContent-Length: 6\r\n",
      "Content-Length: 5, 6\r\n",
      "Content-Length: 5,\r\n",
      "Content-Length: ,5\r\n",
      "Content-Length: \r\n",
      "Content-Length: +5\r\n",
      "Content-Length: -1\r\n",
      "Content-Length: 0x5\r\n",
      "Content-Length: 5 5\r\n",
      "Content-Length: 5.0\r\n",
      "Content-Length: 18446744073709551616\r\n",  // 2^64
      "Content-Length: 99999999999999999999999\r\n",
  };
  for (const char* fields : bad) {
    EXPECT_EQ(error_of(with(fields)), ParseError::kBadRequest) << fields;
  }
  // The largest value parses, and is then simply too large.
  EXPECT_EQ(error_of(with("Content-Length: 18446744073709551615\r\n")), ParseError::kBodyTooLarge);
}

TEST(RequestParserTest, TransferEncodingRules) {
  auto with = [](const std::string& version, const std::string& fields) {
    return "POST / HTTP/" + version + "\r\nHost: h\r\n" + fields + "\r\n0\r\n\r\n";
  };
  EXPECT_EQ(error_of(with("1.1", "Transfer-Encoding: chunked\r\n")), ParseError::kNone);
  EXPECT_EQ(error_of(with("1.1", "transfer-encoding:  CHUNKED \r\n")), ParseError::kNone);
  // Smuggling classics: TE together with CL, in either order.
  EXPECT_EQ(error_of(with("1.1", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")),
            ParseError::kBadRequest);
  EXPECT_EQ(error_of(with("1.1", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")),
            ParseError::kBadRequest);
  EXPECT_EQ(error_of(with("1.1", "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n")),
            ParseError::kBadRequest);
  EXPECT_EQ(error_of(with("1.0", "Transfer-Encoding: chunked\r\n")), ParseError::kBadRequest);
  EXPECT_EQ(error_of(with("1.1", "Transfer-Encoding:\r\n")), ParseError::kBadRequest);
  const char* not_implemented[] = {
      "Transfer-Encoding: gzip\r\n",
      "Transfer-Encoding: gzip, chunked\r\n",
      "Transfer-Encoding: chunked, chunked\r\n",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: identity\r\n",
      "Transfer-Encoding: chunked;q=1\r\n",
      "Transfer-Encoding: xchunked\r\n",
  };
  for (const char* fields : not_implemented) {
    EXPECT_EQ(error_of(with("1.1", fields)), ParseError::kNotImplemented) << fields;
    EXPECT_EQ(status_of(error_of(with("1.1", fields))), 501);
  }
}

TEST(RequestParserTest, ExpectHandling) {
  auto with = [](const std::string& version, const std::string& expect) {
    return "POST / HTTP/" + version + "\r\nHost: h\r\nExpect: " + expect +
           "\r\nContent-Length: 2\r\n\r\nok";
  };
  Outcome o = parse_whole(with("1.1", "100-continue"));
  EXPECT_EQ(o.state, State::kComplete);
  EXPECT_TRUE(o.expect_continue);
  EXPECT_TRUE(parse_whole(with("1.1", "100-Continue ")).expect_continue);
  EXPECT_FALSE(parse_whole(with("1.0", "100-continue")).expect_continue);  // RFC 9110 §10.1.1
  EXPECT_FALSE(parse_whole(kPost).expect_continue);
  for (const char* other : {"200-ok", "100-continue, foo", "", "100-continuex"}) {
    EXPECT_EQ(error_of(with("1.1", other)), ParseError::kExpectationFailed) << other;
  }
  EXPECT_EQ(status_of(error_of(with("1.1", "x"))), 417);

  // The owner learns of the expectation at kHeadReady, before any body byte is needed.
  RequestParser p;
  std::string head =
      "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(p.feed(head), head.size());
  ASSERT_EQ(p.state(), State::kHeadReady);
  EXPECT_TRUE(p.head().expect_continue);
  p.accept_body(10);
  EXPECT_EQ(p.state(), State::kBody);
}

// ---- head size limit ------------------------------------------------------------------------

TEST(RequestParserTest, OneMebibyteHeaderLineIsRejectedAfterTheLimit) {
  std::string req =
      "POST / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
  const Limits limits;  // 16 KiB
  {
    RequestParser p;
    std::size_t n = p.feed(req);
    EXPECT_EQ(p.state(), State::kFailed);
    EXPECT_EQ(p.error(), ParseError::kHeaderTooLarge);
    EXPECT_EQ(status_of(p.error()), 431);
    EXPECT_LE(n, limits.max_head_bytes + 1);
    EXPECT_GE(n, limits.max_head_bytes);
    EXPECT_LE(p.bytes_scanned(), limits.max_head_bytes);
  }
  {  // the same in 4 KiB reads, as from a socket
    RequestParser p;
    std::size_t offset = 0;
    while (p.state() == State::kHead && offset < req.size()) {
      offset += p.feed(req.data() + offset, std::min<std::size_t>(4096, req.size() - offset));
    }
    EXPECT_EQ(p.error(), ParseError::kHeaderTooLarge);
    EXPECT_LE(offset, limits.max_head_bytes + 1);
    EXPECT_LE(p.bytes_scanned(), limits.max_head_bytes);
  }
  {  // and byte by byte, which costs no more per byte
    RequestParser p;
    std::size_t offset = 0;
    while (p.state() == State::kHead && offset < req.size()) offset += p.feed(&req[offset], 1);
    EXPECT_EQ(p.error(), ParseError::kHeaderTooLarge);
    EXPECT_LE(offset, limits.max_head_bytes + 1);
    EXPECT_LE(p.bytes_scanned(), limits.max_head_bytes);
  }
}

TEST(RequestParserTest, SlowlyGrowingHeadCrossesTheLimit) {
  Limits limits;
  limits.max_head_bytes = 2048;
  limits.max_header_fields = 1000;
  RequestParser p(limits);
  std::size_t fed = p.feed(std::string_view("POST / HTTP/1.1\r\nHost: h\r\n"));
  for (int i = 0; p.state() == State::kHead; ++i) {
    ASSERT_LT(i, 1000) << "never failed";
    std::string field = "X-Field-" + std::to_string(i) + ": value\r\n";
    for (char c : field) {  // a slow client: a few bytes per read
      if (p.state() != State::kHead) break;
      fed += p.feed(&c, 1);
    }
  }
  EXPECT_EQ(p.error(), ParseError::kHeaderTooLarge);
  EXPECT_EQ(fed, limits.max_head_bytes);
  EXPECT_EQ(p.bytes_seen(), limits.max_head_bytes);
}

TEST(RequestParserTest, HeadLimitIsInclusiveOfTheEmptyLine) {
  Limits limits;
  limits.max_head_bytes = 256;
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  const std::string exact = start + std::string(256 - start.size() - end.size(), 'p') + end;
  ASSERT_EQ(exact.size(), 256u);
  EXPECT_EQ(parse_whole(exact, 0, limits).state, State::kComplete);
  EXPECT_EQ(parse_bytewise(exact, 0, limits).state, State::kComplete);
  const std::string over = start + std::string(257 - start.size() - end.size(), 'p') + end;
  EXPECT_EQ(parse_whole(over, 0, limits).error, ParseError::kHeaderTooLarge);
  EXPECT_EQ(parse_bytewise(over, 0, limits).error, ParseError::kHeaderTooLarge);
  // A bare-LF head is measured in the bytes actually sent.
  const std::string lf = "GET / HTTP/1.1\nHost: h\nX-Pad: " + std::string(256 - 32, 'p') + "\n\n";
  ASSERT_EQ(lf.size(), 256u);
  EXPECT_EQ(parse_whole(lf, 0, limits).state, State::kComplete);
}

TEST(RequestParserTest, TooManyHeaderFields) {
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 100; ++i) req += "A: b\r\n";
  req += "\r\n";
  EXPECT_EQ(error_of(req), ParseError::kHeaderTooLarge);  // 101 fields
  Limits limits;
  limits.max_header_fields = 101;
  EXPECT_EQ(error_of(req, kBodyLimit, limits), ParseError::kNone);
}

// ---- linearity ------------------------------------------------------------------------------

std::string sixteen_kib_head() {
  std::string req = "POST /webhooks/github HTTP/1.1\r\nHost: h\r\nX-Long: ";
  req += std::string(16 * 1024 - req.size() - 4, 'x');
  req += "\r\n\r\n";
  return req;
}

TEST(RequestParserTest, EveryHeadByteIsScannedOnceWhateverTheSplit) {
  const std::string req = sixteen_kib_head();
  ASSERT_EQ(req.size(), 16u * 1024);
  RequestParser whole;
  EXPECT_EQ(whole.feed(req), req.size());
  EXPECT_EQ(whole.state(), State::kHeadReady);
  EXPECT_EQ(whole.bytes_scanned(), req.size());

  RequestParser bytewise;
  for (char c : req) ASSERT_EQ(bytewise.feed(&c, 1), 1u);
  EXPECT_EQ(bytewise.state(), State::kHeadReady);
  // The count a time bound would stand for: a rescanning parser would be at ~134 M.
  EXPECT_EQ(bytewise.bytes_scanned(), req.size());

  // Many short lines fed in odd pieces: still one scan per byte.
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 90; ++i) many += "X-Field-" + std::to_string(i) + ": some value here\r\n";
  many += "\r\n";
  RequestParser pieces;
  std::mt19937 rng(7);
  std::size_t offset = 0;
  while (offset < many.size()) {
    std::size_t n = std::min<std::size_t>(1 + rng() % 13, many.size() - offset);
    offset += pieces.feed(many.data() + offset, n);
  }
  EXPECT_EQ(pieces.state(), State::kHeadReady);
  EXPECT_EQ(pieces.bytes_scanned(), many.size());
}

// ---- Content-Length bodies ------------------------------------------------------------------

TEST(RequestParserTest, ContentLengthOverTheLimitFailsAtAcceptBody) {
  RequestParser p;
  std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 26214401\r\n\r\n";
  EXPECT_EQ(p.feed(head), head.size());
  ASSERT_EQ(p.state(), State::kHeadReady);
  p.accept_body(25 * 1024 * 1024);
  EXPECT_EQ(p.state(), State::kFailed);
  EXPECT_EQ(p.error(), ParseError::kBodyTooLarge);
  EXPECT_EQ(status_of(p.error()), 413);
  EXPECT_EQ(p.bytes_seen(), head.size());  // not one body byte read
  EXPECT_LT(p.body().capacity(), 1024u);   // and nothing reserved for it

  // Exactly the limit is fine.
  Outcome o = parse_whole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n12345", 5);
  EXPECT_EQ(o.state, State::kComplete);
  EXPECT_EQ(parse_whole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n123456", 5).error,
            ParseError::kBodyTooLarge);
}

TEST(RequestParserTest, ContentLengthBodyIsReservedOnceWithPadding) {
  const std::string body(100000, 'b');
  std::string req = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n" + body;
  RequestParser p;
  std::size_t offset = p.feed(req);
  p.accept_body(1 << 20, 64);
  ASSERT_EQ(p.state(), State::kBody);
  EXPECT_GE(p.body().capacity(), body.size() + 64);
  const char* buffer = p.body().data();
  while (offset < req.size()) {
    offset += p.feed(req.data() + offset, std::min<std::size_t>(4096, req.size() - offset));
    ASSERT_EQ(p.body().data(), buffer) << "the body buffer moved";
  }
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.body(), body);
  std::string taken = p.take_body();
  EXPECT_EQ(taken.data(), buffer);  // moved, not copied
  EXPECT_GE(taken.capacity(), body.size() + 64);

  // Small bodies carry the padding too (simdjson reads past the end).
  RequestParser q;
  q.feed(std::string_view("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"));
  q.accept_body(100, 200);
  q.feed(std::string_view("{}"));
  ASSERT_EQ(q.state(), State::kComplete);
  EXPECT_GE(q.body().capacity(), 202u);
}

TEST(RequestParserTest, HugeLimitCannotMakeItThrow) {
  RequestParser p;
  p.feed(std::string_view(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551000\r\n\r\n"));
  ASSERT_EQ(p.state(), State::kHeadReady);
  p.accept_body(UINT64_MAX, 1000);  // length + padding overflows size_t
  EXPECT_EQ(p.error(), ParseError::kBodyTooLarge);
}

// ---- chunked bodies -------------------------------------------------------------------------

std::string chunked_request(const std::string& chunks) {
  return "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks;
}

TEST(RequestParserTest, ChunkedBodies) {
  Outcome o = parse_whole(kChunked);
  ASSERT_EQ(o.state, State::kComplete) << describe(o.error);
  EXPECT_TRUE(o.chunked);
  EXPECT_FALSE(o.content_length.has_value());
  EXPECT_EQ(o.body, "hello 0123456789");

  // Many small chunks, trailing pipelined bytes left alone.
  std::string chunks, expected;
  for (int i = 0; i < 500; ++i) {
    std::string piece(static_cast<std::size_t>(i % 17 + 1), static_cast<char>('a' + i % 26));
    char size[8];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    chunks += std::string(size) + "\r\n" + piece + "\r\n";
    expected += piece;
  }
  std::string req = chunked_request(chunks + "0\r\n\r\n");
  Outcome many = parse_whole(req + "GET /next");
  ASSERT_EQ(many.state, State::kComplete);
  EXPECT_EQ(many.body, expected);
  EXPECT_EQ(many.consumed, req.size());
  EXPECT_EQ(parse_bytewise(req + "GET /next"), many);

  // Upper-case hex, leading zeros, empty trailer section, padding honoured.
  RequestParser p;
  std::string r = chunked_request("00A\r\n0123456789\r\n0\r\n\r\n");
  std::size_t n = p.feed(r);
  p.accept_body(100, 64);
  n += p.feed(r.data() + n, r.size() - n);
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(n, r.size());
  EXPECT_EQ(p.body(), "0123456789");
  EXPECT_GE(p.body().capacity(), 10u + 64);
}

TEST(RequestParserTest, ChunkedOverTheLimitFailsMidStream) {
  const std::string req =
      chunked_request("a\r\n0123456789\r\na\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
  EXPECT_EQ(parse_whole(req, 30).state, State::kComplete);
  Outcome o = parse_whole(req, 25);
  EXPECT_EQ(o.error, ParseError::kBodyTooLarge);
  // It stops at the end of the third chunk's size line, before reading that chunk's data
  // (each chunk above is 15 bytes).
  const std::size_t body_start = req.find("\r\n\r\n") + 4;
  EXPECT_EQ(o.consumed, body_start + 2 * 15 + 3);
  EXPECT_EQ(parse_bytewise(req, 25).error, ParseError::kBodyTooLarge);

  // An announced chunk far over the limit fails before any of it arrives.
  RequestParser p;
  std::string head = chunked_request("");
  p.feed(head);
  p.accept_body(1000);
  p.feed(std::string_view("7fffffff\r\n"));
  EXPECT_EQ(p.error(), ParseError::kBodyTooLarge);
}

TEST(RequestParserTest, ChunkedSyntaxErrors) {
  const std::pair<std::string, ParseError> cases[] = {
      {"zz\r\n", ParseError::kBadRequest},  // not hex
      {"\r\n", ParseError::kBadRequest},    // empty size
      {";ext\r\n", ParseError::kBadRequest},
      {"-1\r\n", ParseError::kBadRequest},
      {"0x5\r\n", ParseError::kBadRequest},
      {"10000000000000000\r\n", ParseError::kBadRequest},         // 2^64: overflow
      {"5 \r\nhello\r\n0\r\n\r\n", ParseError::kBadRequest},      // BWS only before ';'
      {"5\rhello\r\n0\r\n\r\n", ParseError::kBadRequest},         // bare CR
      {"5;a\rb\r\nhello\r\n0\r\n\r\n", ParseError::kBadRequest},  // bare CR in an extension
      {"5;a\x01\r\nhello\r\n0\r\n\r\n", ParseError::kBadRequest},
      {"5\r\nhelloX\r\n0\r\n\r\n", ParseError::kBadRequest},  // data longer than its size
      {"5\r\nhello\rX0\r\n\r\n", ParseError::kBadRequest},
      {"5\r\nhello\r\n0\r\n folded\r\n\r\n", ParseError::kBadRequest},
      {"5\r\nhello\r\n0\r\nT: a\rb\r\n\r\n", ParseError::kBadRequest},
      {"5\r\nhello\r\n0\r\n\rX", ParseError::kBadRequest},
      {"5\r\nhello\r\n0\r\n\r\n", ParseError::kNone},
      {"5 ; a=b\r\nhello\r\n0\r\n\r\n", ParseError::kNone},
      {"0000000000000000000000000005\r\nhello\r\n0\r\n\r\n", ParseError::kNone},
  };
  for (const auto& [chunks, expected] : cases) {
    std::string req = chunked_request(chunks);
    EXPECT_EQ(error_of(req), expected) << chunks;
    EXPECT_EQ(parse_bytewise(req).error, expected) << chunks;
  }
}

TEST(RequestParserTest, ChunkLineAndTrailerLimits) {
  Limits limits;
  limits.max_chunk_line_bytes = 64;
  limits.max_head_bytes = 256;
  // The limit counts the whole size line, CRLF included.
  const std::string ok_ext = "5;" + std::string(60, 'e') + "\r\nhello\r\n0\r\n\r\n";
  EXPECT_EQ(error_of(chunked_request(ok_ext), kBodyLimit, limits), ParseError::kNone);
  const std::string long_ext = "5;" + std::string(61, 'e') + "\r\nhello\r\n0\r\n\r\n";
  EXPECT_EQ(error_of(chunked_request(long_ext), kBodyLimit, limits), ParseError::kBadRequest);
  // A never-ending extension is cut off at the limit, not buffered.
  Outcome endless =
      parse_whole(chunked_request("5;" + std::string(1 << 20, 'e')), kBodyLimit, limits);
  EXPECT_EQ(endless.error, ParseError::kBadRequest);
  EXPECT_LT(endless.consumed, 256u + 64 + 1);

  std::string trailers;
  for (int i = 0; i < 42; ++i) trailers += "T: v\r\n";  // 252 bytes + final CRLF = 254
  EXPECT_EQ(error_of(chunked_request("0\r\n" + trailers + "\r\n"), kBodyLimit, limits),
            ParseError::kNone);
  trailers += "T: v\r\n";  // 260
  EXPECT_EQ(error_of(chunked_request("0\r\n" + trailers + "\r\n"), kBodyLimit, limits),
            ParseError::kHeaderTooLarge);
}

TEST(RequestParserTest, AcceptBodyOnlyFromHeadReady) {
  RequestParser p;
  p.accept_body(10);
  EXPECT_EQ(p.state(), State::kHead);
  p.feed(std::string_view("GET / HTTP/1.1\r\nHo"));
  p.accept_body(10);
  EXPECT_EQ(p.state(), State::kHead);
}

}  // namespace
}  // namespace wi::http

namespace wi::http {
namespace {

TEST(RequestParserBuffer, AChunkedBodyNeverReservesMoreThanTheLargestAllowedBody) {
  // Capacity is what a server's body budget charges: doubling past the limit would charge
  // (and hold) memory no allowed body can use.
  RequestParser parser;
  parser.feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_EQ(parser.state(), RequestParser::State::kHeadReady);
  parser.accept_body(1000, 64);
  const std::string chunk = "12c\r\n" + std::string(300, 'x') + "\r\n";  // 0x12c = 300
  for (int i = 0; i < 3; ++i) {
    parser.feed(chunk);
    ASSERT_EQ(parser.state(), RequestParser::State::kBody);
    EXPECT_LE(parser.body_capacity(), 1000u + 64u) << "after chunk " << i + 1;
  }
  parser.feed("0\r\n\r\n");
  ASSERT_EQ(parser.state(), RequestParser::State::kComplete);
  EXPECT_EQ(parser.take_body(), std::string(900, 'x'));
}

}  // namespace
}  // namespace wi::http
