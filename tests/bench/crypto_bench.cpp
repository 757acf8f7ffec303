// Per-request costs of signature verification and form parsing. No main(): linked with
// benchmark_main.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/codec.h"
#include "common/crypto.h"

namespace wi {
namespace {

std::string make_body(std::size_t size) {
  std::string body;
  body.reserve(size);
  for (std::size_t i = 0; i < size; ++i) body.push_back(static_cast<char>('a' + i % 26));
  return body;
}

// What a verifier does per request: HMAC the raw body, hex it, compare to the header.
void BM_HmacSha256Hex(benchmark::State& state) {
  const std::string body = make_body(static_cast<std::size_t>(state.range(0)));
  const std::string key = "whsec_test_secret";
  for (auto _ : state) {
    std::string hex = codec::hex_encode(crypto::hmac_sha256(key, body));
    benchmark::DoNotOptimize(hex);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_HmacSha256Hex)->Arg(2 << 10)->Arg(1 << 20);

void BM_ConstantTimeEqual32(benchmark::State& state) {
  const std::string a = crypto::hmac_sha256("key", "body");
  std::string b = a;
  b.back() ^= 0x01;  // worst case for an early-exit compare: differs only in the last byte
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
    benchmark::DoNotOptimize(crypto::constant_time_equal(a, b));
  }
}
BENCHMARK(BM_ConstantTimeEqual32);

// A Chargify-style signup_success body of about 2 KB, with percent-encoded brackets as some
// senders produce.
std::string make_chargify_body() {
  static constexpr const char* kFields[] = {
      "payload%5Bsubscription%5D%5Bid%5D=15236915",
      "payload%5Bsubscription%5D%5Bstate%5D=active",
      "payload%5Bsubscription%5D%5Bbalance_in_cents%5D=0",
      "payload%5Bsubscription%5D%5Bcurrent_period_started_at%5D=2024-03-01+12%3A00%3A00+-0500",
      "payload%5Bsubscription%5D%5Bcurrent_period_ends_at%5D=2024-04-01+12%3A00%3A00+-0400",
      "payload%5Bsubscription%5D%5Bcustomer%5D%5Bid%5D=14543792",
      "payload%5Bsubscription%5D%5Bcustomer%5D%5Bfirst_name%5D=Mary+Ann",
      "payload%5Bsubscription%5D%5Bcustomer%5D%5Blast_name%5D=O%27Neil",
      "payload%5Bsubscription%5D%5Bcustomer%5D%5Bemail%5D=mary.ann%2Bbilling%40example.com",
      "payload%5Bsubscription%5D%5Bcustomer%5D%5Breference%5D=cust-8842",
      "payload%5Bsubscription%5D%5Bproduct%5D%5Bid%5D=4581816",
      "payload%5Bsubscription%5D%5Bproduct%5D%5Bhandle%5D=gold-monthly",
      "payload%5Bsubscription%5D%5Bproduct%5D%5Bname%5D=Gold+Plan+%28monthly%29",
      "payload%5Bsubscription%5D%5Bproduct%5D%5Bprice_in_cents%5D=4900",
      "payload%5Bsite%5D%5Bid%5D=31615",
      "payload%5Bsite%5D%5Bsubdomain%5D=acme-billing",
      "payload%5Bevent_id%5D=3849257912",
  };
  std::string body = "id=123456789&event=signup_success";
  while (body.size() < 2000) {
    for (const char* field : kFields) {
      body += '&';
      body += field;
    }
  }
  return body;
}

void BM_ParseFormChargify(benchmark::State& state) {
  const std::string body = make_chargify_body();
  for (auto _ : state) {
    auto fields = codec::parse_form(body);
    benchmark::DoNotOptimize(fields);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_ParseFormChargify);

}  // namespace
}  // namespace wi
