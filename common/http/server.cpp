#include "common/http/server.h"

#include <sys/socket.h>

#include <atomic>
#include <limits>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <pistache/listener.h>
#include <pistache/peer.h>
#include <pistache/tcp.h>

#include "common/http/body_budget.h"
#include "common/log.h"
#include "common/thread_name.h"

namespace wi::http {

namespace {

using Pistache::Tcp::Peer;
using SteadyClock = std::chrono::steady_clock;
constexpr const char* kConnectionKey = "wi.connection";

// Per-connection state. `mu` guards everything; it is never held while calling into Pistache
// (a write may complete inline and call back into us).
struct Connection {
  explicit Connection(std::size_t max_head_bytes)
      : parser(RequestParser::Limits{max_head_bytes, 1024}) {}

  std::mutex mu;
  std::weak_ptr<Peer> peer;
  int fd = -1;
  std::string remote;
  RequestParser parser;
  std::string pending;      // bytes that arrived while a response was outstanding
  int queued_writes = 0;    // handed to Pistache's write queue, not yet written
  bool awaiting = false;    // a request (or our own error answer) is waiting to be written
  bool closing = false;     // no further requests: close after the outstanding answer
  bool closed = false;      // Pistache reported the disconnection; fd may be reused
  bool head_seen = false;   // the current request's head was parsed
  bool head_request = false;
  bool keep_alive = true;
  std::size_t charged = 0;        // body bytes charged to the server's BodyBudget
  // The minimum-rate window: when it began and parser.bytes_seen() then.
  SteadyClock::time_point rate_window_start{};
  std::uint64_t rate_window_bytes = 0;
  // When the current request's first byte arrived (leading empty lines do not count).
  SteadyClock::time_point request_started{};
  SteadyClock::time_point head_done{};
  SteadyClock::time_point last_activity = SteadyClock::now();
};

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  RequestHandler& handler;
  Pistache::Tcp::Listener listener;
  std::shared_ptr<spdlog::logger> log = log::get("http");
  std::atomic<bool> draining{false};
  // When begin_drain() was called: requests begun since are not waited for (receiving_requests).
  std::atomic<SteadyClock::time_point> drain_began{SteadyClock::time_point::max()};
  std::atomic<bool> running{false};
  std::atomic<std::size_t> awaiting{0};
  BodyBudget budget;

  std::mutex registry_mu;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections;

  std::thread sweeper;
  std::mutex sweeper_mu;
  std::condition_variable sweeper_cv;
  bool stop_sweeper = false;

  Impl(ServerOptions o, RequestHandler& h)
      : options(std::move(o)),
        handler(h),
        budget(options.max_buffered_body_bytes ? options.max_buffered_body_bytes
                                               : std::numeric_limits<std::size_t>::max()) {}

  // ---- writing -------------------------------------------------------------------------------

  // The connection's outstanding answer is done with: written, or the client is gone. Counted
  // once, whichever comes first (drain waits for `awaiting` to reach 0). Caller holds conn.mu.
  void answered_locked(Connection& conn) {
    release_body_locked(conn);
    if (!conn.awaiting) return;
    conn.awaiting = false;
    awaiting.fetch_sub(1);
  }

  // The request's body is answered or abandoned: its bytes leave the budget. Caller holds
  // conn.mu.
  void release_body_locked(Connection& conn) {
    budget.release(conn.charged);
    conn.charged = 0;
  }

  // Charges the budget for the body buffer's growth since the last charge; false when that
  // would pass the budget. Caller holds conn.mu.
  bool charge_body_locked(Connection& conn) {
    const std::size_t holds = conn.parser.body_capacity();
    if (holds <= conn.charged) return true;
    if (!budget.try_charge(holds - conn.charged)) return false;
    conn.charged = holds;
    return true;
  }

