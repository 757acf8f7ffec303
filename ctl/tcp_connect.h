#pragma once
// TCP client sockets for ingestctl's HTTP requests: name resolution once, then connects.
// Descriptors are owned by the caller (close them).

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace wi::ctl {

struct TcpAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // "host:port", for messages
};

// The first address `host` resolves to (IPv4 or IPv6).
Result<TcpAddress> resolve_tcp(const std::string& host, std::uint16_t port);

// A connected (non-blocking, TCP_NODELAY) socket, or Error::unavailable after `timeout`.
Result<int> connect_with_timeout(const TcpAddress& address, std::chrono::milliseconds timeout);

// A non-blocking socket (TCP_NODELAY) whose connect is in progress or done: wait for
// EPOLLOUT, then check connect_result().
Result<int> connect_nonblocking(const TcpAddress& address);

// 0 when the connect of `fd` succeeded, else the errno it failed with.
int connect_result(int fd);

}  // namespace wi::ctl
