// HttpServer over real loopback sockets, with a handler that answers from another thread the
// way ingestd answers from Kafka's delivery reports: answers keep their order on a keep-alive
// connection, and an answer the client left before is not waited for by the drain.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/http/server.h"
#include "ingest/drain.h"
#include "tests/support/eventually.h"
#include "tests/support/raw_http.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

// Answers every request on its own thread (echoing the body), or holds the responders when
// told to, like requests waiting for Kafka. After begin_drain() every head gets the quick 503
// + Connection: close, as ingestd's service answers during the drain.
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

  http::HeadDecision on_head(const http::RequestHead&) override {
    if (draining_) {
      http::Response refusal = http::json_error(503, "shutting down");
      refusal.close = true;
      return {std::move(refusal), 0};
    }
    return {std::nullopt, 1 << 20};
  }
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
  void begin_drain() { draining_ = true; }
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
  std::atomic<bool> draining_{false};
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

// ---- the SIGTERM drain: requests still being received -------------------------------------------

std::string head_of(const std::string& request, std::size_t body_bytes_too) {
  return request.substr(0, request.find("\r\n\r\n") + 4 + body_bytes_too);
}

TEST(HttpServer, DrainClosesIdleConnectionsAndLetsRequestsStillArrivingFinish) {
  ThreadedEchoHandler handler(/*hold=*/false);
  http::HttpServer server(loopback_options(), handler);
  ASSERT_TRUE(server.start().ok());
  const std::string body(100, 'b');
  const std::string request = make_request("POST", "/echo", {}, body);
  RawConnection idle(server.port());
  ASSERT_TRUE(idle.send(make_request("POST", "/echo", {}, "before")));
  ASSERT_TRUE(idle.read_response(5s));
  RawConnection uploading(server.port());
  ASSERT_TRUE(uploading.send(head_of(request, 10)));
  RawConnection heading(server.port());
  ASSERT_TRUE(heading.send("POST /echo HTTP/1.1\r\nHost: x\r\n"));
  ASSERT_TRUE(eventually([&] { return server.receiving_requests() == 2; }, 5s))
      << "counted from the first byte: " << server.receiving_requests();

  server.begin_drain();
  EXPECT_TRUE(idle.closed_by_peer(2s)) << "an idle keep-alive connection was left open";
  EXPECT_EQ(server.receiving_requests(), 2u);

  // The rest of the body arrives during the drain: handled as usual, then closed.
  ASSERT_TRUE(uploading.send(request.substr(head_of(request, 10).size())));
  auto done = uploading.read_response(5s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);
  EXPECT_EQ(done->body, body);
  EXPECT_EQ(done->header("connection"), "close");
  EXPECT_TRUE(uploading.closed_by_peer());
  EXPECT_TRUE(eventually([&] { return server.receiving_requests() == 1; }, 5s));

  // The deadline: the request whose head never completed gets 503 + Retry-After and a close;
  // the handler never sees it.
  EXPECT_EQ(server.refuse_receiving(), 1u);
  auto refused = heading.read_response(5s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_FALSE(refused->header("retry-after").empty());
  EXPECT_NE(refused->body.find("\"error\":"), std::string::npos) << refused->body;
  EXPECT_TRUE(heading.closed_by_peer());
  EXPECT_EQ(server.receiving_requests(), 0u);
  EXPECT_EQ(server.refuse_receiving(), 0u) << "answered once";
  EXPECT_TRUE(eventually([&] { return server.awaiting_responses() == 0; }, 5s));
  EXPECT_EQ(handler.received(), 2u) << "\"before\" and the completed upload only";
  server.stop();
}

TEST(HttpServer, TheMinimumBodyRateStillHoldsDuringTheDrain) {
  // Waiting for bodies still arriving must not make a trickle a way to hold the shutdown to
  // its deadline: the sweeper keeps answering too-slow bodies 408.
  ThreadedEchoHandler handler(/*hold=*/false);
  auto options = loopback_options();
  options.min_body_rate = 1000;
  options.body_rate_grace = 300ms;
  http::HttpServer server(options, handler);
  ASSERT_TRUE(server.start().ok());
  const std::string request = make_request("POST", "/echo", {}, std::string(100000, 'b'));
  RawConnection slow(server.port());
  ASSERT_TRUE(slow.send(head_of(request, 10)));
  ASSERT_TRUE(eventually([&] { return server.receiving_requests() == 1; }, 5s));
  server.begin_drain();
  auto answer = slow.read_response(5s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 408);
  EXPECT_TRUE(slow.closed_by_peer());
  EXPECT_EQ(server.receiving_requests(), 0u);
  EXPECT_EQ(handler.received(), 0u);
  server.stop();
}

TEST(HttpServer, DrainClosesAKeepAliveConnectionThatSentOnlyAStrayCrlf) {
  // RFC 9112 §2.2: a CRLF after a body is no request; the connection is idle, not receiving.
  ThreadedEchoHandler handler(/*hold=*/false);
  http::HttpServer server(loopback_options(), handler);
  ASSERT_TRUE(server.start().ok());
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.send(make_request("POST", "/echo", {}, "body")));
  ASSERT_TRUE(conn.read_response(5s));
  ASSERT_TRUE(conn.send("\r\n"));
  RawConnection heading(server.port());  // a real request, sent after the CRLF: now seen
  ASSERT_TRUE(heading.send("POST /echo HTTP/1.1\r\n"));
  ASSERT_TRUE(eventually([&] { return server.receiving_requests() == 1; }, 5s));

  server.begin_drain();
  EXPECT_TRUE(conn.closed_by_peer(2s)) << "the drain waited on a stray CRLF";
  EXPECT_EQ(server.receiving_requests(), 1u);
  server.stop();
}