  // Writes `bytes` through Pistache's queue; when written, either closes the connection or
  // resumes reading.
  void write(const std::shared_ptr<Connection>& conn, const std::shared_ptr<Peer>& peer,
             std::string bytes, bool close_after, bool ends_request) {
    const std::size_t size = bytes.size();
    {
      std::lock_guard lock(conn->mu);
      ++conn->queued_writes;
    }
    peer->send(Pistache::RawBuffer(std::move(bytes), size), MSG_NOSIGNAL)
        .then(
            [this, conn, peer, close_after, ends_request](ssize_t) {
              after_write(conn, peer, close_after, ends_request);
            },
            [conn](std::exception_ptr) {
              // The peer went away; Pistache cleans up.
              std::lock_guard lock(conn->mu);
              --conn->queued_writes;
            });
  }

  // The fast path for an answer that keeps the connection open: straight into the socket from
  // whichever thread has it (usually Kafka's delivery-report thread). Pistache's queue would
  // cost an eventfd write, a reactor wake-up and a second thread hop per response, which at
  // tens of thousands of requests a second is a large share of the CPU. Taken only when
  // nothing is queued for this connection (bytes stay in order), no pipelined bytes wait to be
  // parsed (that happens on the reactor thread) and the connection is plain TCP (TLS records
  // are written by Pistache's SSL layer). The caller holds conn.mu with `closed` false, so the
  // fd is still this connection's: Pistache closes it only after reporting the disconnection.
  // True when the whole answer was written and the connection waits for its next request; on
  // a partial write `bytes` keeps the rest for the queued path.
  bool write_now_locked(Connection& conn, std::string& bytes) {
    if (options.tls_cert || conn.queued_writes > 0 || !conn.pending.empty()) return false;
    const ssize_t n = ::send(conn.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) return false;  // EAGAIN, or an error Pistache's path will report
    if (static_cast<std::size_t>(n) < bytes.size()) {
      bytes.erase(0, static_cast<std::size_t>(n));
      return false;
    }
    answered_locked(conn);
    conn.parser.reset();
    conn.last_activity = SteadyClock::now();
    return true;
  }

  // Runs on the connection's reactor thread once a response is in the kernel's buffer.
  void after_write(const std::shared_ptr<Connection>& conn, const std::shared_ptr<Peer>& peer,
                   bool close_after, bool ends_request) {
    std::string more;
    {
      std::lock_guard lock(conn->mu);
      --conn->queued_writes;
      if (conn->closed) return;
      if (ends_request) answered_locked(*conn);
      if (close_after) {
        conn->closing = true;
        // The response is written: a full close tells the client we are done (and a
        // pipelining client that its unanswered requests were not processed).
        ::shutdown(conn->fd, SHUT_RDWR);
        return;
      }
      if (!ends_request) return;
      conn->parser.reset();
      conn->last_activity = SteadyClock::now();
      more.swap(conn->pending);
    }
    if (!more.empty()) on_bytes(conn, peer, more.data(), more.size());
  }

  // Pistache's reactor treats an event that is readable and writable at once as readable only
  // (Transport::onReady: `else if (entry.isWritable())`), and with edge-triggered polling
  // that EPOLLOUT is not reported again: an answer queued just before the client's next bytes
  // arrived would wait forever. Called on every read; an empty queued write re-arms EPOLLOUT.
  void rearm_queued_writes(const std::shared_ptr<Connection>& conn,
                           const std::shared_ptr<Peer>& peer) {
    {
      std::lock_guard lock(conn->mu);
      if (conn->queued_writes == 0 || conn->closed) return;
    }
    write(conn, peer, std::string(), false, false);
  }

