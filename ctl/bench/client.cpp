#include "ctl/bench/client.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "ctl/http_wire.h"

namespace wi::ctl {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kTimerTag = ~0ULL;
constexpr auto kReconnectDelay = std::chrono::milliseconds(100);

std::uint64_t micros(Clock::duration d) {
  return static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
}

struct Conn {
  int fd = -1;
  bool connected = false;
  bool busy = false;  // a request is in flight
  BenchRequest request;
  std::size_t written = 0;
  std::string in;
  Clock::time_point started;
  Clock::time_point reconnect_at;  // when fd < 0
  // Tags this fd's epoll events, so that events still queued for a closed fd are ignored.
  std::uint32_t generation = 0;
};

class Load {
 public:
  Load(const LoadOptions& options, RequestFeed& feed, std::size_t body_bytes)
      : options_(options), feed_(feed), body_bytes_(body_bytes), conns_(options.connections) {}

  ~Load() {
    for (auto& c : conns_) {
      if (c.fd >= 0) ::close(c.fd);
    }
    if (timer_fd_ >= 0) ::close(timer_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  LoadResult run() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    start_ = Clock::now();
    end_ = start_ + options_.duration;
    last_answer_ = start_;
    if (options_.rate) start_timer();
    for (std::size_t i = 0; i < conns_.size(); ++i) open(i, start_);

    epoll_event events[256];
    Clock::time_point next_housekeeping = start_;
    while (true) {
      const auto now = Clock::now();
      const bool ending = now >= end_;
      if (ending && !ending_) finish_schedule();
      if (ending && in_flight_ == 0) break;
      if (ending && now >= end_ + options_.request_timeout) break;
      if (now >= next_housekeeping) {
        housekeeping(now);
        next_housekeeping = now + std::chrono::milliseconds(10);
      }
      const auto until = std::min(next_housekeeping, ending ? next_housekeeping : end_);
      const int wait_ms = static_cast<int>(std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1));
      const int n = ::epoll_wait(epoll_fd_, events, 256, wait_ms);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == kTimerTag) {
          on_timer();
        } else {
          const std::uint64_t tag = events[i].data.u64;
          const auto index = static_cast<std::size_t>(tag & 0xffffffffULL);
          if (conns_[index].generation == static_cast<std::uint32_t>(tag >> 32)) {
            on_event(index, events[i].events);
          }
        }
      }
    }
    // Whatever is still in flight has run out of time.
    for (auto& c : conns_) {
      if (c.busy) ++result_.timeouts;
    }
    result_.elapsed_s =
        std::chrono::duration<double>(std::max(last_answer_, std::min(Clock::now(), end_)) - start_)
            .count();
    return std::move(result_);
  }

 private:
  void error(const std::string& message) {
    ++result_.errors;
    if (result_.first_error.empty()) result_.first_error = message;
  }

  void start_timer() {
    timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    // Ticks at the request interval, but no finer than 200 µs: due requests go out in a
    // small burst per tick instead.
    const double interval_ns = std::max(2e5, 1e9 / *options_.rate);
    itimerspec spec{};
    spec.it_interval.tv_sec = static_cast<time_t>(interval_ns / 1e9);
    spec.it_interval.tv_nsec = static_cast<long>(std::fmod(interval_ns, 1e9));
    spec.it_value.tv_nsec = 1;
    ::timerfd_settime(timer_fd_, 0, &spec, nullptr);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimerTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev);
  }

  void open(std::size_t i, Clock::time_point now) {
    Conn& c = conns_[i];
    auto fd = connect_nonblocking(options_.address);
    if (!fd) {
      error(fd.error().message);
      c.reconnect_at = now + kReconnectDelay;
      return;
    }
    c.fd = *fd;
    c.connected = false;
    c.in.clear();
    ++c.generation;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (static_cast<std::uint64_t>(c.generation) << 32) | i;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  // Drops the connection; a request in flight on it is lost (never retried: its id is not
  // acknowledged, so the Kafka check does not look for it).
  void close(std::size_t i, Clock::time_point now, bool reconnect_now) {
    Conn& c = conns_[i];
    if (c.fd >= 0) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = -1;
    c.connected = false;
    if (c.busy) {
      c.busy = false;
      --in_flight_;
    }
    std::erase(idle_, i);
    c.reconnect_at = now + kReconnectDelay;
    if (reconnect_now && now < end_) open(i, now);
  }

  void on_event(std::size_t i, std::uint32_t events) {
    Conn& c = conns_[i];
    if (c.fd < 0) return;
    const auto now = Clock::now();
    if (!c.connected) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      if (const int err = connect_result(c.fd); err != 0) {
        error("cannot connect to " + options_.address.text + ": " + std::strerror(err));
        close(i, now, false);
        return;
      }
      c.connected = true;
      became_idle(i, now);
      return;
    }
    if ((events & EPOLLOUT) && c.busy && c.written < c.request.bytes.size()) write(i);
    if (c.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) read(i);
  }

  void write(std::size_t i) {
    Conn& c = conns_[i];
    while (c.written < c.request.bytes.size()) {
      const ssize_t n = ::send(c.fd, c.request.bytes.data() + c.written,
                               c.request.bytes.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<std::size_t>(n);
        result_.wire_bytes_sent += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT resumes
      // The server may have answered and closed (e.g. 413); read() finds out.
      return;
    }
  }

  void read(std::size_t i) {
    Conn& c = conns_[i];
    bool eof = false;
    char buf[16384];
    while (true) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        result_.wire_bytes_received += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;  // closed or reset
      break;
    }
    const auto now = Clock::now();
    if (!c.busy) {
      // Nothing asked: the server closed an idle keep-alive connection (or sent junk).
      if (eof || !c.in.empty()) close(i, now, true);
      return;
    }
    ParsedReply parsed = parse_response(c.in, eof);
    if (parsed.state == ParsedReply::State::kIncomplete) {
      if (eof) {
        error("connection closed before the response was complete");
        close(i, now, true);
      }
      return;
    }
    if (parsed.state == ParsedReply::State::kMalformed) {
      error(c.in.empty() ? "connection closed by the server mid-request"
                         : "malformed HTTP response");
      close(i, now, true);
      return;
    }
    answered(i, parsed.reply, now);
    c.in.erase(0, parsed.consumed);
    const bool unwritten = c.written < c.request.bytes.size();
    if (parsed.reply.close || eof || unwritten || !c.in.empty()) {
      close(i, now, true);
      return;
    }
    became_idle(i, now);
  }

  void answered(std::size_t i, const HttpReply& reply, Clock::time_point now) {
    Conn& c = conns_[i];
    c.busy = false;
    --in_flight_;
    ++result_.answered;
    ++result_.by_status[reply.status];
    result_.latency.record(micros(now - c.started));
    result_.body_bytes_answered += body_bytes_;
    if (reply.status == 200 && !c.request.event_id.empty()) {
      result_.acked_ids.push_back(std::move(c.request.event_id));
    }
    last_answer_ = now;
  }

  // A connection with nothing in flight: give it work, or park it.
  void became_idle(std::size_t i, Clock::time_point now) {
    if (now >= end_) return;
    if (!options_.rate) {
      start_request(i, now, now);
      return;
    }
    if (backlog_ > 0) {
      start_scheduled(i, now);
      return;
    }
    idle_.push_back(i);
  }

  void start_request(std::size_t i, Clock::time_point now, Clock::time_point scheduled) {
    Conn& c = conns_[i];
    c.request = feed_.next();
    c.written = 0;
    c.busy = true;
    ++in_flight_;
    ++result_.sent;
    c.started = Clock::now();
    if (options_.rate) result_.schedule_lag.record(micros(c.started - scheduled));
    (void)now;
    write(i);
  }

  // Open loop: the oldest due request goes out on connection i.
  void start_scheduled(std::size_t i, Clock::time_point now) {
    const std::uint64_t index = scheduled_ - backlog_;
    --backlog_;
    start_request(i, now, scheduled_time(index));
  }

  Clock::time_point scheduled_time(std::uint64_t index) const {
    return start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(index) *
                                                                       1e9 / *options_.rate));
  }

  void on_timer() {
    std::uint64_t expirations = 0;
    while (::read(timer_fd_, &expirations, sizeof expirations) > 0) {
    }
    const auto now = Clock::now();
    if (now >= end_) return;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const auto due = static_cast<std::uint64_t>(std::floor(elapsed * *options_.rate)) + 1;
    if (due > scheduled_) {
      backlog_ += due - scheduled_;
      scheduled_ = due;
    }
    while (backlog_ > 0 && !idle_.empty()) {
      const std::size_t i = idle_.back();
      idle_.pop_back();
      start_scheduled(i, now);
    }
  }

  void finish_schedule() {
    ending_ = true;
    result_.not_sent += backlog_;
    backlog_ = 0;
    if (timer_fd_ >= 0) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, timer_fd_, nullptr);
      ::close(timer_fd_);
      timer_fd_ = -1;
    }
  }

  void housekeeping(Clock::time_point now) {
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.busy && now - c.started >= options_.request_timeout) {
        ++result_.timeouts;
        close(i, now, true);
      }
      if (c.fd < 0 && now < end_ && now >= c.reconnect_at) open(i, now);
    }
  }

  const LoadOptions& options_;
  RequestFeed& feed_;
  std::size_t body_bytes_;
  std::vector<Conn> conns_;
  std::vector<std::size_t> idle_;  // open loop: connected, nothing in flight
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  Clock::time_point start_, end_, last_answer_;
  bool ending_ = false;
  std::uint64_t in_flight_ = 0;
  std::uint64_t scheduled_ = 0;  // open loop: requests due so far
  std::uint64_t backlog_ = 0;    // open loop: due but not started
  LoadResult result_;
};

}  // namespace

LoadResult run_load(const LoadOptions& options, RequestFeed& feed, std::size_t body_bytes) {
  Load load(options, feed, body_bytes);
  return load.run();
}

}  // namespace wi::ctl
