// Per-request cost of a source kind: verify() then describe(), as ingestd runs them on every
// POST. No main(): linked with benchmark_main.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/codec.h"
#include "common/crypto.h"
#include "ingest/sources/source.h"

namespace wi::ingest {
namespace {

// simdjson::SIMDJSON_PADDING: the HTTP layer reserves this much spare capacity so JSON bodies
// parse in place; the benchmark bodies do the same.
constexpr std::size_t kJsonPadding = 64;

constexpr const char* kSecret = "It's a Secret to Everybody";

std::string padded(std::string body) {
  body.reserve(body.size() + kJsonPadding);
  return body;
}

std::string github_commit(std::size_t i) {
  const std::string sha = codec::hex_encode(crypto::sha256(std::to_string(i))).substr(0, 40);
  std::string c = R"({"id":")" + sha + R"(","tree_id":")" + sha + R"(","distinct":true,)";
  c += R"("message":"Fix flaky test in the \"publisher\" path #)" + std::to_string(i) + "\",";
  c += R"("timestamp":"2024-03-01T12:00:00-05:00","url":"https://github.com/octo/app/commit/)";
  c += sha + R"(","author":{"name":"Mona Lisa","email":"mona@example.com","username":"mona"},)";
  c += R"("added":[],"removed":[],"modified":["src/publisher.cpp","tests/publisher_test.cpp"]})";
  return c;
}

// A push event with `size` bytes or a little more: the fields a deploy agent reads, then as
// many commits as it takes.
std::string github_push_body(std::size_t size) {
  std::string body =
      R"({"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000",)"
      R"("after":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","created":false,"deleted":false,)"
      R"("forced":false,"repository":{"id":1296269,"name":"app","full_name":"octo/app",)"
      R"("private":false,"clone_url":"https://github.com/octo/app.git",)"
      R"("ssh_url":"git@github.com:octo/app.git","default_branch":"main",)"
      R"("created_at":1700000000,"pushed_at":1700000100},)"
      R"("pusher":{"name":"mona","email":"mona@example.com"},"commits":[)";
  for (std::size_t i = 0; body.size() < size; ++i) {
    if (i > 0) body += ',';
    body += github_commit(i);
  }
  body += "]}";
  return padded(std::move(body));
}

std::string chargify_form_body(std::size_t size) {
  std::string body =
      "id=123456789&event=payment_success&payload%5Bsubscription%5D%5Bid%5D=15236915&"
      "payload%5Bsubscription%5D%5Bstate%5D=active&"
      "payload%5Bsubscription%5D%5Bcustomer%5D%5Bemail%5D=mary.ann%2Bbilling%40example.com&"
      "payload%5Bsubscription%5D%5Bcustomer%5D%5Bfirst_name%5D=Mary+Ann&"
      "payload%5Bsubscription%5D%5Bproduct%5D%5Bhandle%5D=pro-monthly&"
      "payload%5Bsite%5D%5Bsubdomain%5D=acme";
  for (std::size_t i = 0; body.size() < size; ++i) {
    body += "&payload%5Btransaction%5D%5Bmemo%5D%5B" + std::to_string(i) +
            "%5D=Payment+for%3A+Pro+plan+%28monthly%29";
  }
  return body;
}

struct Fixture {
  std::unique_ptr<Source> source;
  http::Headers headers;
  std::string body;
};

Fixture github_fixture(std::size_t size) {
  SourceSettings settings;
  settings.name = "github";
  settings.kind = SourceKind::kGithub;
  settings.secrets.emplace_back(kSecret);
  Fixture f{std::move(make_source(settings)).value(), {}, github_push_body(size)};
  f.headers.add("Content-Type", "application/json");
  f.headers.add("X-GitHub-Event", "push");
  f.headers.add("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  f.headers.add("X-Hub-Signature-256",
                "sha256=" + codec::hex_encode(crypto::hmac_sha256(kSecret, f.body)));
  return f;
}

Fixture chargify_fixture(std::size_t size) {
  SourceSettings settings;
  settings.name = "chargify";
  settings.kind = SourceKind::kChargify;
  settings.secrets.emplace_back(kSecret);
  Fixture f{std::move(make_source(settings)).value(), {}, chargify_form_body(size)};
  f.headers.add("Content-Type", "application/x-www-form-urlencoded");
  f.headers.add("X-Chargify-Webhook-Signature-Hmac-Sha-256",
                codec::hex_encode(crypto::hmac_sha256(kSecret, f.body)));
  return f;
}

void run(benchmark::State& state, const Fixture& f) {
  const InboundRequest request{"POST", "/webhooks/x", f.headers, f.body};
  const SystemTime now{std::chrono::seconds{1700000000}};
  for (auto _ : state) {
    const VerifyOutcome outcome = f.source->verify(request, now);
    auto info = f.source->describe(request);
    if (!outcome.valid || !info.ok()) {
      state.SkipWithError("request did not verify and describe");
      break;
    }
    benchmark::DoNotOptimize(info);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(f.body.size()));
}

void BM_GithubJson2K(benchmark::State& state) {
  run(state, github_fixture(2 << 10));
}
BENCHMARK(BM_GithubJson2K);

void BM_ChargifyForm2K(benchmark::State& state) {
  run(state, chargify_fixture(2 << 10));
}
BENCHMARK(BM_ChargifyForm2K);

// GitHub's payload cap: the worst case a single request can cost.
void BM_GithubJson25M(benchmark::State& state) {
  run(state, github_fixture(25 << 20));
}
BENCHMARK(BM_GithubJson25M)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace wi::ingest
