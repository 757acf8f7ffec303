// IngestService (SPEC §3, §4) driven the way the HTTP server drives it: a raw request is framed
// by RequestParser, its head goes to on_head(), its body (if the head was not rejected) to
// handle(). The sink, the readiness probe and the clock are fakes the test controls; metrics
// come from a real Registry and are read back from its exposition text.

#include "ingest/ingest_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/codec.h"
#include "common/config.h"
#include "common/crypto.h"
#include "common/http/request_parser.h"
#include "common/http/response.h"
#include "ingest/ingest_config.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_sink.h"

namespace wi::ingest {
namespace {

using fakes::FakeClock;
using fakes::FakeSink;
using HeaderList = std::vector<std::pair<std::string, std::string>>;
using Vars = std::map<std::string, std::string>;

constexpr const char* kGithubSecret = "gh-secret-0123456789";
constexpr const char* kDropboxSecret = "dbx-secret-0123456789";
constexpr const char* kChargifySecret = "chargify-key-0123456789";
constexpr const char* kShopSecret = "shop-secret-0123456789";
constexpr const char* kInvalidSignatureBody = "{\"error\":\"invalid signature\"}";
constexpr std::uint64_t kDefaultLimit = 26214400;  // SPEC §2: INGEST_MAX_BODY_BYTES default

// `shop` is a generic HMAC source with its own body limit and a rate limit of one request
// per two seconds, two in a burst.
constexpr const char* kYaml = R"(
sources:
  shop:
    kind: hmac
    header: X-Shop-Hmac-Sha256
    secret_env: [SHOP_SECRET]
    max_body_bytes: 2048
    rate_limit:
      per_second: 0.5
      burst: 2
)";

Vars default_env() {
  return {{"GITHUB_WEBHOOK_SECRET", kGithubSecret},
          {"DROPBOX_APP_SECRET", kDropboxSecret},
          {"CHARGIFY_SHARED_KEY", kChargifySecret},
          {"SHOP_SECRET", kShopSecret}};
}

class FakeReadiness final : public Readiness {
 public:
  bool ready() const override { return ready_; }
  void set(bool ready) { ready_ = ready; }

