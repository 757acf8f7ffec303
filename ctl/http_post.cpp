#include "ctl/http_post.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ctl/tcp_connect.h"

namespace wi::ctl {
namespace {

using Clock = std::chrono::steady_clock;

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<HttpReply> http_post(const HttpUrl& url, const std::vector<http::Header>& headers,
                            const std::string& body, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto address = resolve_tcp(url.host, url.port);
  if (!address) return address.error();
  auto fd = connect_with_timeout(*address, timeout);
  if (!fd) return fd.error();
  Socket socket(*fd);

  const std::string request = build_request("POST", url, headers, body, false);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        ::send(socket.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(socket.fd(), POLLOUT, deadline)) {
        return Error::timeout("timed out sending the request to " + address->text);
      }
      continue;
    }
    // The server may answer (413, 401) and close before reading everything: read its answer.
    break;
  }

  std::string buffer;
  bool eof = false;
  while (true) {
    ParsedReply parsed = parse_response(buffer, eof);
    if (parsed.state == ParsedReply::State::kComplete) return std::move(parsed.reply);
    if (parsed.state == ParsedReply::State::kMalformed) {
      return Error::unavailable(buffer.empty()
                                    ? "the server closed the connection without an answer"
                                    : "malformed HTTP response");
    }
    if (!wait_for(socket.fd(), POLLIN, deadline)) {
      return Error::timeout("no complete response from " + address->text + " within " +
                            std::to_string(timeout.count()) + " ms");
    }
    char chunk[65536];
    const ssize_t n = ::recv(socket.fd(), chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else if (errno != EINTR && errno != EAGAIN) {
      if (errno == ECONNRESET && !buffer.empty()) {
        eof = true;
      } else {
        return Error::unavailable(std::string("receiving the response: ") + std::strerror(errno));
      }
    }
  }
}

}  // namespace wi::ctl
