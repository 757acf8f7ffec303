#include "ctl/tcp_connect.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wi::ctl {
namespace {

Result<int> open_socket(const TcpAddress& address) {
  const int fd = ::socket(address.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error::internal(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address.addr), address.len) != 0 &&
      errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    return Error::unavailable("cannot connect to " + address.text + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace

Result<TcpAddress> resolve_tcp(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Error::unavailable("cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  TcpAddress out;
  std::memcpy(&out.addr, found->ai_addr, found->ai_addrlen);
  out.len = found->ai_addrlen;
  out.text =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  ::freeaddrinfo(found);
  return out;
}

int connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

Result<int> connect_nonblocking(const TcpAddress& address) {
  return open_socket(address);
}

Result<int> connect_with_timeout(const TcpAddress& address, std::chrono::milliseconds timeout) {
  auto fd = open_socket(address);
  if (!fd) return fd;
  pollfd p{*fd, POLLOUT, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  const int err = ready == 0 ? ETIMEDOUT : connect_result(*fd);
  if (err != 0) {
    ::close(*fd);
    return Error::unavailable("cannot connect to " + address.text + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace wi::ctl