 private:
  std::atomic<bool> ready_{true};
};

std::string hex_hmac(std::string_view key, std::string_view data) {
  return codec::hex_encode(crypto::hmac_sha256(key, data));
}

// A request as bytes on the wire. Content-Length is added for POST (and whenever there is a
// body) unless the headers carry Transfer-Encoding.
std::string raw_request(std::string_view method, std::string_view target,
                        const HeaderList& headers = {}, std::string_view body = "") {
  std::string raw = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  raw += "Host: ingest.example\r\n";
  bool chunked = false;
  bool has_length = false;
  for (const auto& [name, value] : headers) {
    raw += name + ": " + value + "\r\n";
    chunked = chunked || http::iequals(name, "Transfer-Encoding");
    has_length = has_length || http::iequals(name, "Content-Length");
  }
  if (!chunked && !has_length && (method == "POST" || !body.empty())) {
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "\r\n";
  raw += body;
  return raw;
}

const std::string kGithubBody =
    "{\"ref\":\"refs/heads/main\",\"repository\":{\"full_name\":\"acme/site\"},"
    "\"note\":\"caf\xc3\xa9 \\u00e9\"}\n";
const std::string kDelivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

HeaderList github_headers(const std::string& body, const std::string& secret = kGithubSecret) {
  return {{"Content-Type", "application/json"},
          {"X-GitHub-Delivery", kDelivery},
          {"X-GitHub-Event", "push"},
          {"X-GitHub-Hook-ID", "292430182"},
          {"User-Agent", "GitHub-Hookshot/044aadd"},
          {"X-Not-Forwarded", "private"},
          {"X-Hub-Signature-256", "sha256=" + hex_hmac(secret, body)}};
}

std::string github_post(const std::string& body = kGithubBody) {
  return raw_request("POST", "/webhooks/github", github_headers(body), body);
}

HeaderList without(HeaderList headers, std::string_view name) {
  std::erase_if(headers, [&](const auto& h) { return http::iequals(h.first, name); });
  return headers;
}

HeaderList with(HeaderList headers, const std::string& name, const std::string& value) {
  headers = without(std::move(headers), name);
  headers.emplace_back(name, value);
  return headers;
}

const std::string kDropboxBody =
    "{\"list_folder\":{\"accounts\":[\"dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc\"]},"
    "\"delta\":{\"users\":[12345]}}";

std::string dropbox_post(const std::string& body = kDropboxBody) {
  return raw_request("POST", "/webhooks/dropbox",
                     {{"Content-Type", "application/json"},
                      {"X-Dropbox-Signature", hex_hmac(kDropboxSecret, body)}},
                     body);
}

std::string shop_post(const std::string& body) {
  return raw_request(
      "POST", "/webhooks/shop",
      {{"Content-Type", "application/json"}, {"X-Shop-Hmac-Sha256", hex_hmac(kShopSecret, body)}},
      body);
}

std::optional<std::string> header_of(const http::Response& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (http::iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::optional<std::string> record_header(const kafka::OutgoingRecord& r, std::string_view name) {
  if (const std::string* v = kafka::find_header(r.headers, name)) return *v;
  return std::nullopt;
}

// Every response the service gave for one request (exactly one is correct).
struct Answers {
  std::vector<http::Response> responses;
  bool answered() const { return !responses.empty(); }
  // The one response; a failure (and a placeholder 0 status) when there is not exactly one.
  http::Response only() const {
    if (responses.size() != 1) {
      ADD_FAILURE() << "expected exactly one response, got " << responses.size();
      return responses.empty() ? http::Response{0, {}, "", false} : responses.back();
    }
    return responses.front();
  }
};

struct Options {
  std::string yaml = kYaml;
  Vars env = default_env();
};

// One service with its fakes, in the order they must be built and torn down.
class Harness {
 public:
  explicit Harness(Options options = {}) {
    auto loader = config::Loader::from_yaml_text(options.yaml, config::Environment(options.env));
    config_ = load_ingest_config(loader);
    loader.finish();
    service_ = std::make_unique<IngestService>(config_, sink, readiness, registry, clock);
  }

  IngestService& service() { return *service_; }

  // What the server does with one request's bytes; the request is stamped `received_at`
  // (default: the clock's now).
  std::shared_ptr<Answers> send(std::string_view raw,
                                std::optional<SystemTime> received_at = std::nullopt) {
    auto answers = std::make_shared<Answers>();
    http::RequestParser parser;
    std::size_t used = parser.feed(raw);
    if (parser.state() != http::RequestParser::State::kHeadReady) {
      ADD_FAILURE() << "the test request's head did not parse";
      return answers;
    }
    auto decision = service_->on_head(parser.head());
    if (decision.reject) {
      answers->responses.push_back(std::move(*decision.reject));
      return answers;
    }
    parser.accept_body(decision.max_body_bytes);
    if (parser.state() == http::RequestParser::State::kBody) parser.feed(raw.substr(used));
    if (parser.state() == http::RequestParser::State::kFailed) {
      service_->on_rejected(&parser.head(), http::status_of(parser.error()),
                            http::describe(parser.error()));
      answers->responses.push_back(http::parse_error_response(parser.error()));
      return answers;
    }
    if (parser.state() != http::RequestParser::State::kComplete) {
      ADD_FAILURE() << "the test request's body is incomplete";
      return answers;
    }
    http::Request request{parser.head(), parser.take_body(), received_at.value_or(clock.now()),
                          "192.0.2.10:40000"};
    service_->handle(std::move(request),
                     [answers](http::Response r) { answers->responses.push_back(std::move(r)); });
    return answers;
  }

  // The value of one series in /metrics' exposition text; nullopt when it is absent.
  std::optional<double> series(const std::string& name) const {
    std::istringstream in(registry.render());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
    }
    return std::nullopt;
  }
  double requests(const std::string& source, int status) const {
    return series("ingest_requests_total{source=\"" + source + "\",status=\"" +
                  std::to_string(status) + "\"}")
        .value_or(0);
  }
  double signature_failures(const std::string& source) const {
    return series("ingest_signature_failures_total{source=\"" + source + "\"}").value_or(0);
  }

  FakeClock clock;
  FakeSink sink;
  FakeReadiness readiness;
  metrics::Registry registry;

 private:
  IngestConfig config_;
  std::unique_ptr<IngestService> service_;
};

Options enqueued() {
  Options o;
  o.env["INGEST_ACK"] = "enqueued";
  return o;
}

// ---- route ------------------------------------------------------------------------------------

TEST(IngestServiceRouteTest, UnknownSourceIs404LabelledUnknownNeverByItsName) {
  Harness h;
  const std::string invented = "zz-invented-source-4711";
  auto a = h.send(
      raw_request("POST", "/webhooks/" + invented, {{"Content-Type", "application/json"}}, "{}"));
  auto r = a->only();
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
  EXPECT_EQ(h.requests("unknown", 404), 1);
  EXPECT_EQ(h.registry.render().find(invented), std::string::npos)
      << "an attacker-chosen path segment became a metric label";
  EXPECT_EQ(h.sink.record_count(), 0u);
}

TEST(IngestServiceRouteTest, UnknownPathIs404AndDoesNotBecomeALabel) {
  Harness h;
  auto r = h.send(raw_request("GET", "/zz-no-such-path"))->only();
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(h.registry.render().find("zz-no-such-path"), std::string::npos);
  // Near misses of a real route are not routes.
  for (const char* target : {"/webhooks/github/", "/webhooks/GitHub", "/webhooks/", "/webhooks"}) {
    auto rr = h.send(raw_request("POST", target, {}, "{}"))->only();
    EXPECT_EQ(rr.status, 404) << target;
  }
  EXPECT_EQ(h.sink.record_count(), 0u);
}

TEST(IngestServiceRouteTest, BuiltInWithoutItsSecretIs404) {
  Options o;
  o.env.erase("CHARGIFY_SHARED_KEY");
  Harness h(o);
  auto body = std::string("id=1&event=signup_success");
  auto r =
      h.send(raw_request(
                 "POST", "/webhooks/chargify",
                 {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"X-Chargify-Webhook-Signature-Hmac-Sha-256", hex_hmac(kChargifySecret, body)}},
                 body))
          ->only();
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(h.sink.record_count(), 0u);
}

// ---- method -----------------------------------------------------------------------------------

TEST(IngestServiceMethodTest, WebhookAllowsPostOnly) {
  Harness h;
  for (const char* method : {"GET", "PUT", "DELETE", "HEAD", "PATCH"}) {
    auto r = h.send(raw_request(method, "/webhooks/github"))->only();
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(header_of(r, "Allow"), "POST") << method;
    EXPECT_NE(r.body.find("\"error\""), std::string::npos);
  }
  EXPECT_EQ(h.requests("github", 405), 5);
}

TEST(IngestServiceMethodTest, DropboxAllowsGetForTheChallengeAndPost) {
  Harness h;
  for (const char* method : {"PUT", "DELETE", "HEAD"}) {
    auto r = h.send(raw_request(method, "/webhooks/dropbox"))->only();
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(header_of(r, "Allow"), "GET, POST") << method;
  }
}

TEST(IngestServiceMethodTest, OperationalEndpointsAllowGetAndHead) {
  Harness h;
  for (const char* path : {"/healthz", "/readyz", "/metrics"}) {
    auto r = h.send(raw_request("POST", path, {}, "x"))->only();
    EXPECT_EQ(r.status, 405) << path;
    EXPECT_EQ(header_of(r, "Allow"), "GET, HEAD") << path;
    EXPECT_EQ(h.send(raw_request("GET", path))->only().status, 200) << path;
    EXPECT_EQ(h.send(raw_request("HEAD", path))->only().status, 200) << path;
  }
}

// ---- size -------------------------------------------------------------------------------------

TEST(IngestServiceSizeTest, ContentLengthOverTheLimitIs413AtTheHead) {
  Harness h;
  // Only the head is fed: the answer must not need the body.
  http::RequestParser parser;
  parser.feed(raw_request(
      "POST", "/webhooks/github",
      with(github_headers(kGithubBody), "Content-Length", std::to_string(kDefaultLimit + 1))));
  ASSERT_EQ(parser.state(), http::RequestParser::State::kHeadReady);
  auto decision = h.service().on_head(parser.head());
  ASSERT_TRUE(decision.reject.has_value());
  EXPECT_EQ(decision.reject->status, 413);
  // The same body as the chunked case below: one limit, one message.
  EXPECT_EQ(decision.reject->body, R"({"error":"request body too large"})");
  EXPECT_EQ(header_of(*decision.reject, "Content-Type"), "application/json");
  EXPECT_EQ(h.requests("github", 413), 1);

  // Exactly at the limit is allowed, and the limit is what the server may read.
  http::RequestParser at_limit;
  at_limit.feed(raw_request(
      "POST", "/webhooks/github",
      with(github_headers(kGithubBody), "Content-Length", std::to_string(kDefaultLimit))));
  ASSERT_EQ(at_limit.state(), http::RequestParser::State::kHeadReady);
  auto ok = h.service().on_head(at_limit.head());
  EXPECT_FALSE(ok.reject.has_value());
  EXPECT_EQ(ok.max_body_bytes, kDefaultLimit);
  EXPECT_EQ(h.sink.record_count(), 0u);
}

TEST(IngestServiceSizeTest, PerSourceLimitApplies) {
  Harness h;
  auto over = h.send(shop_post(std::string(2049, 'x')))->only();
  EXPECT_EQ(over.status, 413);
  h.sink.succeed_inline(true);
  auto at = h.send(shop_post(std::string(2048, 'x')))->only();
  EXPECT_EQ(at.status, 200) << at.body;
}

TEST(IngestServiceSizeTest, ChunkedBodyOverTheLimitIs413CountedForTheSource) {
  Harness h;
  std::string body(2049, 'x');
  std::string chunked = "801\r\n" + body + "\r\n0\r\n\r\n";  // 0x801 = 2049
  auto r = h.send(raw_request("POST", "/webhooks/shop",
                              {{"Transfer-Encoding", "chunked"},
                               {"X-Shop-Hmac-Sha256", hex_hmac(kShopSecret, body)}},
                              chunked))
               ->only();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, R"({"error":"request body too large"})");
  EXPECT_EQ(h.requests("shop", 413), 1);
  EXPECT_EQ(h.sink.record_count(), 0u);
}

TEST(IngestServiceSizeTest, ServerSideRejectionsAreLabelledWithoutInventedNames) {
  Harness h;
  http::RequestParser parser;
  parser.feed(raw_request("POST", "/webhooks/zz-made-up", {}, "{}"));
  h.service().on_rejected(&parser.head(), 408, "timeout");
  h.service().on_rejected(nullptr, 400, "malformed");
  EXPECT_EQ(h.requests("unknown", 408), 1);
  EXPECT_EQ(h.requests("-", 400), 1);
  EXPECT_EQ(h.registry.render().find("zz-made-up"), std::string::npos);
}

// ---- signature --------------------------------------------------------------------------------

TEST(IngestServiceSignatureTest, UnsignedIs401WithTheFixedBody) {
  Harness h;
  auto r =
      h.send(raw_request("POST", "/webhooks/github",
                         without(github_headers(kGithubBody), "X-Hub-Signature-256"), kGithubBody))
          ->only();
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, kInvalidSignatureBody);
  EXPECT_EQ(header_of(r, "Content-Type"), "application/json");
  EXPECT_EQ(h.signature_failures("github"), 1);
  EXPECT_EQ(h.requests("github", 401), 1);
  EXPECT_EQ(h.sink.record_count(), 0u);
}

