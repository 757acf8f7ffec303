// ingestd as a real process against the real broker (SPEC §3, §4).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>

#include "common/kafka/record.h"
#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_consumer.h"
#include "tests/support/local_broker.h"
#include "tests/system/ingestd_fixture.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::string> headers_of(const kafka::ConsumedRecord& r) {
  std::map<std::string, std::string> out;
  for (const auto& h : r.headers) out[h.name] = h.value;
  return out;
}

bool is_rfc3339_ms(const std::string& s) {
  return s.size() == 24 && s[4] == '-' && s[10] == 'T' && s[19] == '.' && s.back() == 'Z';
}

TEST(IngestdSystem, GithubPushLandsWithExactBytesKeyAndHeaders) {
  IngestdProcess ingestd;
  const std::string body =
      R"({"ref":"refs/heads/main","after":"abc","repository":{"full_name":"octo/app"},"x":"caf\u00e9 )" +
      std::string("\xc3\xa9") + "\"}";
  auto r = ingestd.post_github(body, "delivery-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, R"({"event_id":"delivery-1"})");
  EXPECT_EQ(r->header("content-type"), "application/json");

  auto records = read_topic(ingestd.topic("github"), 1);
  ASSERT_EQ(records.size(), 1u);
  const auto& rec = records[0];
  EXPECT_EQ(rec.value, body);
  EXPECT_EQ(rec.key, "octo/app");
  auto h = headers_of(rec);
  EXPECT_EQ(h["source"], "github");
  EXPECT_EQ(h["event-id"], "delivery-1");
  EXPECT_EQ(h["event-type"], "push");
  EXPECT_EQ(h["content-type"], "application/json");
  EXPECT_TRUE(is_rfc3339_ms(h["received-at"])) << h["received-at"];
  EXPECT_EQ(h["http-x-github-hook-id"], "42");
  EXPECT_EQ(h["http-user-agent"], "GitHub-Hookshot/test");
  EXPECT_EQ(h.count("http-x-hub-signature-256"), 0u) << "signatures are never forwarded";
  EXPECT_EQ(rec.headers.size(), 7u);
}

// SPEC §4: record header values are UTF-8. A correctly signed delivery whose id is not is a
// 400 at the parse stage and never reaches Kafka, under either spelling (raw or U+FFFD).
TEST(IngestdSystem, NonUtf8DeliveryIdIs400AndNeverReachesKafka) {
  IngestdProcess ingestd;
  const std::string body = R"({"ref":"refs/heads/main","repository":{"full_name":"octo/app"}})";
  const std::string bad_id = "del-\xff\xfe";
  auto r = ingestd.post_github(body, bad_id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(r->body, R"({"error":"event id is not valid UTF-8"})");

  // A marker after it, answered 200 only once Kafka confirmed it (INGEST_ACK=durable), so the
  // end offsets read below include anything the refused request could have produced.
  auto marker = ingestd.post_github(body, "after-the-bad-id");
  ASSERT_TRUE(marker);
  ASSERT_EQ(marker->status, 200) << marker->body;

  // read_topic reads every partition up to its end offset, or fails the test.
  const auto records = read_topic(ingestd.topic("github"), 1);
  std::vector<std::string> ids;
  for (const auto& rec : records) ids.push_back(headers_of(rec)["event-id"]);
  EXPECT_EQ(ids, std::vector<std::string>{"after-the-bad-id"});
  for (const auto& id : ids) {
    EXPECT_EQ(id.find("del-"), std::string::npos) << "the refused delivery reached Kafka";
  }

  // Counted like any other 400; its bytes never reach the log unescaped.
  auto metrics = http_request(ingestd.port(), "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("ingest_requests_total{source=\"github\",status=\"400\"} 1"),
            std::string::npos)
      << metrics->body;
  EXPECT_EQ(ingestd.log().find("\xff"), std::string::npos);
}

TEST(IngestdSystem, GithubFormEncodedDelivery) {
  IngestdProcess ingestd;
  std::string body = "payload=%7B%22zen%22%3A%22hi%22%2C%22hook_id%22%3A1%7D";
  auto r = ingestd.post("github",
                        {"Content-Type: application/x-www-form-urlencoded", "X-GitHub-Event: ping",
                         "X-GitHub-Delivery: d-form", "X-Hub-Signature-256: " + github_signature(body)},
                        body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  auto records = read_topic(ingestd.topic("github"), 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, body);
  EXPECT_EQ(records[0].key, "d-form") << "no repository: the key is the event id";
  EXPECT_EQ(headers_of(records[0])["event-type"], "ping");
}

TEST(IngestdSystem, DropboxNotificationAndChallenge) {
  IngestdProcess ingestd;
  const std::string body = R"({"list_folder":{"accounts":["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]},"delta":{"users":[12345]}})";
  auto r = ingestd.post("dropbox",
                        {"Content-Type: application/json",
                         "X-Dropbox-Signature: " + hex_hmac(kDropboxSecret, body)},
                        body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  const std::string expected_id = codec::hex_encode(crypto::sha256(body));
  EXPECT_EQ(r->body, "{\"event_id\":\"" + expected_id + "\"}");
  auto records = read_topic(ingestd.topic("dropbox"), 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, body);
  EXPECT_FALSE(records[0].key.has_value());
  EXPECT_EQ(headers_of(records[0])["event-type"], "notification");
  EXPECT_EQ(headers_of(records[0])["event-id"], expected_id);

  auto challenge = http_request(ingestd.port(), "GET", "/webhooks/dropbox?challenge=abc123XYZ");
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->status, 200);
  EXPECT_EQ(challenge->body, "abc123XYZ");
  EXPECT_EQ(challenge->header("content-type"), "text/plain");
  EXPECT_EQ(challenge->header("x-content-type-options"), "nosniff");
  auto missing = http_request(ingestd.port(), "GET", "/webhooks/dropbox");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(record_count(ingestd.topic("dropbox")), 1) << "challenges publish nothing";
}

