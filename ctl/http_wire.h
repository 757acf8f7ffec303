#pragma once
// The client side of HTTP/1.1 framing for ingestctl's own requests (send, bench): URLs,
// request bytes, and responses parsed out of a byte buffer. No I/O here: http_post does the
// blocking kind, the bench client the epoll kind.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/http/headers.h"

namespace wi::ctl {

struct HttpUrl {
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 80;
  std::string target = "/";  // path and query
  std::string host_header;   // "host:port" as the Host header carries it

  std::string to_string() const { return "http://" + host_header + target; }
};

// "http://host[:port][/path[?query]]". https:// is refused with a message that says so (this
// client speaks plain HTTP only).
Result<HttpUrl> parse_http_url(std::string_view url);

// The complete request bytes: request line, Host, `headers`, User-Agent (unless given),
// Content-Length (whenever there is a body or the method is POST), Connection.
std::string build_request(std::string_view method, const HttpUrl& url,
                          const std::vector<http::Header>& headers, std::string_view body,
                          bool keep_alive);

struct HttpReply {
  int status = 0;
  std::string reason;
  std::vector<http::Header> headers;
  std::string body;
  bool close = false;  // the server will close the connection after this response

  const std::string* header(std::string_view name) const;
};

struct ParsedReply {
  enum class State { kIncomplete, kComplete, kMalformed } state = State::kIncomplete;
  std::size_t consumed = 0;  // bytes of the buffer this response (and any 1xx before it) used
  HttpReply reply;
};

// The first complete final response at the start of `buffer`; interim 1xx responses are
// skipped. `eof`: the peer closed, so a body delimited by the close is complete.
// Content-Length and chunked bodies are understood.
ParsedReply parse_response(std::string_view buffer, bool eof);

}  // namespace wi::ctl
