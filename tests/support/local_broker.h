#pragma once
// A private Kafka broker for tests that stop and restart it (outages), started with the
// project's own deploy/kafka-local.sh on free loopback ports. Stopped by the destructor.

#include <cstdint>
#include <string>

#include "tests/support/process.h"

namespace wi::testing {

class LocalBroker {
 public:
  LocalBroker();  // starts it; fails the test (and throws) when it cannot
  ~LocalBroker();
  LocalBroker(const LocalBroker&) = delete;
  LocalBroker& operator=(const LocalBroker&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  void stop();
  void start();  // again, same ports and data

 private:
  TempDir dir_;
  std::uint16_t port_;
  std::uint16_t controller_port_;
  std::string bootstrap_;
  bool running_ = false;
};

}  // namespace wi::testing
