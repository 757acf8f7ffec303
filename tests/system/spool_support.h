#pragma once
// Helpers for the spool system tests (tests/system/spool_test.cpp): a private broker with the
// test's topic, ingestd with a spool on it, a reader that accumulates what reached Kafka,
// /metrics values, concurrent signed senders, and raw access to spool files.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_consumer.h"
#include "common/kafka/record.h"
#include "tests/support/eventually.h"
#include "tests/support/local_broker.h"
#include "tests/support/spool_files.h"
#include "tests/system/ingestd_fixture.h"

namespace wi::testing::spool_support {

using namespace std::chrono_literals;

using wi::testing::eventually;

// A private broker (stoppable without disturbing other tests) with webhooks.<prefix>github.
class PrivateKafka {
 public:
  explicit PrivateKafka(int partitions = 3) : prefix_(unique_name("spool") + ".") {
    kafka::ClientOptions client;
    client.brokers = broker_.bootstrap();
    auto admin = kafka::RdKafkaAdmin::create(client);
    if (!admin.ok()) throw std::runtime_error(admin.error().message);
    auto created = (*admin)->create_topics({{topic(), partitions, 1, {}}}, 30s);
    if (!created.ok()) throw std::runtime_error("create topic: " + created.error().message);
  }
  LocalBroker& broker() { return broker_; }
  const std::string& brokers() const { return broker_.bootstrap(); }
  const std::string& prefix() const { return prefix_; }
  std::string topic() const { return prefix_ + "github"; }

