// runtime_bench: measures the worker runtime against a real broker (README "Benchmarks").
//
//   runtime_bench throughput --brokers B --records N [--members M] [--value-bytes V]
//       Publishes N records to a fresh topic, then runs M WorkerRuntime group members (threads,
//       each with its own consumer, as separate processes would have) with a no-op handler
//       until every record is handled and committed. Prints records/s.
//   runtime_bench latency --brokers B --url http://127.0.0.1:P --secret S --topic T
//                         [--requests N]
//       Sends N signed GitHub deliveries to a running ingestd one at a time and, in-process,
//       runs a WorkerRuntime on T (= that ingestd's webhooks.github) whose handler notes when
//       it sees each event id. Prints the latency from ingestd's 200 to the handler, p50/p99.
//
// Not a test: it asserts nothing, it reports.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/codec.h"
#include "common/crypto.h"
#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_publisher.h"
#include "common/log.h"
#include "workers/runtime/rdkafka_consumers.h"
#include "workers/runtime/worker_runtime.h"

namespace {

using namespace wi;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class CountingHandler final : public worker::RecordHandler {
 public:
  worker::HandleResult handle(const kafka::ConsumedRecord&, worker::HandlerContext&) override {
    ++count;
    return worker::HandleResult::processed();
  }
  std::atomic<std::int64_t> count{0};
};

class SeenHandler final : public worker::RecordHandler {
 public:
  worker::HandleResult handle(const kafka::ConsumedRecord& rec, worker::HandlerContext&) override {
    auto now = Clock::now();
    if (const std::string* id = kafka::find_header(rec.headers, "event-id")) {
      std::lock_guard lock(mu);
      seen[*id] = now;
    }
    return worker::HandleResult::processed();
  }
  std::mutex mu;
  std::map<std::string, Clock::time_point> seen;
};

std::string fresh_topic(kafka::ClientOptions client, const std::string& prefix, int partitions) {
  auto admin = kafka::RdKafkaAdmin::create(client);
  if (!admin) throw std::runtime_error(admin.error().message);
  auto name = prefix + "-" + codec::hex_encode(crypto::random_bytes(4));
  auto r = (*admin)->create_topics({{name, partitions, 1, {}}, {name + ".dlq", partitions, 1, {}}}, 30s);
  if (!r) throw std::runtime_error(r.error().message);
  return name;
}

int throughput(const std::string& brokers, int records, int members, int value_bytes,
               std::chrono::seconds timeout) {
  // One registry per member, as separate processes would have.
  std::vector<std::unique_ptr<metrics::Registry>> registries;
  kafka::ClientOptions client;
  client.brokers = brokers;
  auto topic = fresh_topic(client, "bench-runtime", 6);
  {
    kafka::PublisherOptions po;
    po.client = client;
    po.linger_ms = 5;
    auto publisher = kafka::RdKafkaPublisher::create(po);
    std::string value(static_cast<std::size_t>(value_bytes), 'v');
    std::atomic<int> failed{0};
    std::string first_error;
    std::mutex error_mu;
    for (int i = 0; i < records; ++i) {
      (*publisher)->publish({topic, "k" + std::to_string(i % 1000), {{"event-id", std::to_string(i)}}, value},
                            [&](Result<kafka::Delivery> r) {
                              if (r) return;
                              std::lock_guard lock(error_mu);
                              if (failed++ == 0) first_error = r.error().message;
                            });
      // librdkafka queues at most 100,000 messages locally (queue.buffering.max.messages);
      // past that it refuses with _QUEUE_FULL. Let it catch up in steps below that bound.
      if ((i + 1) % 50000 == 0) {
        if (auto s = (*publisher)->flush(120s); !s) throw std::runtime_error(s.error().message);
      }
    }
    if (auto s = (*publisher)->flush(120s); !s) throw std::runtime_error(s.error().message);
    // Every record must be in the topic, or the count below can never be reached.
    if (failed > 0) {
      throw std::runtime_error(fmt::format("{} of {} records were not written: {}", failed.load(),
                                           records, first_error));
    }
  }
  SystemClock clock;
  kafka::PublisherOptions po;
  po.client = client;
  auto dlq_publisher = kafka::RdKafkaPublisher::create(po);
  std::vector<std::unique_ptr<CountingHandler>> handlers;
  std::vector<std::unique_ptr<worker::WorkerRuntime>> runtimes;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto group = "bench-" + codec::hex_encode(crypto::random_bytes(4));
  // Sized up front: the threads index these vectors while later members are added.
  handlers.reserve(static_cast<std::size_t>(members));
  runtimes.reserve(static_cast<std::size_t>(members));
  threads.reserve(static_cast<std::size_t>(members));
  auto start = Clock::now();
  for (int m = 0; m < members; ++m) {
    worker::RuntimeOptions options;
    options.worker = "bench";
    options.group = group;
    options.topics = {topic};
    options.client = client;
    handlers.push_back(std::make_unique<CountingHandler>());
    registries.push_back(std::make_unique<metrics::Registry>());
    runtimes.push_back(std::make_unique<worker::WorkerRuntime>(
        options, *handlers.back(), worker::rdkafka_consumers(options), **dlq_publisher,
        *registries.back(), clock));
    if (auto s = runtimes.back()->start(); !s) throw std::runtime_error(s.error().message);
    threads.emplace_back([&, m] { runtimes[m]->run(stop); });
  }
  auto total = [&] {
    std::int64_t n = 0;
    for (auto& h : handlers) n += h->count;
    return n;
  };
  // A benchmark must end: past the deadline, say where the records are and fail.
  const auto deadline = start + timeout;
  while (total() < records && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  auto took = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  for (auto& t : threads) t.join();
  if (total() < records) {
    std::cerr << fmt::format("runtime_bench: only {} of {} records handled after {:.0f} s\n",
                             total(), records, took);
    for (int m = 0; m < members; ++m) {
      std::string lag;
      std::istringstream metrics(registries[m]->render());
      for (std::string line; std::getline(metrics, line);) {
        if (line.rfind("worker_consumer_lag", 0) == 0 || line.rfind("worker_records", 0) == 0) {
          lag += "    " + line + "\n";
        }
      }
      std::cerr << fmt::format("  member {} handled {}\n{}", m, handlers[m]->count.load(), lag);
    }
    return 1;
  }
  std::cout << fmt::format(
      "runtime throughput: {} records of {} B, {} member(s): {:.2f} s, {:.0f} records/s "
      "(from group join to the last record handled)\n",
      records, value_bytes, members, took, records / took);
  for (int m = 0; m < members; ++m) {
    std::cout << fmt::format("  member {} handled {}\n", m, handlers[m]->count.load());
  }
  return 0;
}

// One blocking HTTP/1.1 POST over a kept-alive socket.
class Poster {
 public:
  Poster(const std::string& host, int port);
  ~Poster();
  int post(const std::string& path, const std::vector<std::string>& headers, const std::string& body);

 private:
  int fd_ = -1;
};

}  // namespace

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

Poster::Poster(const std::string& host, int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot connect to ingestd");
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Poster::~Poster() { ::close(fd_); }

int Poster::post(const std::string& path, const std::vector<std::string>& headers,
                 const std::string& body) {
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "\r\n" + body;
  if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return -1;
  std::string in;
  char buf[4096];
  while (true) {
    auto end = in.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto cl = in.find("Content-Length: ");
      std::size_t len = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
      if (in.size() >= end + 4 + len) return std::stoi(in.substr(9, 3));
    }
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    in.append(buf, static_cast<std::size_t>(n));
  }
}

int latency(const std::string& brokers, const std::string& url, const std::string& secret,
            const std::string& topic, int requests) {
  auto hostport = url.substr(url.find("//") + 2);
  auto colon = hostport.find(':');
  Poster poster(hostport.substr(0, colon), std::stoi(hostport.substr(colon + 1)));
  kafka::ClientOptions client;
  client.brokers = brokers;
  metrics::Registry registry;
  SystemClock clock;
  kafka::PublisherOptions po;
  po.client = client;
  auto publisher = kafka::RdKafkaPublisher::create(po);
  SeenHandler handler;
  worker::RuntimeOptions options;
  options.worker = "bench";
  options.group = "bench-latency-" + codec::hex_encode(crypto::random_bytes(4));
  options.topics = {topic};
  options.client = client;
  worker::WorkerRuntime runtime(options, handler, worker::rdkafka_consumers(options), **publisher,
                               registry, clock);
  if (auto s = runtime.start(); !s) throw std::runtime_error(s.error().message);
  std::atomic<bool> stop{false};
  std::thread loop([&] { runtime.run(stop); });
  // Warm up: let the group settle (assignment at the end offsets) before measuring.
  std::this_thread::sleep_for(3s);
  std::map<std::string, Clock::time_point> acked;
  std::string body = R"({"ref":"refs/heads/main","repository":{"full_name":"bench/repo"}})";
  auto sig = "X-Hub-Signature-256: sha256=" + codec::hex_encode(crypto::hmac_sha256(secret, body));
  for (int i = 0; i < requests; ++i) {
    auto id = "lat-" + codec::hex_encode(crypto::random_bytes(8));
    int status = poster.post("/webhooks/github",
                             {"Content-Type: application/json", "X-GitHub-Event: push",
                              "X-GitHub-Delivery: " + id, sig},
                             body);
    if (status == 200) acked[id] = Clock::now();
    std::this_thread::sleep_for(5ms);  // one at a time: latency, not load
  }
  auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    std::lock_guard lock(handler.mu);
    if (handler.seen.size() >= acked.size()) break;
  }
  stop = true;
  loop.join();
  std::vector<double> ms;
  for (const auto& [id, at] : acked) {
    auto it = handler.seen.find(id);
    if (it != handler.seen.end()) ms.push_back(std::chrono::duration<double, std::milli>(it->second - at).count());
  }
  std::sort(ms.begin(), ms.end());
  if (ms.empty()) {
    std::cerr << "no record reached the handler\n";
    return 1;
  }
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * ms.size()))]; };
  std::cout << fmt::format(
      "end-to-end latency, ingestd 200 → handler: {} events, p50 {:.2f} ms, p99 {:.2f} ms, max "
      "{:.2f} ms (negative: the handler saw it before the 200 reached the client)\n",
      ms.size(), pct(0.5), pct(0.99), ms.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"runtime_bench: worker runtime throughput and end-to-end latency"};
  app.require_subcommand(1);
  std::string brokers = "127.0.0.1:9092";
  app.add_option("--brokers", brokers, "Kafka bootstrap servers");
  auto* tp = app.add_subcommand("throughput", "records/s through the runtime, no-op handler");
  int records = 200000, members = 1, value_bytes = 512;
  tp->add_option("--records", records);
  tp->add_option("--members", members);
  tp->add_option("--value-bytes", value_bytes);
  int timeout_s = 300;
  tp->add_option("--timeout", timeout_s, "Fail (exit 1, with per-member counts) after this many seconds");
  auto* lat = app.add_subcommand("latency", "ingestd 200 → handler latency");
  std::string url = "http://127.0.0.1:8080", secret, topic = "webhooks.github";
  int requests = 500;
  lat->add_option("--url", url);
  lat->add_option("--secret", secret)->required();
  lat->add_option("--topic", topic);
  lat->add_option("--requests", requests);
  CLI11_PARSE(app, argc, argv);
  wi::log::setup({std::getenv("LOG_LEVEL") ? std::getenv("LOG_LEVEL") : "warn", "text"}, {});
  try {
    if (tp->parsed()) return throughput(brokers, records, members, value_bytes, std::chrono::seconds(timeout_s));
    return latency(brokers, url, secret, topic, requests);
  } catch (const std::exception& e) {
    std::cerr << "runtime_bench: " << e.what() << "\n";
    return 1;
  }
}