TEST(IngestServiceSignatureTest, WrongSignatureIs401WithTheSameBodyForEveryCause) {
  Harness h;
  const std::string expected = "sha256=" + hex_hmac(kGithubSecret, kGithubBody);
  std::vector<HeaderList> bad = {
      github_headers(kGithubBody, "not-the-secret-at-all"),
      with(github_headers(kGithubBody), "X-Hub-Signature-256", "sha256=zz"),
      with(github_headers(kGithubBody), "X-Hub-Signature-256", "sha256="),
      // Signed over a different body.
      github_headers(kGithubBody + " "),
  };
  for (const auto& headers : bad) {
    auto r = h.send(raw_request("POST", "/webhooks/github", headers, kGithubBody))->only();
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, kInvalidSignatureBody);
    EXPECT_EQ(r.body.find(expected.substr(7)), std::string::npos);
  }
  EXPECT_EQ(h.signature_failures("github"), 4);
  EXPECT_EQ(h.signature_failures("dropbox"), 0);
  EXPECT_EQ(h.sink.record_count(), 0u);
}

// ---- parse ------------------------------------------------------------------------------------

TEST(IngestServiceParseTest, UnsupportedContentTypeAfterAValidSignatureIs415) {
  Harness h;
  auto r = h.send(raw_request("POST", "/webhooks/github",
                              with(github_headers(kGithubBody), "Content-Type", "text/plain"),
                              kGithubBody))
               ->only();
  EXPECT_EQ(r.status, 415);
  EXPECT_NE(r.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(h.signature_failures("github"), 0);
  EXPECT_EQ(h.sink.record_count(), 0u);
}

TEST(IngestServiceParseTest, VerifiedBodyThatDoesNotParseIs400) {
  Harness h;
  const std::string broken = "{\"ref\": ";
  auto r = h.send(github_post(broken))->only();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.rfind("{\"error\":", 0), 0u) << r.body;
  EXPECT_EQ(h.requests("github", 400), 1);

  // A required field missing is a parse failure too.
  auto no_id =
      h.send(raw_request("POST", "/webhooks/github",
                         without(github_headers(kGithubBody), "X-GitHub-Delivery"), kGithubBody))
          ->only();
  EXPECT_EQ(no_id.status, 400);
  EXPECT_EQ(h.signature_failures("github"), 0);
  EXPECT_EQ(h.sink.record_count(), 0u);
}