 private:
  LocalBroker broker_;
  std::string prefix_;
};

// ingestd on the private broker with its spool in `spool_dir`; a short spool bound keeps
// outages quick to notice.
inline std::unique_ptr<IngestdProcess> start_spooling_ingestd(
    const PrivateKafka& kafka, const std::string& spool_dir,
    std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env = {{"KAFKA_BROKERS", kafka.brokers()},
                                            {"TOPIC_PREFIX", kafka.prefix()},
                                            {"INGEST_SPOOL_DIR", spool_dir},
                                            {"INGEST_SPOOL_AFTER_MS", "1000"}};
  for (auto& [k, v] : extra) env[k] = v;
  return std::make_unique<IngestdProcess>(env, /*create_topics_first=*/false);
}

// Kills ingestd the hard way (no drain, no flush) and reaps it.
inline void kill_hard(IngestdProcess& ingestd) {
  ingestd.process().signal(SIGKILL);
  EXPECT_EQ(ingestd.process().wait(10s), 128 + SIGKILL);
}

// One sample ("name" or "name{labels}" exactly as rendered) of a /metrics text, nullopt when
// the text has no such sample.
inline std::optional<double> sample_of(const std::string& metrics, const std::string& name) {
  std::istringstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

// One sample from /metrics, nullopt when unreachable or absent.
inline std::optional<double> metric(std::uint16_t port, const std::string& name) {
  return sample_of(metrics_text(port), name);
}

inline std::optional<int> readyz(std::uint16_t port) {
  try {
    auto r = http_request(port, "GET", "/readyz");
    if (r) return r->status;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

inline std::string header(const kafka::ConsumedRecord& r, const std::string& name) {
  const std::string* v = kafka::find_header(r.headers, name);
  return v ? *v : "";
}

// Reads the topic from the beginning of every partition, keeping everything it has seen.
class TopicReader {
 public:
  TopicReader(const std::string& brokers, const std::string& topic) : topic_(topic) {
    kafka::ConsumerOptions options;
    options.client.brokers = brokers;
    options.client.client_id = "wi-spool-test-reader";
    auto c = kafka::RdKafkaConsumer::create(options);
    if (!c.ok()) throw std::runtime_error(c.error().message);
    consumer_ = std::move(*c);
    Result<std::vector<std::int32_t>> partitions = Error::unavailable("not asked yet");
    eventually([&] { return (partitions = consumer_->partitions_of(topic, 5s)).ok(); }, 60s, 200ms);
    if (!partitions.ok()) throw std::runtime_error("partitions: " + partitions.error().message);
    std::vector<kafka::TopicPartitionOffset> start;
    for (auto p : *partitions) start.push_back({topic, p, kafka::Consumer::kOffsetBeginning});
    if (auto s = consumer_->assign(start); !s) throw std::runtime_error(s.error().message);
  }
  ~TopicReader() { consumer_->close(); }

  // Polls until `done()` holds (checked after every record and every empty poll).
  bool read_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      auto r = consumer_->poll(200ms);
      if (r.ok() && *r) add(std::move(**r));
    }
    return true;
  }
  // Until every id in `ids` has been seen.
  bool read_ids(const std::set<std::string>& ids, std::chrono::milliseconds timeout) {
    return read_until([&] { return missing(ids).empty(); }, timeout);
  }
  // Until everything now in the topic (its end offsets) has been read.
  bool read_to_end(std::chrono::milliseconds timeout) {
    auto ends = consumer_->end_offsets(topic_, 10s);
    if (!ends.ok()) return false;
    std::int64_t total = 0;
    for (const auto& e : *ends) total += e.offset;
    return read_until([&] { return static_cast<std::int64_t>(records_.size()) >= total; }, timeout);
  }

  std::set<std::string> missing(const std::set<std::string>& ids) const {
    std::set<std::string> out;
    for (const auto& id : ids) {
      if (!by_id_.count(id)) out.insert(id);
    }
    return out;
  }
  const std::vector<kafka::ConsumedRecord>& records() const { return records_; }
  // Indexes into records() for an event id (more than one: a duplicate).
  const std::map<std::string, std::vector<std::size_t>>& by_id() const { return by_id_; }

 private:
  void add(kafka::ConsumedRecord r) {
    by_id_[header(r, "event-id")].push_back(records_.size());
    records_.push_back(std::move(r));
  }
  std::string topic_;
  std::unique_ptr<kafka::RdKafkaConsumer> consumer_;
  std::vector<kafka::ConsumedRecord> records_;
  std::map<std::string, std::vector<std::size_t>> by_id_;
};

// A signed GitHub delivery whose key is `repo` and whose body carries `id` (so a spool file
// can be searched for it), padded to about `bytes`.
inline std::string github_body(const std::string& repo, const std::string& id, std::size_t bytes) {
  std::string body = R"({"repository":{"full_name":")" + repo + R"("},"id":")" + id +
                     R"(","text":"caf\u00e9 )" + std::string("\xc3\xa9") + R"(","pad":")";
  std::size_t i = 0;
  while (body.size() + 2 < bytes) body.push_back(static_cast<char>('a' + (i++ * 7 + id.size()) % 26));
  return body + "\"}";
}

// Senders posting signed deliveries concurrently until told to stop, until ingestd stops
// answering, or after `max_per_thread` each; every 200 is remembered with the body sent.
class Senders {
 public:
  Senders(IngestdProcess& ingestd, std::string id_prefix, int threads, std::size_t body_bytes,
          int max_per_thread = 1 << 30)
      : prefix_(std::move(id_prefix)) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, &ingestd, t, body_bytes, max_per_thread] {
        for (int i = 0; !stop_ && i < max_per_thread; ++i) {
          const std::string id = prefix_ + "-t" + std::to_string(t) + "-" + std::to_string(i);
          const std::string body = github_body("octo/r" + std::to_string(t), id, body_bytes);
          std::optional<HttpResponse> r;
          try {
            r = ingestd.post_github(body, id);
          } catch (const std::exception&) {
            return;  // ingestd is gone
          }
          if (!r) return;  // connection closed without an answer
          std::lock_guard lock(mu_);
          if (r->status == 200) {
            acknowledged_[id] = body;
          } else {
            ++refused_;
          }
        }
      });
    }
  }
  ~Senders() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::size_t acknowledged_count() const {
    std::lock_guard lock(mu_);
    return acknowledged_.size();
  }
  std::map<std::string, std::string> acknowledged() const {
    std::lock_guard lock(mu_);
    return acknowledged_;
  }
  int refused() const {
    std::lock_guard lock(mu_);
    return refused_;
  }

 private:
  std::string prefix_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<std::string, std::string> acknowledged_;  // event id → body
  int refused_ = 0;
  std::vector<std::thread> threads_;
};


// Where each frame of a spool file starts and how long it is ("WISP" | u32 length | u32 CRC
// | payload, little-endian), walking an undamaged file.
struct FrameExtent {
  std::size_t offset;
  std::size_t bytes;
};
inline std::vector<FrameExtent> frames_in(const std::string& file_bytes) {
  std::vector<FrameExtent> out;
  std::size_t pos = 0;
  while (pos + 12 <= file_bytes.size() && file_bytes.compare(pos, 4, "WISP") == 0) {
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) {
      len |= static_cast<std::uint32_t>(static_cast<unsigned char>(file_bytes[pos + 4 + i])) << (8 * i);
    }
    if (pos + 12 + len > file_bytes.size()) break;
    out.push_back({pos, 12 + len});
    pos += 12 + len;
  }
  return out;
}

}  // namespace wi::testing::spool_support