  // Builds the responder handed to the application with a request.
  Responder responder(const std::shared_ptr<Connection>& conn, const std::shared_ptr<Peer>& peer) {
    std::weak_ptr<Connection> weak_conn = conn;
    std::weak_ptr<Peer> weak_peer = peer;
    return [this, weak_conn, weak_peer](Response response) {
      auto c = weak_conn.lock();
      if (!c) return;  // the client left and onDisconnection counted the answer
      if (!running.load()) {
        // After stop() (a delivery callback at teardown): the reactor is gone, so is the way
        // to write.
        std::lock_guard lock(c->mu);
        answered_locked(*c);
        return;
      }
      auto p = weak_peer.lock();
      if (!p) {
        std::lock_guard lock(c->mu);
        answered_locked(*c);  // the client left; nothing to write to
        return;
      }
      std::string bytes;
      bool close;
      {
        std::lock_guard lock(c->mu);
        if (c->closed) {
          answered_locked(*c);
          return;
        }
        close = response.close || c->closing || !c->keep_alive || draining.load();
        response.close = close;
        bytes = serialize(response, c->head_request);
        if (!close && write_now_locked(*c, bytes)) return;
      }
      write(c, p, std::move(bytes), close, true);
    };
  }

  // ---- reading -------------------------------------------------------------------------------

  // Our own answer for a request the application does not see (parse errors, limits,
  // timeouts, early rejections). The connection is closed after it when `close` is set.
  struct Answer {
    Response response;
    bool close;
  };

  // 503 for a body the budget has no room for; the body is not read, so the connection closes.
  // Caller holds conn.mu.
  Answer over_budget_locked(Connection& conn) {
    handler.on_rejected(&conn.parser.head(), 503, "buffered body bytes over the server's budget");
    conn.parser.reset();  // frees the reserved buffer now, not when the client goes away
    Response r = json_error(503, "server busy: too many request bodies in memory; retry later");
    r.headers.push_back({"Retry-After", "1"});
    return Answer{std::move(r), true};
  }

  void on_bytes(const std::shared_ptr<Connection>& conn, const std::shared_ptr<Peer>& peer,
                const char* data, std::size_t len) {
    std::optional<Request> request;
    std::optional<Answer> answer;
    bool send_continue = false;
    {
      std::lock_guard lock(conn->mu);
      if (conn->closed || conn->closing) return;  // closing: we are not reading any more
      auto now = SteadyClock::now();
      conn->last_activity = now;
      if (conn->awaiting) {
        // Pipelined ahead of our answer: keep in order, within a bound.
        if (conn->pending.size() + len > options.max_pipelined_bytes) {
          conn->closing = true;
        } else {
          conn->pending.append(data, len);
        }
        return;
      }
      auto& parser = conn->parser;
      while (true) {
        if (!parser.started() && len > 0) {
          conn->request_started = now;
          conn->head_seen = false;
        }
        std::size_t used = parser.feed(data, len);
        data += used;
        len -= used;
        auto state = parser.state();
        if ((state == RequestParser::State::kBody || state == RequestParser::State::kComplete) &&
            !charge_body_locked(*conn)) {
          answer = over_budget_locked(*conn);
          break;
        }
        if (state == RequestParser::State::kHeadReady) {
          conn->head_done = now;
          conn->head_seen = true;
          const auto& head = parser.head();
          conn->head_request = head.method == "HEAD";
          conn->keep_alive = head.keep_alive;
          auto decision = handler.on_head(head);
          if (decision.reject) {
            // The body (if any) stays unread, so the connection cannot be reused.
            bool has_body = head.chunked || head.content_length.value_or(0) > 0;
            bool close = has_body || !head.keep_alive || decision.reject->close || draining;
            answer = Answer{std::move(*decision.reject), close};
            // Pipelined bytes after a bodyless rejected head are the next requests: keep them
            // for after the answer, as for a completed request (after_write feeds them).
            if (!close) conn->pending.assign(data, len);
            break;
          }
          parser.accept_body(decision.max_body_bytes);
          conn->rate_window_start = now;
          conn->rate_window_bytes = parser.bytes_seen();
          if (parser.state() == RequestParser::State::kBody && !charge_body_locked(*conn)) {
            answer = over_budget_locked(*conn);  // before any 100 Continue: the body stays unsent
            break;
          }
          if (head.expect_continue && parser.state() == RequestParser::State::kBody) {
            send_continue = true;
          }
          continue;
        }
        if (state == RequestParser::State::kComplete) {
          Request r;
          r.head = parser.take_head();
          r.body = parser.take_body();
          r.received_at = std::chrono::system_clock::now();
          r.remote = conn->remote;
          request = std::move(r);
          conn->pending.assign(data, len);
          break;
        }
        if (state == RequestParser::State::kFailed) {
          auto error = parser.error();
          const RequestHead* head = conn->head_seen ? &parser.head() : nullptr;
          handler.on_rejected(head, status_of(error), describe(error));
          answer = Answer{json_error(status_of(error), describe(error)), true};
          break;
        }
        if (len == 0) break;  // kHead or kBody: wait for more bytes
      }
      if (answer || request) {
        conn->awaiting = true;
        awaiting.fetch_add(1);
      }
      if (answer && answer->close) conn->closing = true;
    }
    if (send_continue) write(conn, peer, std::string(kContinue), false, false);
    if (answer) {
      answer->response.close = answer->close;
      bool head_request = conn->head_request;
      write(conn, peer, serialize(answer->response, head_request), answer->close, true);
    } else if (request) {
      handler.handle(std::move(*request), responder(conn, peer));
    }
  }

