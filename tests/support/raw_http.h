#pragma once
// A deliberately low-level HTTP/1.1 client for system tests: exact bytes out (malformed,
// oversize, pipelined, slow), responses parsed back with their headers. Blocking, with
// deadlines; loopback only.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wi::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased; last one wins
  std::string body;
  std::string header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? "" : it->second;
  }
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error when it cannot.
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends everything (returns false if the server closed the connection meanwhile).
  bool send(const std::string& bytes);
  // Reads one response; nullopt on timeout or when the connection closed first.
  std::optional<HttpResponse> read_response(
      std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // True when the server closed the connection (EOF or reset) within `timeout`, after
  // discarding any bytes still arriving.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  int fd() const { return fd_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// A complete request: method, target, extra header lines ("Name: value"), body with a
// Content-Length (omitted when `content_length` is false).
std::string make_request(const std::string& method, const std::string& target,
                         const std::vector<std::string>& headers, const std::string& body,
                         bool content_length = true);

// One request on a fresh connection.
std::optional<HttpResponse> http_request(std::uint16_t port, const std::string& method,
                                         const std::string& target,
                                         const std::vector<std::string>& headers = {},
                                         const std::string& body = "");

// The body of GET /metrics on 127.0.0.1:port; "" when unreachable or not answered 200 (a
// process still starting or already gone).
std::string metrics_text(std::uint16_t port);

}  // namespace wi::testing
