// libFuzzer harness for RequestParser: the same byte stream, fed whole, byte by byte and in
// fuzzer-chosen pieces, must produce the same sequence of (pipelined) requests, the same final
// state and error, and the same consumed count; and the parser's own bounds must hold.
// Built with -DFUZZ=ON and run by tests/fuzz/run.sh.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/request_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using wi::http::ParseError;
using wi::http::RequestParser;
using State = RequestParser::State;

struct Run {
  std::vector<std::string> requests;  // one summary per completed request
  State state = State::kHead;
  ParseError error = ParseError::kNone;
  std::size_t consumed = 0;
};

std::string summarize(const RequestParser& p, const std::string& body) {
  const auto& h = p.head();
  std::string s = h.method + ' ' + h.target + ' ' + std::to_string(h.version_minor) + '\n';
  for (const auto& f : h.headers.all()) s += f.name + ':' + f.value + '\n';
  s += std::to_string(h.content_length.value_or(~0ull)) + (h.chunked ? "c" : "-") +
       (h.keep_alive ? "k" : "-") + (h.expect_continue ? "e" : "-") + '\n' + body;
  return s;
}

// Splits come from `splits` (cycled); 0 means "everything left".
Run run(std::string_view input, const RequestParser::Limits& limits, std::uint64_t max_body,
        std::string_view splits) {
  Run out;
  RequestParser p(limits);
  std::size_t offset = 0, split_index = 0;
  std::uint64_t request_start = 0;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    if (p.state() == State::kHeadReady) {
      FUZZ_CHECK(p.bytes_seen() <= limits.max_head_bytes);
      p.accept_body(max_body, 16);
      continue;
    }
    if (p.state() == State::kComplete) {
      FUZZ_CHECK(p.body().size() <= max_body);
      FUZZ_CHECK(p.body().capacity() >= p.body().size() + 16 || !p.head().has_body());
      FUZZ_CHECK(p.bytes_seen() == offset - request_start);
      out.requests.push_back(summarize(p, p.body()));
      p.reset();
      request_start = offset;
      continue;
    }
    if (p.state() == State::kFailed || offset == input.size()) break;
    std::size_t piece = input.size() - offset;
    if (!splits.empty()) {
      auto s = static_cast<unsigned char>(splits[split_index++ % splits.size()]);
      if (s != 0 && s < piece) piece = s;
    }
    const std::uint64_t scanned_before = p.bytes_scanned();
    const std::size_t n = p.feed(input.data() + offset, piece);
    FUZZ_CHECK(n <= piece);
    FUZZ_CHECK(p.bytes_scanned() - scanned_before <= n);  // head bytes are searched once
    offset += n;
    if (n == 0) FUZZ_CHECK(p.state() != State::kHead && p.state() != State::kBody);
  }
  out.state = p.state();
  out.error = p.error();
  out.consumed = offset;
  if (out.state == State::kFailed) FUZZ_CHECK(out.error != ParseError::kNone);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // Header bytes choose the limits (small, so that they are hit) and the split pattern.
  RequestParser::Limits limits;
  limits.max_head_bytes = 32 + (data[0] & 0x7f) * 4;
  limits.max_chunk_line_bytes = 4 + (data[0] >> 7) * 60 + (data[1] & 0x0f);
  limits.max_header_fields = 1 + (data[1] >> 4);
  limits.require_host = (data[2] & 1) != 0;
  const std::uint64_t max_body = (data[2] >> 1) * 3;
  const std::size_t split_len = std::min<std::size_t>(size - 3, 8);
  const std::string_view splits(reinterpret_cast<const char*>(data + 3), split_len);
  const std::string_view input(reinterpret_cast<const char*>(data + 3 + split_len),
                               size - 3 - split_len);

  const Run whole = run(input, limits, max_body, {});
  const Run pieces = run(input, limits, max_body, splits);
  const Run bytes = run(input, limits, max_body, std::string_view("\x01", 1));
  for (const Run* other : {&pieces, &bytes}) {
    FUZZ_CHECK(other->requests == whole.requests);
    FUZZ_CHECK(other->state == whole.state);
    FUZZ_CHECK(other->error == whole.error);
    FUZZ_CHECK(other->consumed == whole.consumed);
  }
  return 0;
}