  // ---- timeouts ------------------------------------------------------------------------------

  // In flight but not yet the handler's: any byte of the request has arrived, its answer is
  // not being written and the connection still reads. A request counts from its first byte,
  // not from its complete head: a client that has begun sending is owed an answer as much as
  // one that has sent its head (which is no promise of when the body arrives either), and a
  // head completed during the drain gets the handler's quick 503, so waiting for it costs at
  // most the header timeout or the drain deadline, whichever comes first, and spares the
  // client a silent close. Caller holds conn.mu.
  static bool receiving_locked(const Connection& conn) {
    return !conn.closed && !conn.awaiting && !conn.closing && conn.parser.started();
  }

  // What the drain waits for: a request that had begun arriving before it did. One begun
  // since gets the handler's quick 503 when its head is complete (or is refused with the
  // others at the cutoff); counting it would let steady traffic hold every drain to its
  // deadline. Caller holds conn.mu.
  bool receiving_since_before_drain_locked(const Connection& conn) const {
    return receiving_locked(conn) && conn.request_started < drain_began.load();
  }

  std::vector<std::shared_ptr<Connection>> all_connections() {
    std::lock_guard lock(registry_mu);
    std::vector<std::shared_ptr<Connection>> all;
    all.reserve(connections.size());
    for (auto& [ptr, conn] : connections) all.push_back(conn);
    return all;
  }

  std::size_t receiving_requests() {
    std::size_t n = 0;
    for (auto& conn : all_connections()) {
      std::lock_guard lock(conn->mu);
      if (receiving_since_before_drain_locked(*conn)) ++n;
    }
    return n;
  }

  // An answer the sweep owes a connection, with what it tells the handler.
  struct Overdue {
    const RequestHead* head;  // nullptr while the head is incomplete
    const char* reason;
    Response response;
    bool drops_body;  // the parser is reset now: nothing of the request is handled
  };

  // Which of the timeouts, the minimum body rate or (with `refuse_receiving`) the drain's
  // cutoff the connection's request has run into, if any. Decides only: the caller acts once
  // it knows the answer can be written. Caller holds conn.mu.
  std::optional<Overdue> overdue_locked(Connection& conn, SteadyClock::time_point now,
                                        bool refuse_receiving) {
    const auto state = conn.parser.state();
    const RequestHead* head = conn.head_seen ? &conn.parser.head() : nullptr;
    if (refuse_receiving && receiving_locked(conn)) {
      Response r = json_error(503, "shutting down: the request did not arrive in time; retry");
      r.headers.push_back({"Retry-After", "1"});
      return Overdue{head, "request still being received at the drain's receive cutoff",
                     std::move(r), true};
    }
    if (conn.parser.started() && state == RequestParser::State::kHead &&
        now - conn.request_started > options.header_timeout) {
      return Overdue{nullptr, "request head not received in time",
                     json_error(408, "request timeout"), false};
    }
    if (state == RequestParser::State::kBody && now - conn.head_done > options.body_timeout) {
      return Overdue{head, "request body not received in time", json_error(408, "request timeout"),
                     false};
    }
    if (state == RequestParser::State::kBody && body_too_slow_locked(conn, now)) {
      return Overdue{head, "request body slower than the minimum rate",
                     json_error(408, "request body too slow"), false};
    }
    return std::nullopt;
  }