// The drain of ingest/drain.h over this server: a handler with nothing to flush.
ingest::DrainSteps drain_steps(http::HttpServer& server, ThreadedEchoHandler& handler,
                               std::atomic<bool>& began) {
  ingest::DrainSteps steps;
  steps.stop_accepting = [&] {
    handler.begin_drain();
    server.begin_drain();
    began = true;
  };
  steps.unanswered = [&] { return static_cast<std::int64_t>(server.awaiting_responses()); };
  steps.receiving = [&] { return static_cast<std::int64_t>(server.receiving_requests()); };
  steps.refuse_receiving = [&] { return static_cast<std::int64_t>(server.refuse_receiving()); };
  steps.awaiting_verdict = [] { return std::int64_t{0}; };
  steps.flush = [](std::chrono::milliseconds) { return Status(); };
  return steps;
}

TEST(HttpServer, ADrainUnderSteadyTrafficEndsWhenTheRequestsBegunBeforeItAreDone) {
  // A deploy under load: while the drain waits for the one upload in flight at SIGTERM, new
  // clients keep connecting, some sending a whole head (the quick 503), some only part of
  // one. Neither kind may hold the drain to its cutoff or make it report "incomplete".
  ThreadedEchoHandler handler(/*hold=*/false);
  http::HttpServer server(loopback_options(), handler);
  ASSERT_TRUE(server.start().ok());
  const std::string body(100, 'b');
  const std::string request = make_request("POST", "/echo", {}, body);
  RawConnection uploading(server.port());
  ASSERT_TRUE(uploading.send(head_of(request, 10)));
  ASSERT_TRUE(eventually([&] { return server.receiving_requests() == 1; }, 5s));

  std::atomic<bool> began{false};
  std::atomic<bool> stop_traffic{false};
  std::atomic<int> quick_503s{0};
  std::atomic<int> partial_heads{0};
  std::thread traffic([&] {
    if (!eventually([&] { return began.load(); }, 5s)) return;  // the drain never began
    std::vector<std::unique_ptr<RawConnection>> open;  // partial heads stay open
    while (!stop_traffic) {
      RawConnection whole(server.port());
      if (whole.send(make_request("POST", "/echo", {}, "late"))) {
        auto answer = whole.read_response(2s);
        if (answer && answer->status == 503) ++quick_503s;
      }
      open.push_back(std::make_unique<RawConnection>(server.port()));
      if (open.back()->send("POST /echo HTTP/1.1\r\nHost: x\r\n")) ++partial_heads;
      std::this_thread::sleep_for(5ms);
    }
  });

  SystemClock clock;
  ingest::DrainOptions options;
  options.timeout = 5s;
  options.delivery_bound = 1s;  // the cutoff is the 5 s timeout
  auto steps = drain_steps(server, handler, began);
  auto drained = std::async(std::launch::async, [&] {
    return ingest::drain(steps, options, clock,
                         [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); });
  });
  ASSERT_TRUE(eventually([&] { return partial_heads >= 10 && quick_503s >= 10; }, 5s))
      << partial_heads << " partial heads, " << quick_503s << " quick 503s";
  const auto completed = std::chrono::steady_clock::now();
  ASSERT_TRUE(uploading.send(request.substr(head_of(request, 10).size())));
  auto done = uploading.read_response(5s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);

  ASSERT_EQ(drained.wait_for(2s), std::future_status::ready)
      << "the drain waited for requests begun during it";
  const auto ended_after = std::chrono::steady_clock::now() - completed;
  auto report = drained.get();
  stop_traffic = true;
  traffic.join();
  EXPECT_TRUE(report.complete()) << report.unanswered << " unanswered, " << report.receiving
                                 << " receiving";
  EXPECT_EQ(report.refused, 0);
  EXPECT_LT(ended_after, 1s);
  EXPECT_EQ(handler.received(), 1u) << "only the upload begun before the drain was handled";
  server.stop();
}

}  // namespace
}  // namespace wi::testing