TEST(IngestdSystem, ChargifyFormWithPercentEncodedBrackets) {
  IngestdProcess ingestd;
  const std::string body =
      "id=987654&event=signup_success&payload%5Bsubscription%5D%5Bid%5D=4242"
      "&payload[subscription][customer][email]=ann%40example.com";
  auto r = ingestd.post("chargify",
                        {"Content-Type: application/x-www-form-urlencoded",
                         "X-Chargify-Webhook-Signature-Hmac-Sha-256: " + hex_hmac(kChargifySecret, body),
                         "X-Chargify-Webhook-Id: 987654"},
                        body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, R"({"event_id":"987654"})");
  auto records = read_topic(ingestd.topic("chargify"), 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, body);
  EXPECT_EQ(records[0].key, "4242");
  auto h = headers_of(records[0]);
  EXPECT_EQ(h["event-type"], "signup_success");
  EXPECT_EQ(h["http-x-chargify-webhook-id"], "987654");
}

struct BadCase {
  std::string name;
  int status;
  std::string raw;  // exact bytes
  bool closes = false;  // answered before the whole request was read: connection closed
};

TEST(IngestdSystem, BadRequestsGetTheirStatusAndLeaveNoTrace) {
  IngestdProcess ingestd({{"INGEST_MAX_BODY_BYTES", "65536"}, {"INGEST_HEADER_TIMEOUT_MS", "1000"}});
  const std::string json = R"({"repository":{"full_name":"o/r"}})";
  auto gh = [&](const std::vector<std::string>& extra, const std::string& body,
                const std::string& target = "/webhooks/github", const std::string& method = "POST") {
    std::vector<std::string> headers = {"X-GitHub-Event: push", "X-GitHub-Delivery: bad"};
    headers.insert(headers.end(), extra.begin(), extra.end());
    return make_request(method, target, headers, body);
  };
  const std::string big(70000, 'x');
  std::string chunked_oversize =
      "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: application/json\r\nX-Hub-Signature-256: sha256=00\r\n\r\n";
  for (int i = 0; i < 20; ++i) chunked_oversize += "1000\r\n" + std::string(4096, 'y') + "\r\n";
  std::vector<BadCase> cases = {
      {"unsigned", 401, gh({"Content-Type: application/json"}, json)},
      {"wrong signature", 401,
       gh({"Content-Type: application/json", "X-Hub-Signature-256: " + github_signature(json + " ")}, json)},
      {"wrong secret", 401,
       gh({"Content-Type: application/json", "X-Hub-Signature-256: " + github_signature(json, "other-secret")},
          json)},
      {"oversize by content-length", 413,
       gh({"Content-Type: application/json", "X-Hub-Signature-256: " + github_signature(big)}, big),
       true},
      {"oversize chunked", 413, chunked_oversize, true},
      {"malformed json after a valid signature", 400,
       gh({"Content-Type: application/json", "X-Hub-Signature-256: " + github_signature("{nope")}, "{nope")},
      {"malformed form after a valid signature", 400,
       gh({"Content-Type: application/x-www-form-urlencoded",
           "X-Hub-Signature-256: " + github_signature("payload=%ZZ")},
          "payload=%ZZ")},
      {"wrong content type", 415,
       gh({"Content-Type: text/plain", "X-Hub-Signature-256: " + github_signature(json)}, json)},
      {"unknown source", 404, gh({"Content-Type: application/json"}, json, "/webhooks/nosuch"), true},
      {"wrong method", 405, gh({}, "", "/webhooks/github", "PUT")},
      {"1 MiB header line", 431,
       "POST /webhooks/github HTTP/1.1\r\nX-Junk: " + std::string(1 << 20, 'a') + "\r\n\r\n", true},
      {"malformed request line", 400, "BLAH\r\n\r\n", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    RawConnection conn(ingestd.port());
    conn.send(c.raw);
    auto r = conn.read_response();
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, c.status) << r->body;
    EXPECT_NE(r->body.find("\"error\""), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find(kGithubSecret), std::string::npos);
    if (c.status == 405) {
      EXPECT_EQ(r->header("allow"), "POST");
    }
    if (c.closes) {
      // Answered once, then closed: no second 413 for the rest of the body.
      EXPECT_TRUE(conn.closed_by_peer()) << "connection left open";
    } else {
      // A complete request was read: the connection stays usable.
      EXPECT_FALSE(conn.closed_by_peer(200ms)) << "connection closed after a complete request";
    }
  }
  // Slow drip: one header byte at a time never completes the head in time.
  {
    RawConnection conn(ingestd.port());
    std::string head = "POST /webhooks/github HTTP/1.1\r\nX-Slow: ";
    conn.send(head);
    auto start = std::chrono::steady_clock::now();
    std::optional<HttpResponse> r;
    for (int i = 0; i < 40 && !r; ++i) {
      conn.send("a");
      r = conn.read_response(100ms);
    }
    ASSERT_TRUE(r) << "slow-drip headers were never cut off";
    EXPECT_EQ(r->status, 408);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    EXPECT_TRUE(conn.closed_by_peer());
  }
  EXPECT_EQ(record_count(ingestd.topic("github")), 0) << "a rejected request reached Kafka";
  // And the server still serves.
  auto ok = ingestd.post_github(json, "after-the-storm");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(IngestdSystem, KeepAlivePipeliningExpectContinueAndClose) {
  IngestdProcess ingestd;
  const std::string body = R"({"repository":{"full_name":"o/r"}})";
  auto signed_request = [&](const std::string& id, std::vector<std::string> extra = {}) {
    std::vector<std::string> headers = {"Content-Type: application/json", "X-GitHub-Event: push",
                                        "X-GitHub-Delivery: " + id,
                                        "X-Hub-Signature-256: " + github_signature(body)};
    headers.insert(headers.end(), extra.begin(), extra.end());
    return make_request("POST", "/webhooks/github", headers, body);
  };
  {
    // Three pipelined requests in one write: three answers, in order, connection kept.
    RawConnection conn(ingestd.port());
    conn.send(signed_request("p1") + signed_request("p2") + signed_request("p3"));
    for (const char* id : {"p1", "p2", "p3"}) {
      auto r = conn.read_response();
      ASSERT_TRUE(r) << id;
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(r->body, std::string("{\"event_id\":\"") + id + "\"}");
      EXPECT_EQ(r->header("connection"), "keep-alive");
    }
    conn.send(signed_request("p4"));
    auto r = conn.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  {
    RawConnection conn(ingestd.port());
    conn.send(signed_request("c1", {"Connection: close"}));
    auto r = conn.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(conn.closed_by_peer());
  }
  {
    RawConnection conn(ingestd.port());
    std::string req = signed_request("h10");
    req.replace(req.find("HTTP/1.1"), 8, "HTTP/1.0");
    conn.send(req);
    auto r = conn.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(conn.closed_by_peer()) << "HTTP/1.0 without keep-alive must be closed";
  }
  {
    RawConnection conn(ingestd.port());
    std::string req = signed_request("e1", {"Expect: 100-continue"});
    auto split = req.find("\r\n\r\n") + 4;
    conn.send(req.substr(0, split));
    auto interim = conn.read_response(5s);
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    conn.send(req.substr(split));
    auto r = conn.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  auto records = read_topic(ingestd.topic("github"), 7);
  std::set<std::string> ids;
  for (const auto& rec : records) ids.insert(*kafka::find_header(rec.headers, "event-id"));
  EXPECT_EQ(ids, (std::set<std::string>{"p1", "p2", "p3", "p4", "c1", "h10", "e1"}));
}

TEST(IngestdSystem, Accepts25MiBBody) {
  IngestdProcess ingestd;
  std::string body = R"({"repository":{"full_name":"big/repo"},"blob":")";
  body += std::string(25 * 1024 * 1024 - body.size() - 2, 'b');
  body += "\"}";
  ASSERT_EQ(body.size(), 25u * 1024 * 1024);
  auto start = std::chrono::steady_clock::now();
  auto r = ingestd.post_github(body, "big-1");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  std::cout << "25 MiB body acknowledged in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  auto records = read_topic(ingestd.topic("github"), 1, 60s);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].value == body);
}

// A topic whose max.message.bytes (1 MiB here) is below ingestd's body limit (25 MiB): the
// broker refuses the record for good (MSG_SIZE_TOO_LARGE). The provider must hear 413, not a
// 503 to retry forever, and with a spool configured not a 200 for a record that could only
// ever be quarantined. A small event afterwards still goes through, and it is the only record.
TEST(IngestdSystem, ABodyTooLargeForItsTopicIs413AndNothingIsStored) {
  for (const bool spool : {false, true}) {
    SCOPED_TRACE(spool ? "with a spool" : "without a spool");
    TempDir spool_dir;
    std::map<std::string, std::string> env;
    if (spool) env["INGEST_SPOOL_DIR"] = spool_dir.path() + "/spool";
    IngestdProcess ingestd(env, /*create_topics_first=*/false);
    create_topics({ingestd.topic("github")}, 1, 1 << 20);

    // Random base64, so that lz4 cannot squeeze the 3 MiB under the topic's 1 MiB.
    std::mt19937_64 random(42);
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string body = R"({"repository":{"full_name":"big/repo"},"blob":")";
    while (body.size() < (3u << 20)) body += kAlphabet[random() % 64];
    body += "\"}";
    auto big = ingestd.post_github(body, "too-big-1");
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413) << big->body;
    EXPECT_EQ(big->body,
              R"j({"error":"event larger than its Kafka topic accepts (max.message.bytes)"})j");

    auto small = ingestd.post_github(R"({"repository":{"full_name":"small/repo"}})", "small-1");
    ASSERT_TRUE(small);
    EXPECT_EQ(small->status, 200) << small->body;
    auto records = read_topic(ingestd.topic("github"), 1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(headers_of(records[0])["event-id"], "small-1");
    EXPECT_EQ(record_count(ingestd.topic("github")), 1);
    if (spool) {
      EXPECT_FALSE(std::filesystem::exists(spool_dir.path() + "/spool/rejected"))
          << "nothing may have gone through the spool";
    }
  }
}

TEST(IngestdSystem, SigtermUnderLoadLosesNoAcknowledgedRequest) {
  IngestdProcess ingestd;
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        std::string id = "load-" + std::to_string(t) + "-" + std::to_string(i);
        std::string body = R"({"repository":{"full_name":"load/)" + std::to_string(t) + "\"}}";
        try {
          auto r = ingestd.post_github(body, id);
          ++sent;
          if (r && r->status == 200) {
            std::lock_guard lock(mu);
            acknowledged.insert(id);
          }
        } catch (const std::exception&) {
          return;  // the server stopped accepting connections
        }
      }
    });
  }
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (sent < 200 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  auto term_at = std::chrono::steady_clock::now();
  ingestd.process().signal(SIGTERM);
  int code = ingestd.process().wait(15s);
  auto took = std::chrono::steady_clock::now() - term_at;
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(code, 0) << ingestd.log();
  EXPECT_LT(took, 10s);
  ASSERT_GT(acknowledged.size(), 100u);
  auto records = read_topic(ingestd.topic("github"), acknowledged.size(), 60s);
  std::set<std::string> in_kafka;
  for (const auto& rec : records) in_kafka.insert(*kafka::find_header(rec.headers, "event-id"));
  for (const auto& id : acknowledged) EXPECT_TRUE(in_kafka.count(id)) << id << " acknowledged but lost";
  EXPECT_NE(ingestd.log().find("drained in"), std::string::npos) << ingestd.log();
}