// ---- check order ------------------------------------------------------------------------------

TEST(IngestServiceOrderTest, SignatureIsCheckedBeforeTheContentType) {
  Harness h;
  auto r = h.send(raw_request("POST", "/webhooks/github",
                              with(without(github_headers(kGithubBody), "X-Hub-Signature-256"),
                                   "Content-Type", "text/plain"),
                              kGithubBody))
               ->only();
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, kInvalidSignatureBody);
}

TEST(IngestServiceOrderTest, SignatureIsCheckedBeforeTheBodyParses) {
  Harness h;
  auto r = h.send(raw_request("POST", "/webhooks/github",
                              github_headers("{\"ref\": ", "wrong-secret-000"), "{\"ref\": "))
               ->only();
  EXPECT_EQ(r.status, 401);
}

TEST(IngestServiceOrderTest, SizeIsCheckedBeforeTheSignature) {
  Harness h;
  auto r = h.send(raw_request("POST", "/webhooks/github",
                              {{"Content-Type", "application/json"},
                               {"Content-Length", std::to_string(kDefaultLimit + 1)}}))
               ->only();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(h.signature_failures("github"), 0);
}

TEST(IngestServiceOrderTest, MethodIsCheckedBeforeTheSizeAndRouteBeforeTheMethod) {
  Harness h;
  auto huge = HeaderList{{"Content-Length", std::to_string(kDefaultLimit + 1)}};
  EXPECT_EQ(h.send(raw_request("PUT", "/webhooks/github", huge))->only().status, 405);
  EXPECT_EQ(h.send(raw_request("PUT", "/webhooks/nope", huge))->only().status, 404);
}

TEST(IngestServiceOrderTest, UnverifiedRequestsDoNotSpendTheRateLimit) {
  Harness h;
  h.sink.succeed_inline(true);
  const std::string body = "{\"n\":1}";
  for (int i = 0; i < 5; ++i) {
    auto r =
        h.send(raw_request("POST", "/webhooks/shop",
                           {{"X-Shop-Hmac-Sha256", hex_hmac("forged-secret-123", body)}}, body))
            ->only();
    EXPECT_EQ(r.status, 401);
  }
  EXPECT_EQ(h.send(shop_post(body))->only().status, 200);
  EXPECT_EQ(h.send(shop_post(body))->only().status, 200);
}

// ---- rate limit -------------------------------------------------------------------------------

TEST(IngestServiceRateLimitTest, EmptyBucketIs429WithRetryAfterUntilItRefills) {
  Harness h;
  h.sink.succeed_inline(true);
  const std::string body = "{\"n\":1}";
  EXPECT_EQ(h.send(shop_post(body))->only().status, 200);
  EXPECT_EQ(h.send(shop_post(body))->only().status, 200);

  auto limited = h.send(shop_post(body))->only();
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header_of(limited, "Retry-After"), "2");  // 0.5 tokens per second
  EXPECT_NE(limited.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(h.requests("shop", 429), 1);
  EXPECT_EQ(h.sink.record_count(), 2u);

  h.clock.advance(std::chrono::seconds(1));
  auto still = h.send(shop_post(body))->only();
  EXPECT_EQ(still.status, 429);
  EXPECT_EQ(header_of(still, "Retry-After"), "1");

  h.clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(h.send(shop_post(body))->only().status, 200);
  EXPECT_EQ(h.sink.record_count(), 3u);

  // Sources without a limit are not limited.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(h.send(dropbox_post())->only().status, 200);
}

