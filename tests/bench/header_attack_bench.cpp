// The cost of a long request-header line (STACK.md: Pistache's parser rescans its buffer on
// every read, so a 1 MiB header line costs quadratic time) — Pistache 0.0.5's own HTTP parser
// with its limit raised to 25 MiB (as a 25 MiB webhook body requires) against our
// RequestParser, both fed 4 KiB reads as the reactor delivers them.
#include <benchmark/benchmark.h>
#include <pistache/http.h>

#include <string>

#include "common/http/request_parser.h"

namespace {

constexpr std::size_t kRead = 4096;

std::string attack(std::size_t line_bytes) {
  std::string req = "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-Junk: ";
  req.append(line_bytes, 'a');
  req += "\r\n\r\n";
  return req;
}

void BM_PistacheParser_LongHeaderLine(benchmark::State& state) {
  const auto req = attack(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    Pistache::Http::Private::ParserImpl<Pistache::Http::Request> parser(26 * 1024 * 1024);
    for (std::size_t off = 0; off < req.size(); off += kRead) {
      std::size_t n = std::min(kRead, req.size() - off);
      if (!parser.feed(req.data() + off, n)) break;
      try {
        benchmark::DoNotOptimize(parser.parse());
      } catch (const std::exception&) {
        break;
      }
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * req.size()));
}
BENCHMARK(BM_PistacheParser_LongHeaderLine)->Arg(64 << 10)->Arg(256 << 10)->Arg(1 << 20)
    ->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_RequestParser_LongHeaderLine(benchmark::State& state) {
  const auto req = attack(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    wi::http::RequestParser parser;
    for (std::size_t off = 0; off < req.size(); off += kRead) {
      std::size_t n = std::min(kRead, req.size() - off);
      parser.feed(req.data() + off, n);
      if (parser.state() == wi::http::RequestParser::State::kFailed) break;  // 431, then close
    }
    benchmark::DoNotOptimize(parser.state());
  }
}
BENCHMARK(BM_RequestParser_LongHeaderLine)->Arg(64 << 10)->Arg(256 << 10)->Arg(1 << 20)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
