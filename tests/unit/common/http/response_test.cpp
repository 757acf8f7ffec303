#include "common/http/response.h"

#include <gtest/gtest.h>

#include <string>

#include "common/http/request_parser.h"

namespace wi::http {
namespace {

TEST(ResponseTest, SerializesStatusHeadersLengthAndBody) {
  Response r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/json"}, {"X-Request-Id", "abc"}};
  r.body = R"({"event_id":"e1"})";
  EXPECT_EQ(serialize(r),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json\r\n"
            "X-Request-Id: abc\r\n"
            "Content-Length: 17\r\n"
            "Connection: keep-alive\r\n"
            "\r\n"
            R"({"event_id":"e1"})");
}

TEST(ResponseTest, CloseAndEmptyBody) {
  Response r;
  r.status = 404;
  r.close = true;
  EXPECT_EQ(serialize(r),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(ResponseTest, HeadRequestKeepsLengthButOmitsBody) {
  Response r;
  r.status = 200;
  r.body = "hello";
  EXPECT_EQ(serialize(r, /*head_request=*/true),
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n");
}

TEST(ResponseTest, StatusesWithoutBody) {
  Response r;
  r.body = "ignored";
  r.status = 204;
  EXPECT_EQ(serialize(r), "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
  r.status = 304;
  EXPECT_EQ(serialize(r),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nConnection: keep-alive\r\n\r\n");
  r.status = 100;
  EXPECT_EQ(serialize(r), kContinue);
}

TEST(ResponseTest, SerializerOwnsTheFramingFields) {
  Response r;
  r.status = 200;
  r.body = "abc";
  r.headers = {{"Content-Length", "999"},
               {"connection", "close"},
               {"Transfer-Encoding", "chunked"},
               {"Allow", "POST"}};
  EXPECT_EQ(serialize(r),
            "HTTP/1.1 200 OK\r\nAllow: POST\r\nContent-Length: 3\r\nConnection: keep-alive\r\n"
            "\r\nabc");
}

TEST(ResponseTest, NoHeaderCanSplitTheResponse) {
  Response r;
  r.status = 200;
  r.headers = {{"X-Evil", "a\r\nSet-Cookie: x=1\r\n\r\nbody"},
               {"Bad Name", "v"},
               {"Bad\r\nName", "v"},
               {"", "v"},
               {"X-Tab", "a\tb"},
               {"X-Nul", std::string("a\0b", 3)}};
  EXPECT_EQ(serialize(r),
            "HTTP/1.1 200 OK\r\n"
            "X-Evil: a  Set-Cookie: x=1    body\r\n"
            "X-Tab: a\tb\r\n"
            "X-Nul: a b\r\n"
            "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST(ResponseTest, OutOfRangeStatusBecomes500) {
  Response r;
  r.status = 42;
  EXPECT_EQ(serialize(r).substr(0, 36), "HTTP/1.1 500 Internal Server Error\r\n");
  r.status = 1000;
  EXPECT_EQ(serialize(r).substr(0, 13), "HTTP/1.1 500 ");
  r.status = 599;  // in range but unknown: empty reason phrase, still well-formed
  EXPECT_EQ(serialize(r).substr(0, 15), "HTTP/1.1 599 \r\n");
}

TEST(ResponseTest, ReasonPhrasesForEveryStatusWeSend) {
  const std::pair<int, const char*> expected[] = {
      {100, "Continue"},
      {200, "OK"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {413, "Content Too Large"},
      {415, "Unsupported Media Type"},
      {417, "Expectation Failed"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {503, "Service Unavailable"},
      {505, "HTTP Version Not Supported"},
  };
  for (const auto& [status, phrase] : expected) EXPECT_STREQ(reason_phrase(status), phrase);
  EXPECT_STREQ(reason_phrase(299), "");
}

TEST(ResponseTest, ContinueIsTheExactInterimResponse) {
  EXPECT_EQ(kContinue, "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(ResponseTest, JsonErrorEscapesTheMessage) {
  Response r = json_error(400, "bad \"field\"\n\\ \x01");
  EXPECT_EQ(r.status, 400);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].name, "Content-Type");
  EXPECT_EQ(r.headers[0].value, "application/json");
  EXPECT_EQ(r.body, R"({"error":"bad \"field\"\n\\ \u0001"})");
  EXPECT_FALSE(r.close);
  EXPECT_EQ(json_error(401, "invalid signature").body, R"({"error":"invalid signature"})");
  EXPECT_EQ(serialize(json_error(401, "invalid signature")),
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
            "Content-Length: 29\r\nConnection: keep-alive\r\n\r\n"
            R"({"error":"invalid signature"})");
}

TEST(ResponseTest, ParseErrorResponseClosesTheConnection) {
  Response r = parse_error_response(ParseError::kBodyTooLarge);
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(r.body, R"({"error":"request body too large"})");
  EXPECT_EQ(serialize(r).substr(0, 31), "HTTP/1.1 413 Content Too Large\r");
  EXPECT_NE(serialize(r).find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(parse_error_response(ParseError::kHeaderTooLarge).status, 431);
  EXPECT_EQ(parse_error_response(ParseError::kVersionNotSupported).status, 505);
}

}  // namespace
}  // namespace wi::http