// ---- acknowledgement --------------------------------------------------------------------------

TEST(IngestServiceAckTest, DurableAnswersOnlyAfterTheSinkConfirms) {
  Harness h;
  auto a = h.send(github_post());
  EXPECT_FALSE(a->answered());
  EXPECT_EQ(h.sink.pending(), 1u);
  EXPECT_EQ(h.service().in_flight(), 1);

  h.sink.complete_next(Status());
  auto r = a->only();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"event_id\":\"" + kDelivery + "\"}");
  EXPECT_EQ(header_of(r, "Content-Type"), "application/json");
  EXPECT_EQ(record_header(h.sink.records().at(0), "event-id"), kDelivery);
  EXPECT_EQ(h.service().in_flight(), 0);
  EXPECT_EQ(h.requests("github", 200), 1);
}

TEST(IngestServiceAckTest, SinkErrorIs503WithRetryAfter) {
  Harness h;
  auto a = h.send(github_post());
  h.sink.complete_next(Error::unavailable("broker down: secret-ish detail"));
  auto r = a->only();
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(header_of(r, "Retry-After").has_value());
  EXPECT_EQ(r.body.rfind("{\"error\":", 0), 0u) << r.body;
  EXPECT_EQ(r.body.find("secret-ish"), std::string::npos);
  EXPECT_EQ(h.service().in_flight(), 0);
  EXPECT_EQ(h.requests("github", 503), 1);
}

// MSG_SIZE_TOO_LARGE: the topic's max.message.bytes is below the body limit. Retrying cannot
// help, so the answer is 413, not 503 with Retry-After.
TEST(IngestServiceAckTest, ARecordTooLargeForItsTopicIs413NotARetry) {
  Harness h;
  auto a = h.send(github_post());
  h.sink.complete_next(Error{ErrorCode::kTooLarge, "Broker: Message size too large", false});
  auto r = a->only();
  EXPECT_EQ(r.status, 413);
  EXPECT_FALSE(header_of(r, "Retry-After").has_value());
  EXPECT_EQ(r.body, R"j({"error":"event larger than its Kafka topic accepts (max.message.bytes)"})j");
  EXPECT_EQ(h.service().in_flight(), 0);
  EXPECT_EQ(h.requests("github", 413), 1);
}

TEST(IngestServiceAckTest, DurableInlineRefusalIs503) {
  Harness h;
  h.sink.fail_next_inline(1, Error::unavailable("queue full"));
  auto r = h.send(github_post())->only();
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(header_of(r, "Retry-After").has_value());
  EXPECT_EQ(h.service().in_flight(), 0);
}

TEST(IngestServiceAckTest, EnqueuedAnswers200AtOnceAndOnlyOnce) {
  Harness h(enqueued());
  auto a = h.send(github_post());
  ASSERT_TRUE(a->answered()) << "enqueued mode must not wait for the broker";
  EXPECT_EQ(a->only().status, 200);
  EXPECT_EQ(a->only().body, "{\"event_id\":\"" + kDelivery + "\"}");
  EXPECT_EQ(h.sink.pending(), 1u);
  EXPECT_EQ(h.service().in_flight(), 0);

  // The later verdict, good or bad, does not answer a second time.
  h.sink.complete_next(Error::unavailable("lost"));
  EXPECT_EQ(a->responses.size(), 1u);
  auto b = h.send(github_post());
  h.sink.complete_next(Status());
  EXPECT_EQ(b->responses.size(), 1u);
  EXPECT_EQ(h.requests("github", 200), 2);
  EXPECT_EQ(h.requests("github", 503), 0);
}

TEST(IngestServiceAckTest, EnqueuedInlineRefusalIs503Not200) {
  Harness h(enqueued());
  h.sink.fail_next_inline(1, Error::unavailable("queue full"));
  auto r = h.send(github_post())->only();
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(header_of(r, "Retry-After").has_value());
  EXPECT_EQ(h.requests("github", 200), 0);
}

TEST(IngestServiceAckTest, InFlightCountsAcceptedUnansweredRequests) {
  Harness h;
  auto a = h.send(github_post());
  auto b = h.send(dropbox_post());
  EXPECT_EQ(h.service().in_flight(), 2);
  EXPECT_EQ(h.series("ingest_in_flight"), 2);
  // Rejected requests never count.
  h.send(raw_request("POST", "/webhooks/github", {}, "{}"));
  EXPECT_EQ(h.service().in_flight(), 2);

  h.sink.complete_next(Status());
  EXPECT_EQ(h.service().in_flight(), 1);
  EXPECT_EQ(h.series("ingest_in_flight"), 1);
  h.sink.complete_next(Error::unavailable("down"));
  EXPECT_EQ(h.service().in_flight(), 0);
  EXPECT_EQ(h.series("ingest_in_flight"), 0);
  EXPECT_EQ(a->only().status, 200);
  EXPECT_EQ(b->only().status, 503);
}

// ---- the record -------------------------------------------------------------------------------