  // Runs the timeouts, the minimum body rate and the drain's idle closes on every connection;
  // with `refuse_receiving` (the drain's receive cutoff has passed) every request still being
  // received is answered 503 as well. Returns how many it refused. Safe to run on two threads
  // at once: each connection is decided under its lock, and one answered is `awaiting`.
  std::size_t sweep(bool refuse_receiving = false) {
    std::size_t refused = 0;
    auto now = SteadyClock::now();
    for (auto& conn : all_connections()) {
      std::shared_ptr<Peer> peer;
      std::optional<Overdue> overdue;
      {
        std::lock_guard lock(conn->mu);
        if (conn->closed || conn->awaiting || conn->closing) continue;
        if (!conn->parser.started() &&
            (draining || now - conn->last_activity > options.idle_timeout)) {
          // Idle keep-alive connection: close quietly. Safe here: `closed` is false under
          // the lock, and Pistache closes the fd only after reporting the disconnection.
          conn->closing = true;
          ::shutdown(conn->fd, SHUT_RDWR);
          continue;
        }
        overdue = overdue_locked(*conn, now, refuse_receiving);
        if (!overdue) continue;
        peer = conn->peer.lock();
        if (!peer) {
          // The client is gone (Pistache reports the disconnection next): nothing is sent, so
          // nothing is counted, and no later byte may reach the parser mid-request.
          conn->closing = true;
          continue;
        }
        handler.on_rejected(overdue->head, overdue->response.status, overdue->reason);
        if (overdue->drops_body) {
          conn->parser.reset();  // frees the body buffer now; nothing of it is handled
          release_body_locked(*conn);
        }
        conn->awaiting = true;
        conn->closing = true;
        awaiting.fetch_add(1);
      }
      if (overdue->drops_body) ++refused;
      overdue->response.close = true;
      write(conn, peer, serialize(overdue->response), true, true);
    }
    return refused;
  }

  // Did less than min_body_rate arrive in the window (body_rate_grace long) that just ended?
  // Checked window by window, so a burst first and then a trickle is caught too. Caller holds
  // conn.mu.
  bool body_too_slow_locked(Connection& conn, SteadyClock::time_point now) const {
    if (options.min_body_rate == 0) return false;
    const auto elapsed = now - conn.rate_window_start;
    if (elapsed < options.body_rate_grace) return false;
    const double seconds = std::chrono::duration<double>(elapsed).count();
    const auto received = static_cast<double>(conn.parser.bytes_seen() - conn.rate_window_bytes);
    if (received < seconds * static_cast<double>(options.min_body_rate)) return true;
    conn.rate_window_start = now;
    conn.rate_window_bytes = conn.parser.bytes_seen();
    return false;
  }

  std::size_t open_connections() {
    std::lock_guard lock(registry_mu);
    return connections.size();
  }

  void sweeper_loop() {
    std::unique_lock lock(sweeper_mu);
    while (!stop_sweeper) {
      sweeper_cv.wait_for(lock, std::chrono::milliseconds(100));
      if (stop_sweeper) break;
      lock.unlock();
      sweep();
      lock.lock();
    }
  }
};

namespace {

// The Pistache side: one clone per reactor thread, all sharing Impl.
class ConnectionHandler final : public Pistache::Tcp::Handler {
 public:
  PROTOTYPE_OF(Pistache::Tcp::Handler, ConnectionHandler)

  explicit ConnectionHandler(HttpServer::Impl* impl) : impl_(impl) {}

