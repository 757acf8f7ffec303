#pragma once
// HttpClient: outbound HTTP requests to the APIs workers call (GitHub statuses, Dropbox, ...),
// in the project's own types. The real adapter is CurlHttpClient (common/curl_http_client.h);
// tests use fakes or a local stand-in server.
//
// Contract: send() blocks until the response is complete, the request's timeout passes or
// the connection fails. Any HTTP status is a response, not an error: callers decide what a
// 4xx or 5xx means. Errors are transport problems only (DNS, connect, TLS, timeout, a body
// over the limit), with `retryable` set for those that may pass. Nothing here logs a
// request: headers may carry credentials, bodies may carry personal data.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace wi::http_client {

struct Request {
  std::string method = "GET";
  std::string url;
  // "Name", "value" pairs, sent in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};  // the whole exchange
};

struct Response {
  int status = 0;
  // Names lowercased, in arrival order (duplicates kept).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header called `lowercase_name`, or "".
  std::string header(std::string_view lowercase_name) const;
};

// Thread-safe: send() may be called from several threads at once.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<Response> send(const Request& request) = 0;
};

}  // namespace wi::http_client
