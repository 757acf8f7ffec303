#include "tests/support/local_broker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <stdexcept>

namespace wi::testing {

LocalBroker::LocalBroker()
    : port_(free_port()), controller_port_(free_port()),
      bootstrap_("127.0.0.1:" + std::to_string(port_)) {
  start();
}

LocalBroker::~LocalBroker() {
  if (running_) stop();
}

void LocalBroker::start() {
  auto r = run_process({"/bin/bash", KAFKA_LOCAL_SCRIPT, "start", "--dir", dir_.path() + "/kafka",
                        "--port", std::to_string(port_), "--controller-port",
                        std::to_string(controller_port_), "--owner-pid", std::to_string(getpid())},
                       {}, std::chrono::seconds(120));
  if (r.exit_code != 0) {
    ADD_FAILURE() << "cannot start a private Kafka broker:\n" << r.err;
    throw std::runtime_error("private broker did not start");
  }
  running_ = true;
}

void LocalBroker::stop() {
  auto r = run_process({"/bin/bash", KAFKA_LOCAL_SCRIPT, "stop", "--dir", dir_.path() + "/kafka"},
                       {}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  running_ = false;
}

}  // namespace wi::testing
