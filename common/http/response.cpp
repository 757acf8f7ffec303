#include "common/http/response.h"

#include <charconv>

#include "common/json_text.h"

namespace wi::http {

namespace {

bool is_token_char(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

void append_number(std::string& out, unsigned long long n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  (void)ec;  // 24 bytes always fit an unsigned long long
  out.append(buf, end);
}

bool body_forbidden(int status) {
  return status < 200 || status == 204 || status == 304;
}

}  // namespace

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

std::string serialize(const Response& response, bool head_request) {
  const int status = (response.status >= 100 && response.status <= 999) ? response.status : 500;
  const bool informational = status < 200;
  const bool send_body = !head_request && !body_forbidden(status);

  std::string out;
  std::size_t size = 64 + (send_body ? response.body.size() : 0);
  for (const auto& h : response.headers) size += h.name.size() + h.value.size() + 4;
  out.reserve(size);

  out.append("HTTP/1.1 ");
  append_number(out, static_cast<unsigned long long>(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");

  for (const auto& h : response.headers) {
    if (!is_token(h.name) || iequals(h.name, "content-length") || iequals(h.name, "connection") ||
        iequals(h.name, "transfer-encoding")) {
      continue;
    }
    out.append(h.name);
    out.append(": ");
    for (char c : h.value) {
      const auto uc = static_cast<unsigned char>(c);
      out.push_back((uc < 0x20 && c != '\t') || uc == 0x7f ? ' ' : c);
    }
    out.append("\r\n");
  }
  if (!informational && status != 204) {
    // For HEAD (and 304) this is the length a GET would have had (RFC 9110 §8.6).
    out.append("Content-Length: ");
    append_number(out, response.body.size());
    out.append("\r\n");
  }
  if (!informational)
    out.append(response.close ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
  out.append("\r\n");
  if (send_body) out.append(response.body);
  return out;
}

Response json_error(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/json"});
  r.body.reserve(message.size() + 16);
  r.body.append("{\"error\":");
  json::append_string(r.body, message);
  r.body.push_back('}');
  return r;
}

Response parse_error_response(ParseError error) {
  Response r = json_error(status_of(error), describe(error));
  r.close = true;
  return r;
}

}  // namespace wi::http