TEST(IngestServiceRecordTest, GithubRecordCarriesTheSpecHeadersAndTheExactBody) {
  Harness h;
  h.sink.succeed_inline(true);
  // received_at is the request's own arrival time, not the clock's time at publishing.
  const SystemTime received_at{std::chrono::milliseconds(1795743350123)};
  h.clock.advance(std::chrono::hours(5));
  auto headers =
      with(github_headers(kGithubBody), "Content-Type", "application/json; charset=UTF-8");
  auto r =
      h.send(raw_request("POST", "/webhooks/github", headers, kGithubBody), received_at)->only();
  ASSERT_EQ(r.status, 200) << r.body;

  auto records = h.sink.records();
  ASSERT_EQ(records.size(), 1u);
  const auto& rec = records[0];
  EXPECT_EQ(rec.topic, "webhooks.github");
  EXPECT_EQ(rec.key, "acme/site");
  EXPECT_EQ(rec.value, kGithubBody);
  const kafka::Headers expected = {
      {"source", "github"},
      {"event-id", kDelivery},
      {"event-type", "push"},
      {"received-at", "2026-11-27T01:35:50.123Z"},
      {"content-type", "application/json; charset=UTF-8"},
      {"http-x-github-hook-id", "292430182"},
      {"http-user-agent", "GitHub-Hookshot/044aadd"},
  };
  EXPECT_EQ(rec.headers, expected);
  const std::string signature = "sha256=" + hex_hmac(kGithubSecret, kGithubBody);
  for (const auto& hd : rec.headers) {
    EXPECT_EQ(hd.name.find("signature"), std::string::npos) << hd.name;
    EXPECT_NE(hd.value, signature) << hd.name;
    EXPECT_EQ(hd.name, http::to_lower(hd.name));
  }
}

TEST(IngestServiceRecordTest, TopicFollowsTheConfiguredPrefix) {
  Options o;
  o.env["TOPIC_PREFIX"] = "staging.hooks.";
  Harness h(o);
  h.sink.succeed_inline(true);
  ASSERT_EQ(h.send(github_post())->only().status, 200);
  ASSERT_EQ(h.send(shop_post("{}"))->only().status, 200);
  auto records = h.sink.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].topic, "staging.hooks.github");
  EXPECT_EQ(records[1].topic, "staging.hooks.shop");
}

TEST(IngestServiceRecordTest, DropboxRecordIsUnkeyedWithTheBodyHashAsId) {
  Harness h;
  auto a = h.send(dropbox_post());
  h.sink.complete_next(Status());
  const std::string id = codec::hex_encode(crypto::sha256(kDropboxBody));
  EXPECT_EQ(a->only().body, "{\"event_id\":\"" + id + "\"}");
  auto rec = h.sink.records().at(0);
  EXPECT_EQ(rec.topic, "webhooks.dropbox");
  EXPECT_FALSE(rec.key.has_value());
  EXPECT_EQ(rec.value, kDropboxBody);
  EXPECT_EQ(record_header(rec, "source"), "dropbox");
  EXPECT_EQ(record_header(rec, "event-id"), id);
  EXPECT_EQ(record_header(rec, "event-type"), "notification");
  EXPECT_FALSE(record_header(rec, "http-x-dropbox-signature").has_value());
}

TEST(IngestServiceRecordTest, ChargifyRecordIsKeyedBySubscriptionAndForwardsTheWebhookId) {
  Harness h;
  h.sink.succeed_inline(true);
  const std::string body =
      "id=81234&event=signup_success&payload%5Bsubscription%5D%5Bid%5D=555&payload%5Bsite%5D=x";
  auto r =
      h.send(raw_request(
                 "POST", "/webhooks/chargify",
                 {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"X-Chargify-Webhook-Id", "81234"},
                  {"X-Chargify-Webhook-Signature-Hmac-Sha-256", hex_hmac(kChargifySecret, body)}},
                 body))
          ->only();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"event_id\":\"81234\"}");
  auto rec = h.sink.records().at(0);
  EXPECT_EQ(rec.key, "555");
  EXPECT_EQ(rec.value, body);
  EXPECT_EQ(record_header(rec, "event-type"), "signup_success");
  EXPECT_EQ(record_header(rec, "http-x-chargify-webhook-id"), "81234");
  EXPECT_FALSE(record_header(rec, "http-x-chargify-webhook-signature-hmac-sha-256").has_value());
}

// ---- record header values are UTF-8 (SPEC §4) -------------------------------------------------

// A standard-webhooks source next to the default ones (its secret is PROVIDERS.md's vector).
constexpr const char* kStandardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

Options with_standard_source() {
  Options o;
  o.yaml += R"(
  hooks:
    kind: standard
    secret_env: [HOOKS_SECRET]
)";
  o.env["HOOKS_SECRET"] = kStandardSecret;
  return o;
}

std::string standard_post(const std::string& id, const std::string& body) {
  const std::string ts = std::to_string(FakeClock::kDefaultUnixSeconds.count());
  const std::string key = codec::base64_decode(std::string_view(kStandardSecret).substr(6)).value();
  const std::string signature =
      "v1," + codec::base64_encode(crypto::hmac_sha256(key, id + "." + ts + "." + body));
  return raw_request("POST", "/webhooks/hooks",
                     {{"Content-Type", "application/json"},
                      {"webhook-id", id},
                      {"webhook-timestamp", ts},
                      {"webhook-signature", signature}},
                     body);
}

std::string chargify_post(const std::string& body) {
  return raw_request(
      "POST", "/webhooks/chargify",
      {{"Content-Type", "application/x-www-form-urlencoded"},
       {"X-Chargify-Webhook-Signature-Hmac-Sha-256", hex_hmac(kChargifySecret, body)}},
      body);
}

