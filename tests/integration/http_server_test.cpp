// HttpServer over real loopback sockets, with a handler that answers from another thread the
// way ingestd answers from Kafka's delivery reports: answers keep their order on a keep-alive
// connection, and an answer the client left before is not waited for by the drain.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/http/server.h"
#include "tests/support/eventually.h"
#include "tests/support/raw_http.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

// Answers every request on its own thread (echoing the body), or holds the responders when
// told to, like requests waiting for Kafka.
class ThreadedEchoHandler final : public http::RequestHandler {
 public:
  explicit ThreadedEchoHandler(bool hold) : hold_(hold), worker_([this] { run(); }) {}
  ~ThreadedEchoHandler() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  http::HeadDecision on_head(const http::RequestHead&) override { return {std::nullopt, 1 << 20}; }
  void handle(http::Request request, http::Responder respond) override {
    std::lock_guard lock(mu_);
    queue_.emplace_back(std::move(request.body), std::move(respond));
    ++received_;
    cv_.notify_all();
  }
  void on_rejected(const http::RequestHead*, int, std::string_view) override {}

  std::size_t received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::size_t answered() {
    std::lock_guard lock(mu_);
    return answered_;
  }
  // Answers what is held (hold mode).
  void release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || (!hold_ && !queue_.empty()); });
      if (stop_) return;
      auto [body, respond] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      http::Response response;
      response.body = std::move(body);
      respond(std::move(response));
      lock.lock();
      ++answered_;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, http::Responder>> queue_;
  std::size_t received_ = 0;
  std::size_t answered_ = 0;
  bool hold_;
  bool stop_ = false;
  std::thread worker_;
};

using wi::testing::eventually;

http::ServerOptions loopback_options() {
  http::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  return options;
}

TEST(HttpServer, AnswersFromAnotherThreadKeepTheirOrderOnAKeepAliveConnection) {
  ThreadedEchoHandler handler(/*hold=*/false);
  http::HttpServer server(loopback_options(), handler);
  ASSERT_TRUE(server.start().ok());
  RawConnection conn(server.port());
  for (int i = 0; i < 500; ++i) {
    const std::string body = "request-" + std::to_string(i);
    ASSERT_TRUE(conn.send(make_request("POST", "/echo", {}, body)));
    auto response = conn.read_response(5s);
    ASSERT_TRUE(response) << "request " << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, body);
    EXPECT_EQ(response->header("connection"), "keep-alive");
  }
  // Pipelined: sent at once, answered one at a time, in order.
  std::string burst;
  for (int i = 0; i < 20; ++i) burst += make_request("POST", "/echo", {}, "p" + std::to_string(i));
  ASSERT_TRUE(conn.send(burst));
  for (int i = 0; i < 20; ++i) {
    auto response = conn.read_response(5s);
    ASSERT_TRUE(response) << "pipelined " << i;
    EXPECT_EQ(response->body, "p" + std::to_string(i));
  }
  EXPECT_TRUE(eventually([&] { return server.awaiting_responses() == 0; }, 5s));
  server.stop();
}

TEST(HttpServer, AnAnswerWhoseClientLeftIsNotWaitedFor) {
  ThreadedEchoHandler handler(/*hold=*/true);
  http::HttpServer server(loopback_options(), handler);
  ASSERT_TRUE(server.start().ok());
  {
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.send(make_request("POST", "/echo", {}, "pending")));
    ASSERT_TRUE(eventually([&] { return handler.received() == 1; }, 5s));
    EXPECT_EQ(server.awaiting_responses(), 1u);
    // Leave with a reset, as a client that timed out would.
    linger reset{1, 0};
    ASSERT_EQ(::setsockopt(conn.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
  }
  // Drain waits for awaiting_responses() to reach 0: a departed client must not hold it up.
  EXPECT_TRUE(eventually([&] { return server.awaiting_responses() == 0; }, 5s))
      << server.awaiting_responses();
  // The late answer (Kafka confirming after all) goes nowhere and is not counted twice.
  handler.release();
  ASSERT_TRUE(eventually([&] { return handler.answered() == 1; }, 5s));
  EXPECT_EQ(server.awaiting_responses(), 0u);
  server.stop();
}

}  // namespace
}  // namespace wi::testing
