#pragma once
// HttpServer: HTTP/1.1 over Pistache's TCP reactor (listener, worker threads, TLS), with our
// own framing (RequestParser, in http_core) in place of Pistache's HTTP parser, whose defects
// STACK.md lists. The server owns connections and framing: a linear-time, size-limited head;
// the RequestHandler may answer from the head alone (on_head) and otherwise sets the body
// limit, past which the request gets 413 — before the body for a declared Content-Length, as
// soon as a chunked body passes it — answered once and then the connection closed; Expect:
// 100-continue answered; keep-alive by default and Connection: close / HTTP/1.0 honoured by
// closing; pipelined requests answered in order, one at a time; header, body and idle
// timeouts, a minimum body rate, a connection limit and a budget for buffered bodies. Only server.cpp includes Pistache (this header hides it behind Impl), so linking
// http_server is what brings Pistache in.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/http/handler.h"

namespace wi::http {

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: any free port (see HttpServer::port())
  int threads = 2;
  std::size_t max_head_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{60000};
  std::chrono::milliseconds idle_timeout{60000};
  // Bytes a client may send ahead (pipelining) while its previous request is being answered;
  // beyond that the connection is closed after the current answer.
  std::size_t max_pipelined_bytes = 64 * 1024;
  // Open connections at most; a connection accepted beyond it is closed at once (and counted
  // through RequestHandler::on_connection_refused). 0: no limit.
  std::size_t max_connections = 0;
  // The bytes all unanswered request bodies together may hold (BodyBudget); a request that
  // would pass it gets 503 + Retry-After and the connection is closed. 0: no limit.
  std::size_t max_buffered_body_bytes = 0;
  // A body must arrive at this rate (bytes/s) in every `body_rate_grace` window from the end
  // of its head; less in a window gets 408. 0: only body_timeout applies.
  std::size_t min_body_rate = 0;
  std::chrono::milliseconds body_rate_grace{5000};
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, RequestHandler& handler);
  ~HttpServer();  // stops if still running

  // Binds and starts serving on background threads. Errors: the address cannot be bound,
  // TLS files cannot be loaded.
  Status start();
  std::uint16_t port() const;

  // Graceful drain, step one: idle keep-alive connections are closed (at once, and any that
  // turn idle later after their answer) and every further response carries Connection: close.
  // Requests already arriving carry on, within the usual timeouts and minimum body rate.
  // (The handler refuses new requests itself.)
  void begin_drain();
  // Open connections and requests handed to the handler and not yet answered.
  std::size_t open_connections() const;
  std::size_t awaiting_responses() const;
  // Requests some of whose bytes have arrived but not all of them (head or body still being
  // received): not yet handed to the handler, but in flight all the same.
  std::size_t receiving_requests() const;
  // The drain's deadline has passed: answers every request still being received 503 +
  // Retry-After and closes its connection; its bytes are never handed to the handler. Returns
  // how many it answered (each also goes to RequestHandler::on_rejected). Call again to
  // refuse requests that began arriving since.
  std::size_t refuse_receiving();
  // Bytes held by unanswered request bodies (see max_buffered_body_bytes).
  std::size_t buffered_body_bytes() const;
  // Stops listening and serving at once; call after draining.
  void stop();

  struct Impl;  // implementation detail (server.cpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wi::http
