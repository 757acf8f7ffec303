#pragma once
// HTTP/1.1 responses as bytes for our own framing on top of Pistache's TCP reactor. The
// serializer owns the framing fields (Content-Length, Connection, Transfer-Encoding): the
// caller's copies of them are dropped so a response can never carry two conflicting lengths.

#include <string>
#include <string_view>
#include <vector>

#include "common/http/headers.h"
#include "common/http/request_parser.h"

namespace wi::http {

struct Response {
  int status = 200;
  std::vector<Header> headers;  // e.g. Content-Type, Allow, Retry-After; in this order
  std::string body;
  bool close = false;  // "Connection: close"; the owner closes after writing
};

// The interim response for "Expect: 100-continue".
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Status line, the caller's headers, Content-Length (computed; not for 1xx/204, RFC 9110
// §8.6), Connection (close or keep-alive; not for 1xx), the empty line, then the body unless
// `head_request` or the status forbids one (1xx, 204, 304). A status outside 100..999 is sent
// as 500. Header fields whose name is not a token are dropped and control characters in
// values become spaces, so no value can split the response.
std::string serialize(const Response& response, bool head_request = false);

// The reason phrase for `status`; "" for a code this service never sends.
const char* reason_phrase(int status);

// `status` with body {"error":"<message>"} and Content-Type: application/json.
Response json_error(int status, std::string_view message);

// The answer to a request the parser rejected: status_of(error) with describe(error), and
// Connection: close, since the stream cannot be framed any further.
Response parse_error_response(ParseError error);

}  // namespace wi::http