TEST(IngestdSystem, StoppedBrokerGets503AndAcknowledgesNothing) {
  // A private broker, so stopping it does not disturb the other tests.
  LocalBroker broker;
  const std::string prefix = unique_name("outage") + ".";
  {
    kafka::ClientOptions client;
    client.brokers = broker.bootstrap();
    auto admin = kafka::RdKafkaAdmin::create(client);
    ASSERT_TRUE(admin.ok());
    ASSERT_TRUE((*admin)->create_topics({{prefix + "github", 1, 1, {}}}, 30s).ok());
  }
  IngestdProcess ingestd({{"KAFKA_BROKERS", broker.bootstrap()},
                          {"TOPIC_PREFIX", prefix},
                          {"INGEST_PUBLISH_TIMEOUT_MS", "2000"}},
                         /*create_topics_first=*/false);
  const std::string body = R"({"repository":{"full_name":"o/r"}})";
  auto before = ingestd.post_github(body, "up-1");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200) << before->body;

  broker.stop();
  for (int i = 0; i < 3; ++i) {
    auto r = ingestd.post_github(body, "down-" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_FALSE(r->header("retry-after").empty());
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::optional<HttpResponse> ready;
  do {
    ready = http_request(ingestd.port(), "GET", "/readyz");
  } while (ready && ready->status != 503 && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);

  broker.start();
  deadline = std::chrono::steady_clock::now() + 30s;
  std::optional<HttpResponse> after;
  do {
    after = ingestd.post_github(body, "up-2");
  } while (after && after->status != 200 && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  // Only what was acknowledged is there: no 503'd event surfaced after the broker returned.
  kafka::ConsumerOptions options;
  options.client.brokers = broker.bootstrap();
  auto consumer = kafka::RdKafkaConsumer::create(options);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)->assign({{prefix + "github", 0, kafka::Consumer::kOffsetBeginning}}).ok());
  std::set<std::string> ids;
  auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until && !ids.count("up-2")) {
    auto r = (*consumer)->poll(200ms);
    if (r && *r) ids.insert(*kafka::find_header((**r).headers, "event-id"));
  }
  std::set<std::string> acknowledged = {"up-1", "up-2"};
  for (const auto& id : ids) EXPECT_TRUE(acknowledged.count(id)) << id << " was answered 503";
  EXPECT_TRUE(ids.count("up-1"));
  EXPECT_TRUE(ids.count("up-2"));
  (*consumer)->close();
}