// A correctly signed GitHub delivery with one header replaced.
std::string github_post_with(const std::string& name, const std::string& value) {
  return raw_request("POST", "/webhooks/github", with(github_headers(kGithubBody), name, value),
                     kGithubBody);
}

// The refusal: 400 with exactly `message` (valid UTF-8, no byte of the request echoed),
// counted like every other 400 of `source`, and nothing handed to the sink.
void expect_refused(Harness& h, const std::string& raw, const std::string& source,
                    const std::string& message) {
  const double before = h.requests(source, 400);
  auto r = h.send(raw)->only();
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.body, "{\"error\":\"" + message + "\"}");
  EXPECT_EQ(h.requests(source, 400), before + 1);
  EXPECT_EQ(h.requests(source, 200), 0);
  EXPECT_EQ(h.signature_failures(source), 0);  // verified first: this is the parse stage
  EXPECT_EQ(h.sink.record_count(), 0u);
  EXPECT_EQ(h.service().in_flight(), 0);
}

TEST(IngestServiceUtf8Test, GithubDeliveryIdThatIsNotUtf8Is400) {
  Harness h;
  h.sink.succeed_inline(true);
  expect_refused(h, github_post_with("X-GitHub-Delivery", "del-\xff\xfe"), "github",
                 "event id is not valid UTF-8");
  // Truncated, overlong and surrogate sequences too, not only bytes that never occur.
  for (const std::string id :
       {"del-\xc3", "del-\xc0\xaf", "del-\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    expect_refused(h, github_post_with("X-GitHub-Delivery", id), "github",
                   "event id is not valid UTF-8");
  }
}

TEST(IngestServiceUtf8Test, GithubEventTypeThatIsNotUtf8Is400) {
  Harness h;
  h.sink.succeed_inline(true);
  expect_refused(h, github_post_with("X-GitHub-Event", "push\xc3\x28"), "github",
                 "event type is not valid UTF-8");
}

TEST(IngestServiceUtf8Test, ChargifyFormFieldsAreCheckedAfterPercentDecoding) {
  Harness h;
  h.sink.succeed_inline(true);
  expect_refused(h, chargify_post("id=%FF%FE&event=test"), "chargify",
                 "event id is not valid UTF-8");
  expect_refused(h, chargify_post("id=123&event=te%C3%28st"), "chargify",
                 "event type is not valid UTF-8");
}

TEST(IngestServiceUtf8Test, StandardWebhookIdThatIsNotUtf8Is400) {
  Harness h(with_standard_source());
  h.sink.succeed_inline(true);
  // Signed over the raw id, so it verifies; it still cannot become a header.
  expect_refused(h, standard_post("msg_\xff", R"({"type":"user.created"})"), "hooks",
                 "event id is not valid UTF-8");
  ASSERT_EQ(h.send(standard_post("msg_ok", R"({"type":"user.created"})"))->only().status, 200);
  EXPECT_EQ(h.sink.record_count(), 1u);
}

TEST(IngestServiceUtf8Test, ContentTypeParameterThatIsNotUtf8Is400) {
  Harness h;
  h.sink.succeed_inline(true);
  // The media type is acceptable; the value is copied verbatim into content-type, so all of
  // it must be UTF-8.
  expect_refused(h, github_post_with("Content-Type", "application/json; charset=\xff"), "github",
                 "header content-type is not valid UTF-8");
}

TEST(IngestServiceUtf8Test, ForwardedHeaderThatIsNotUtf8Is400) {
  Harness h;
  h.sink.succeed_inline(true);
  expect_refused(h, github_post_with("User-Agent", "UA-\xc3\x28"), "github",
                 "header user-agent is not valid UTF-8");
  expect_refused(h, github_post_with("X-GitHub-Hook-ID", "\x80"), "github",
                 "header x-github-hook-id is not valid UTF-8");
  // A header that is not forwarded never becomes a record header: not this check's business.
  auto r = h.send(github_post_with("X-Not-Forwarded", "\xff"))->only();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(h.sink.record_count(), 1u);
}

TEST(IngestServiceUtf8Test, MultiByteUtf8PassesThroughByteForByte) {
  Harness h(with_standard_source());
  h.sink.succeed_inline(true);
  const std::string id = "del-\xc3\xa9-\xf0\x9f\x98\x80";  // "del-é-😀"
  const std::string event = "push-\xe2\x82\xac";           // "push-€"
  const std::string agent = "GitHub-Hookshot/\xc3\xa9\xf0\x9f\x9a\x80";
  const std::string content_type = "application/json; name=\"caf\xc3\xa9\"";
  auto headers = with(with(with(with(github_headers(kGithubBody), "X-GitHub-Delivery", id),
                                "X-GitHub-Event", event),
                           "User-Agent", agent),
                      "Content-Type", content_type);
  auto r = h.send(raw_request("POST", "/webhooks/github", headers, kGithubBody))->only();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"event_id\":\"" + id + "\"}");  // not \u escapes, not U+FFFD
  ASSERT_EQ(h.sink.record_count(), 1u);
  auto rec = h.sink.records().at(0);
  EXPECT_EQ(record_header(rec, "event-id"), id);
  EXPECT_EQ(record_header(rec, "event-type"), event);
  EXPECT_EQ(record_header(rec, "http-user-agent"), agent);
  EXPECT_EQ(record_header(rec, "content-type"), content_type);
  EXPECT_EQ(rec.value, kGithubBody);

  // Percent-decoded form fields and a Standard Webhooks id, likewise.
  auto c = h.send(chargify_post("id=%C3%A9%F0%9F%98%80&event=t%C3%A9st"))->only();
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.body, "{\"event_id\":\"\xc3\xa9\xf0\x9f\x98\x80\"}");
  auto s = h.send(standard_post("msg_\xc3\xa9", R"({"type":"caf\u00e9"})"))->only();
  ASSERT_EQ(s.status, 200) << s.body;
  auto records = h.sink.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(record_header(records[1], "event-id"), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(record_header(records[1], "event-type"), "t\xc3\xa9st");
  EXPECT_EQ(record_header(records[2], "event-id"), "msg_\xc3\xa9");
  EXPECT_EQ(record_header(records[2], "event-type"), "caf\xc3\xa9");
}

