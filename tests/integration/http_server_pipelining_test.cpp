// HttpServer over real loopback sockets: requests pipelined behind one that is answered on its
// head (404, 405, 413, 415 with keep-alive) are parsed from their first byte, however the
// stream is split into reads.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "common/http/server.h"
#include "tests/support/raw_http.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

// Rejects every path but /echo on its head (the way ingestd answers an unknown source), and
// echoes the body of /echo requests.
class RejectingEchoHandler final : public http::RequestHandler {
 public:
  http::HeadDecision on_head(const http::RequestHead& head) override {
    if (head.path() == "/echo") return {std::nullopt, 1 << 20};
    return {http::json_error(404, "no such source"), 0};
  }
  void handle(http::Request request, http::Responder respond) override {
    ++handled_;
    http::Response response;
    response.body = std::move(request.body);
    respond(std::move(response));
  }
  void on_rejected(const http::RequestHead*, int, std::string_view) override {}
  int handled() const { return handled_.load(); }

 private:
  std::atomic<int> handled_{0};
};

http::ServerOptions loopback_options() {
  http::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  return options;
}

const std::string kRejected = make_request("GET", "/missing", {}, "", /*content_length=*/false);
const std::string kFirst = make_request("POST", "/echo", {}, "first body");
const std::string kSecond = make_request("POST", "/echo", {}, "second body");

// Sends `stream` in two writes split at `split`. When the first write holds the whole rejected
// request, its 404 is read before the second write, so the server saw the two parts in
// separate reads (the bytes after the rejected head are then exactly the tail of one read).
void expect_three_answers(std::uint16_t port, std::size_t split) {
  const std::string stream = kRejected + kFirst + kSecond;
  RawConnection conn(port);
  ASSERT_TRUE(conn.send(stream.substr(0, split))) << "split " << split;
  std::optional<HttpResponse> rejected;
  if (split >= kRejected.size()) {
    rejected = conn.read_response(5s);
    ASSERT_TRUE(rejected) << "split " << split;
  }
  if (split < stream.size()) {
    ASSERT_TRUE(conn.send(stream.substr(split))) << "split " << split;
  }
  if (!rejected) rejected = conn.read_response(5s);
  ASSERT_TRUE(rejected) << "split " << split;
  EXPECT_EQ(rejected->status, 404) << "split " << split;
  EXPECT_EQ(rejected->header("connection"), "keep-alive") << "split " << split;
  auto first = conn.read_response(5s);
  ASSERT_TRUE(first) << "split " << split;
  EXPECT_EQ(first->status, 200) << "split " << split;
  EXPECT_EQ(first->body, "first body") << "split " << split;
  auto second = conn.read_response(5s);
  ASSERT_TRUE(second) << "split " << split;
  EXPECT_EQ(second->status, 200) << "split " << split;
  EXPECT_EQ(second->body, "second body") << "split " << split;
}

TEST(HttpServerPipelining, RequestsPipelinedBehindAHeadRejectionInOneWriteAreAnswered) {
  RejectingEchoHandler handler;
  http::HttpServer server(loopback_options(), handler);
  ASSERT_TRUE(server.start().ok());
  const std::string stream = kRejected + kFirst + kSecond;
  expect_three_answers(server.port(), stream.size());
  EXPECT_EQ(handler.handled(), 2);
  server.stop();
}

TEST(HttpServerPipelining, RequestsPipelinedBehindAHeadRejectionSurviveEverySplit) {
  RejectingEchoHandler handler;
  http::HttpServer server(loopback_options(), handler);
  ASSERT_TRUE(server.start().ok());
  const std::string stream = kRejected + kFirst + kSecond;
  for (std::size_t split = 1; split < stream.size(); ++split) {
    expect_three_answers(server.port(), split);
    if (::testing::Test::HasFatalFailure()) break;
  }
  EXPECT_EQ(handler.handled(), 2 * static_cast<int>(stream.size() - 1));
  server.stop();
}

}  // namespace
}  // namespace wi::testing
