// Cost of framing requests with our own parser (common/http/request_parser.h), which replaced
// Pistache's quadratic one. No main(): linked with benchmark_main.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/http/request_parser.h"

namespace wi::http {
namespace {

using State = RequestParser::State;

// A GitHub-like delivery: ~600-byte head, 2 KB JSON body.
std::string webhook_post() {
  std::string body = R"({"ref":"refs/heads/main","repository":{"full_name":"octo/hello"},"x":")";
  body += std::string(2048 - body.size() - 2, 'a');
  body += "\"}";
  std::string head =
      "POST /webhooks/github HTTP/1.1\r\n"
      "Host: ingest.example.com\r\n"
      "User-Agent: GitHub-Hookshot/8f2c1a3\r\n"
      "Accept: */*\r\n"
      "Content-Type: application/json\r\n"
      "X-GitHub-Event: push\r\n"
      "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\r\n"
      "X-GitHub-Hook-ID: 292430182\r\n"
      "X-GitHub-Hook-Installation-Target-ID: 79929171\r\n"
      "X-GitHub-Hook-Installation-Target-Type: repository\r\n"
      "X-Hub-Signature: sha1=7d38cdd689735b008b3c702edd92eea23791c5f6\r\n"
      "X-Hub-Signature-256: "
      "sha256=d57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c\r\n"
      "Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
      "X-Forwarded-For: 203.0.113.7, 198.51.100.23\r\n"
      "X-Forwarded-Proto: https\r\n"
      "Accept-Encoding: gzip\r\n"
      "Connection: keep-alive\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  return head + body;
}

// Feeds `input` in `piece`-byte reads, accepting the body when the head is ready.
void parse(RequestParser& parser, const std::string& input, std::size_t piece,
           std::uint64_t max_body) {
  std::size_t offset = 0;
  while (offset < input.size()) {
    std::size_t n = std::min(piece, input.size() - offset);
    offset += parser.feed(input.data() + offset, n);
    if (parser.state() == State::kHeadReady) parser.accept_body(max_body);
    if (parser.state() == State::kComplete || parser.state() == State::kFailed) break;
  }
  if (parser.state() == State::kHeadReady) parser.accept_body(max_body);
}

void BM_WebhookPost(benchmark::State& state) {
  const std::string request = webhook_post();
  RequestParser parser;
  for (auto _ : state) {
    parser.reset();
    parse(parser, request, request.size(), 1 << 20);
    std::string body = parser.take_body();
    benchmark::DoNotOptimize(body);
  }
  if (parser.state() != State::kComplete) state.SkipWithError("request did not parse");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request.size()));
}
BENCHMARK(BM_WebhookPost);

void BM_ContentLengthBody25MiB(benchmark::State& state) {
  constexpr std::size_t kSize = 25u << 20;
  const std::string request =
      "POST /webhooks/x HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(kSize) +
      "\r\n\r\n" + std::string(kSize, 'b');
  RequestParser parser;
  for (auto _ : state) {
    parser.reset();
    parse(parser, request, 4096, kSize);
    benchmark::DoNotOptimize(parser.body().data());
  }
  if (parser.state() != State::kComplete) state.SkipWithError("request did not parse");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request.size()));
}
BENCHMARK(BM_ContentLengthBody25MiB)->Unit(benchmark::kMillisecond);

// The attack shape that is quadratic in Pistache: one long header line, 16 KiB in all.
void BM_Head16KiB(benchmark::State& state) {
  std::string request = "POST /webhooks/x HTTP/1.1\r\nHost: h\r\nX-Long: ";
  request += std::string(16 * 1024 - request.size() - 4, 'x') + "\r\n\r\n";
  const auto piece = static_cast<std::size_t>(state.range(0));
  RequestParser parser;
  for (auto _ : state) {
    parser.reset();
    parse(parser, request, piece, 0);
  }
  if (parser.state() != State::kComplete) state.SkipWithError("request did not parse");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request.size()));
}
BENCHMARK(BM_Head16KiB)->Arg(1)->Arg(4096)->Arg(16 * 1024);

}  // namespace
}  // namespace wi::http
