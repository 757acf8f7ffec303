#pragma once
// The steerable test-worker (workers/testworker) as a real process against the test broker.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include "common/kafka/rdkafka_publisher.h"
#include "tests/support/eventually.h"
#include "tests/support/kafka_env.h"
#include "tests/support/process.h"
#include "tests/support/raw_http.h"

namespace wi::testing {

// One line of the worker's output: a record it handled.
struct Handled {
  std::string topic;
  int partition = 0;
  std::int64_t offset = 0;
  std::string key;
  int attempt = 0;
  int count = 0;  // count-* keys only
};

inline std::vector<Handled> read_handled(const std::string& path) {
  std::vector<Handled> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    Handled h;
    fields >> h.topic >> h.partition >> h.offset >> h.key >> h.attempt;
    if (!(fields >> h.count)) h.count = 0;
    if (!h.topic.empty()) out.push_back(h);
  }
  return out;
}

class TestWorker {
 public:
  TestWorker(const std::string& topic, const std::string& group, const std::string& output,
             std::map<std::string, std::string> extra_env = {})
      : metrics_port_(free_port()) {
    std::map<std::string, std::string> env = {
        {"KAFKA_BROKERS", test_brokers()},
        {"TEST_WORKER_TOPIC", topic},
        {"TEST_WORKER_OUTPUT", output},
        {"KAFKA_GROUP", group},
        {"WORKER_METRICS_LISTEN", "127.0.0.1:" + std::to_string(metrics_port_)},
        {"WORKER_BACKOFF_INITIAL_MS", "100"},
        {"WORKER_BACKOFF_MAX_MS", "400"},
    };
    for (auto& [k, v] : extra_env) env[k] = v;
    process_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{TEST_WORKER_PATH}, env,
        output + ".log." + std::to_string(metrics_port_));
  }

  BackgroundProcess& process() { return *process_; }
  std::string log() const { return process_->log(); }
  std::string metrics() const { return metrics_text(metrics_port_); }

 private:
  std::uint16_t metrics_port_;
  std::unique_ptr<BackgroundProcess> process_;
};

// Publishes one record per key (value "v-<key>") and returns their positions by key.
inline void publish_keys(kafka::Publisher& publisher, const std::string& topic,
                         const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    auto d = kafka::publish_and_wait(publisher, {topic, key, {{"event-id", "e-" + key}}, "v-" + key},
                                     std::chrono::seconds(30));
    ASSERT_TRUE(d.ok()) << d.error().message;
  }
}

}  // namespace wi::testing
