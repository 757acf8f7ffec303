#pragma once
// The real broker the integration and system tests run against. deploy/test.sh starts it and
// exports KAFKA_TEST_BROKERS; without it these tests fail loudly — they never skip.

#include <chrono>
#include <string>

#include <memory>

#include "common/kafka/admin.h"
#include "common/kafka/rdkafka_publisher.h"
#include "common/kafka/record.h"
#include <map>
#include <vector>

namespace wi::testing {

// The bootstrap address; aborts the test binary with an explanation when it is not set.
const std::string& test_brokers();

kafka::ClientOptions test_client(const std::string& client_id = "wi-test");

// An idempotent producer on the test broker (librdkafka defaults otherwise); throws when it
// cannot be created.
std::unique_ptr<kafka::RdKafkaPublisher> test_publisher(
    const std::string& client_id = "wi-test-publisher");

// "<prefix>-<test name>-<random>": unique per test and per run, valid as a topic name.
std::string unique_name(const std::string& prefix);

// Creates a topic on the test broker (fails the test on error) and returns its name.
std::string create_test_topic(const std::string& prefix, int partitions,
                              std::map<std::string, std::string> config = {});

// Every record now in `topic` (all partitions, from the beginning up to the end offsets at
// the call), read without a group; then waits (within `timeout`) for at least `at_least`.
// Fails the test when it could not read up to those end offsets or saw fewer than
// `at_least` records: a partial list never passes for "nothing more arrived".
std::vector<kafka::ConsumedRecord> read_topic(const std::string& topic, std::size_t at_least,
                                              std::chrono::milliseconds timeout =
                                                  std::chrono::seconds(30));

// Total records in `topic` (sum of the partitions' end offsets).
std::int64_t record_count(const std::string& topic);

// The group's committed offset per partition (kOffsetInvalid where none).
std::map<int, std::int64_t> committed_offsets(const std::string& group, const std::string& topic,
                                              int partitions);

// Creates exactly these topics (fails the test on error), each taking records up to
// `max_message_bytes` (by default enough for ingestd's 25 MiB body limit).
void create_topics(const std::vector<std::string>& names, int partitions = 3,
                   std::int64_t max_message_bytes = 27 * 1024 * 1024);

}  // namespace wi::testing