TEST(IngestdSystem, UnreachableKafkaGets503AndAcknowledgesNothing) {
  // A broker address where nothing listens: the producer cannot confirm anything.
  IngestdProcess ingestd({{"KAFKA_BROKERS", "127.0.0.1:" + std::to_string(free_port())},
                          {"INGEST_PUBLISH_TIMEOUT_MS", "1000"}},
                         /*create_topics_first=*/false);
  auto ready = http_request(ingestd.port(), "GET", "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  auto start = std::chrono::steady_clock::now();
  auto r = ingestd.post_github(R"({"repository":{"full_name":"o/r"}})", "nope-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_FALSE(r->header("retry-after").empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(IngestdSystem, MetricsCountRequestsAndSignatureFailures) {
  IngestdProcess ingestd;
  const std::string body = R"({"repository":{"full_name":"o/r"}})";
  ASSERT_EQ(ingestd.post_github(body, "m1")->status, 200);
  ASSERT_EQ(ingestd.post("github", {"Content-Type: application/json"}, body)->status, 401);
  auto m = http_request(ingestd.port(), "GET", "/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("ingest_requests_total{source=\"github\",status=\"200\"} 1"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("ingest_requests_total{source=\"github\",status=\"401\"} 1"), std::string::npos);
  EXPECT_NE(m->body.find("ingest_signature_failures_total{source=\"github\"} 1"), std::string::npos);
  EXPECT_NE(m->body.find("ingest_publish_seconds_count 1"), std::string::npos);
  EXPECT_NE(m->body.find("ingest_in_flight 0"), std::string::npos);
  EXPECT_NE(m->body.find("ingest_body_bytes_count 1"), std::string::npos);
  auto log = ingestd.log();
  EXPECT_NE(log.find("rejected source=github status=401"), std::string::npos) << log;
  EXPECT_EQ(log.find(kGithubSecret), std::string::npos) << "secret in the log";
  EXPECT_EQ(log.find(github_signature(body)), std::string::npos) << "signature in the log";
}

TEST(IngestdSystem, YamlConfiguredSourcesWithRotationAndRateLimit) {
  // A Shopify-style generic HMAC source (base64, no timestamp) with two secrets, and a
  // Standard Webhooks source; the environment still provides the built-ins.
  const std::string config_path = IngestdProcess::scratch().path() + "/sources.yaml";
  {
    std::ofstream out(config_path);
    out << "sources:\n"
           "  shop:\n"
           "    kind: hmac\n"
           "    header: X-Shopify-Hmac-Sha256\n"
           "    encoding: base64\n"
           "    secret_env: [SHOP_SECRET_NEW, SHOP_SECRET_OLD]\n"
           "    id: {header: X-Shopify-Webhook-Id}\n"
           "    type: {header: X-Shopify-Topic}\n"
           "    key: {json_pointer: /customer/id}\n"
           "    forward_headers: [X-Shopify-Shop-Domain]\n"
           "    rate_limit: {per_second: 0.001, burst: 2}\n";
  }
  IngestdProcess ingestd({{"INGEST_CONFIG", config_path},
                          {"SHOP_SECRET_NEW", "new-shop-secret"},
                          {"SHOP_SECRET_OLD", "old-shop-secret"}},
                         true, {"shop"});
  const std::string body = R"({"customer":{"id":77},"total":"9.99"})";
  auto post = [&](const std::string& secret, const std::string& id) {
    return ingestd.post("shop",
                        {"Content-Type: application/json", "X-Shopify-Topic: orders/create",
                         "X-Shopify-Webhook-Id: " + id, "X-Shopify-Shop-Domain: s.example",
                         "X-Shopify-Hmac-Sha256: " +
                             codec::base64_encode(crypto::hmac_sha256(secret, body))},
                        body);
  };
  EXPECT_EQ(post("old-shop-secret", "s1")->status, 200) << "the rotated-out secret still verifies";
  EXPECT_EQ(post("wrong-shop-secret", "s2")->status, 401);
  EXPECT_EQ(post("new-shop-secret", "s3")->status, 200);
  auto limited = post("new-shop-secret", "s4");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429) << "burst of 2 is used up";
  EXPECT_FALSE(limited->header("retry-after").empty());
  auto records = read_topic(ingestd.topic("shop"), 2);
  ASSERT_EQ(records.size(), 2u);
  auto h = headers_of(records[0]);
  EXPECT_EQ(records[0].key, "77");
  EXPECT_EQ(h["event-id"], "s1");
  EXPECT_EQ(h["event-type"], "orders/create");
  EXPECT_EQ(h["source"], "shop");
  EXPECT_EQ(h["http-x-shopify-shop-domain"], "s.example");
}

TEST(IngestdSystem, ServesHttpsWhenConfigured) {
  const auto& dir = IngestdProcess::scratch().path();
  auto gen = run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                          "-keyout", dir + "/tls.key", "-out", dir + "/tls.crt", "-days", "1",
                          "-subj", "/CN=127.0.0.1"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  IngestdProcess ingestd({{"INGEST_TLS_CERT", dir + "/tls.crt"}, {"INGEST_TLS_KEY", dir + "/tls.key"}},
                         true, {}, /*tls=*/true);
  const std::string body = R"({"repository":{"full_name":"tls/repo"}})";
  auto res = run_process({"/usr/bin/curl", "-sS", "--cacert", dir + "/tls.crt", "-o", "-", "-w",
                          "\n%{http_code}", "https://127.0.0.1:" + std::to_string(ingestd.port()) +
                                                 "/webhooks/github",
                          "-H", "Content-Type: application/json", "-H", "X-GitHub-Event: push",
                          "-H", "X-GitHub-Delivery: tls-1", "-H",
                          "X-Hub-Signature-256: " + github_signature(body), "--data-binary", body});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_EQ(res.out, "{\"event_id\":\"tls-1\"}\n200");
  auto records = read_topic(ingestd.topic("github"), 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, body);
  // Plain HTTP on the TLS port is not served.
  auto plain = run_process({"/usr/bin/curl", "-sS", "-m", "5",
                            "http://127.0.0.1:" + std::to_string(ingestd.port()) + "/healthz"});
  EXPECT_NE(plain.exit_code, 0);
}

}  // namespace
}  // namespace wi::testing