  void onConnection(const std::shared_ptr<Peer>& peer) override {
    if (impl_->options.max_connections > 0 &&
        impl_->open_connections() >= impl_->options.max_connections) {
      // Not registered, so onInput ignores it; Pistache closes it on the EOF this causes.
      ::shutdown(peer->fd(), SHUT_RDWR);
      impl_->handler.on_connection_refused();
      return;
    }
    auto conn = std::make_shared<Connection>(impl_->options.max_head_bytes);
    conn->peer = peer;
    conn->fd = peer->fd();
    conn->remote = peer->address().host();
    peer->putData(kConnectionKey, conn);
    std::lock_guard lock(impl_->registry_mu);
    impl_->connections[conn.get()] = conn;
  }

  void onInput(const char* buffer, size_t len, const std::shared_ptr<Peer>& peer) override {
    auto conn = std::static_pointer_cast<Connection>(peer->tryGetData(kConnectionKey));
    if (!conn) return;
    impl_->rearm_queued_writes(conn, peer);
    impl_->on_bytes(conn, peer, buffer, len);
  }

  void onDisconnection(const std::shared_ptr<Peer>& peer) override {
    auto conn = std::static_pointer_cast<Connection>(peer->tryGetData(kConnectionKey));
    if (!conn) return;
    {
      std::lock_guard lock(conn->mu);
      conn->closed = true;
      impl_->release_body_locked(*conn);  // a body cut off mid-way
      // An answer still outstanding will never be written (Pistache may also drop a queued
      // write on a reset connection without calling back): stop waiting for it.
      impl_->answered_locked(*conn);
    }
    std::lock_guard lock(impl_->registry_mu);
    impl_->connections.erase(conn.get());
  }

 private:
  HttpServer::Impl* impl_;
};

}  // namespace

HttpServer::HttpServer(ServerOptions options, RequestHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  try {
    Pistache::Address address(impl_->options.host, Pistache::Port(impl_->options.port));
    impl_->listener.init(static_cast<size_t>(impl_->options.threads),
                         Pistache::Flags<Pistache::Tcp::Options>(Pistache::Tcp::Options::ReuseAddr) |
                             Pistache::Tcp::Options::NoDelay,
                         "http");
    impl_->listener.setHandler(std::make_shared<ConnectionHandler>(impl_.get()));
    if (impl_->options.tls_cert) {
      impl_->listener.setupSSL(*impl_->options.tls_cert, *impl_->options.tls_key, false, nullptr);
    }
    impl_->listener.bind(address);
    impl_->listener.runThreaded();
  } catch (const std::exception& e) {
    return Error::unavailable(fmt::format("cannot listen on {}:{}: {}", impl_->options.host,
                                          impl_->options.port, e.what()));
  }
  impl_->running = true;
  impl_->sweeper = std::thread([this] {
    name_this_thread("http:sweeper");
    impl_->sweeper_loop();
  });
  return {};
}

std::uint16_t HttpServer::port() const {
  return static_cast<std::uint16_t>(static_cast<uint16_t>(impl_->listener.getPort()));
}

void HttpServer::begin_drain() {
  impl_->drain_began = SteadyClock::now();
  impl_->draining = true;
  // Close the idle keep-alive connections now rather than at the next tick: each is a request
  // that could still start.
  impl_->sweeper_cv.notify_all();
}

std::size_t HttpServer::receiving_requests() const {
  return impl_->receiving_requests();
}

std::size_t HttpServer::refuse_receiving() {
  if (!impl_->running) return 0;
  return impl_->sweep(/*refuse_receiving=*/true);
}

std::size_t HttpServer::open_connections() const { return impl_->open_connections(); }

std::size_t HttpServer::buffered_body_bytes() const { return impl_->budget.in_use(); }

std::size_t HttpServer::awaiting_responses() const { return impl_->awaiting.load(); }

void HttpServer::stop() {
  if (!impl_->running.exchange(false)) return;
  {
    std::lock_guard lock(impl_->sweeper_mu);
    impl_->stop_sweeper = true;
  }
  impl_->sweeper_cv.notify_all();
  if (impl_->sweeper.joinable()) impl_->sweeper.join();
  impl_->listener.shutdown();
}

}  // namespace wi::http
