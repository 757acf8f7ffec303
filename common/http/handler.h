#pragma once
// The contract between the HTTP server (connections, framing, timeouts) and the application
// behind it. Nothing here knows Pistache.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/http/request_parser.h"
#include "common/http/response.h"

namespace wi::http {

struct Request {
  RequestHead head;
  std::string body;  // decoded, with spare capacity for in-place JSON parsing
  SystemTime received_at;
  std::string remote;  // peer address, for logs
};

// Sends the response for one request. Call exactly once, from any thread.
using Responder = std::function<void(Response)>;

struct HeadDecision {
  std::optional<Response> reject;  // answer now, without reading the body
  std::uint64_t max_body_bytes = 0;
};

// Thread-safe: called concurrently from the server's worker threads.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // The head is complete, the body not yet read: route, method and declared-size checks.
  virtual HeadDecision on_head(const RequestHead& head) = 0;
  // The whole request is here.
  virtual void handle(Request request, Responder respond) = 0;
  // The server answered on its own (malformed request, 431, 413 while reading a chunked body,
  // 408 timeout): for logs and metrics. `head` is null when the head never completed.
  virtual void on_rejected(const RequestHead* head, int status, std::string_view reason) = 0;
  // A new connection was closed at once: ServerOptions::max_connections were open.
  virtual void on_connection_refused() {}
};

}  // namespace wi::http
