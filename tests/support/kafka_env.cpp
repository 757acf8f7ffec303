#include "tests/support/kafka_env.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

#include "common/codec.h"
#include "common/crypto.h"
#include "common/kafka/rdkafka_admin.h"

namespace wi::testing {

const std::string& test_brokers() {
  static const std::string brokers = [] {
    const char* v = std::getenv("KAFKA_TEST_BROKERS");
    if (!v || !*v) {
      std::cerr << "\nKAFKA_TEST_BROKERS is not set: these tests need the real Kafka broker that "
                   "deploy/test.sh starts. Run ./deploy/test.sh (or start one with "
                   "deploy/kafka-local.sh and export KAFKA_TEST_BROKERS=127.0.0.1:<port>).\n";
      std::abort();
    }
    return std::string(v);
  }();
  return brokers;
}

kafka::ClientOptions test_client(const std::string& client_id) {
  kafka::ClientOptions client;
  client.brokers = test_brokers();
  client.client_id = client_id;
  return client;
}

std::string unique_name(const std::string& prefix) {
  std::string name = prefix;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name += std::string("-") + info->name();
  }
  name += "-" + codec::hex_encode(crypto::random_bytes(4));
  for (auto& c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!ok) c = '-';
  }
  return name;
}

std::string create_test_topic(const std::string& prefix, int partitions,
                              std::map<std::string, std::string> config) {
  auto name = unique_name(prefix);
  auto admin = kafka::RdKafkaAdmin::create(test_client("wi-test-admin"));
  if (!admin) {
    ADD_FAILURE() << admin.error().message;
    return name;
  }
  auto outcome = (*admin)->create_topics({{name, partitions, 1, std::move(config)}},
                                         std::chrono::seconds(30));
  if (!outcome) ADD_FAILURE() << "create topic " << name << ": " << outcome.error().message;
  return name;
}

}  // namespace wi::testing