// ---- valid JSON that is not an object (SPEC §3) ----------------------------------------------

TEST(IngestServiceParseTest, SignedGithubArrayBodyIs400AndNotPublished) {
  Harness h;
  h.sink.succeed_inline(true);
  expect_refused(h, github_post("[1,2]"), "github", "body is not a JSON object");
  expect_refused(h, github_post("null"), "github", "body is not a JSON object");
  // The generic kind keeps accepting any body (shop reads no field from it).
  EXPECT_EQ(h.send(shop_post("[1,2]"))->only().status, 200);
}

// ---- drain ------------------------------------------------------------------------------------

TEST(IngestServiceDrainTest, NewWebhooksGet503AndCloseWhileAcceptedOnesFinish) {
  Harness h;
  auto accepted = h.send(github_post());
  ASSERT_FALSE(accepted->answered());
  EXPECT_FALSE(h.service().draining());

  h.service().begin_drain();
  EXPECT_TRUE(h.service().draining());
  auto late = h.send(dropbox_post())->only();
  EXPECT_EQ(late.status, 503);
  EXPECT_TRUE(late.close);
  EXPECT_TRUE(header_of(late, "Retry-After").has_value());
  EXPECT_EQ(h.sink.record_count(), 1u);
  EXPECT_EQ(h.service().in_flight(), 1);

  h.sink.complete_next(Status());
  EXPECT_EQ(accepted->only().status, 200);
  EXPECT_EQ(h.service().in_flight(), 0);
  // Readiness says so too, so load balancers stop sending.
  EXPECT_EQ(h.send(raw_request("GET", "/readyz"))->only().status, 503);
}

// ---- operational endpoints --------------------------------------------------------------------

TEST(IngestServiceOpsTest, ReadyzFollowsReadiness) {
  Harness h;
  EXPECT_EQ(h.send(raw_request("GET", "/readyz"))->only().status, 200);
  h.readiness.set(false);
  auto r = h.send(raw_request("GET", "/readyz"))->only();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.rfind("{\"error\":", 0), 0u) << r.body;
  h.readiness.set(true);
  EXPECT_EQ(h.send(raw_request("GET", "/readyz"))->only().status, 200);
  // Liveness does not depend on Kafka.
  h.readiness.set(false);
  EXPECT_EQ(h.send(raw_request("GET", "/healthz"))->only().status, 200);
}

TEST(IngestServiceOpsTest, MetricsIsPrometheusTextWithTheRequestCounter) {
  Harness h;
  h.send(raw_request("POST", "/webhooks/github", {}, "{}"));  // 401
  auto r = h.send(raw_request("GET", "/metrics"))->only();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header_of(r, "Content-Type"), metrics::content_type());
  EXPECT_NE(r.body.find("ingest_requests_total{source=\"github\",status=\"401\"} 1"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("ingest_signature_failures_total{source=\"github\"} 1"), std::string::npos);
  // Series for every enabled source exist before the first request.
  EXPECT_NE(r.body.find("ingest_requests_total{source=\"shop\",status=\"200\"} 0"),
            std::string::npos);
}

// ---- dropbox challenge ------------------------------------------------------------------------

TEST(IngestServiceChallengeTest, EchoesTheChallengeAsPlainText) {
  Harness h;
  auto r = h.send(raw_request("GET", "/webhooks/dropbox?challenge=dbx-ch4llenge_42"))->only();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "dbx-ch4llenge_42");
  EXPECT_EQ(header_of(r, "Content-Type"), "text/plain");
  EXPECT_EQ(header_of(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(h.sink.record_count(), 0u);

  // A hostile challenge stays inert text.
  auto x = h.send(raw_request("GET", "/webhooks/dropbox?x=1&challenge=%3Cscript%3E"))->only();
  EXPECT_EQ(x.status, 200);
  EXPECT_EQ(x.body, "<script>");
  EXPECT_EQ(header_of(x, "Content-Type"), "text/plain");
  EXPECT_EQ(header_of(x, "X-Content-Type-Options"), "nosniff");
}

TEST(IngestServiceChallengeTest, MissingChallengeIs400) {
  Harness h;
  for (const char* target : {"/webhooks/dropbox", "/webhooks/dropbox?other=1"}) {
    auto r = h.send(raw_request("GET", target))->only();
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.body.rfind("{\"error\":", 0), 0u) << r.body;
  }
  EXPECT_EQ(h.sink.record_count(), 0u);
}

TEST(IngestServiceChallengeTest, OnlyDropboxHasAChallenge) {
  Harness h;
  auto r = h.send(raw_request("GET", "/webhooks/github?challenge=abc"))->only();
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.body, "abc");
}

}  // namespace
}  // namespace wi::ingest
