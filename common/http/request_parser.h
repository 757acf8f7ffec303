#pragma once
// Incremental HTTP/1.1 request framing (RFC 9112) for the ingest edge. Pistache 0.0.5's own
// parser rescans long lines quadratically, cannot reject early and mishandles keep-alive and
// pipelining (see STACK.md), so we only take bytes from its TCP reactor and frame them here.
//
// Pure logic: no sockets, threads or clocks; nothing throws. Work is linear in the bytes fed
// however they are split: every byte of the head is searched for a line end exactly once and
// every complete line is parsed exactly once. Framing is deliberately strict (RFC 9112 §6,
// "smuggling-proof"): anything ambiguous fails, and after a failure the owner must answer
// status_of(error()) and close the connection, since the next request's start is unknown.
//
// Typical owner loop, per connection:
//   n = parser.feed(p, len);             // may be called with any split of the stream
//   kHeadReady → route/check head(); parser.accept_body(limit);
//                if state() == kBody && head().expect_continue → write kContinue
//   kComplete  → handle head() + take_body(); parser.reset(); feed the rest (pipelining)
//   kFailed    → answer status_of(error()), close

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/http/headers.h"

namespace wi::http {

enum class ParseError {
  kNone,
  kBadRequest,           // 400: malformed syntax or ambiguous framing
  kHeaderTooLarge,       // 431: head (or trailer section, or field count) over the limit
  kBodyTooLarge,         // 413: Content-Length or decoded chunked size over the limit
  kNotImplemented,       // 501: a transfer-coding other than exactly "chunked"
  kVersionNotSupported,  // 505: well-formed HTTP version other than 1.0 / 1.1
  kExpectationFailed,    // 417: an Expect value other than 100-continue
};

int status_of(ParseError error);         // 400, 431, 413, 501, 505, 417 (200 for kNone)
const char* describe(ParseError error);  // short, fixed text, safe for logs and error bodies

struct RequestHead {
  std::string method;     // as sent (case-sensitive token)
  std::string target;     // request-target as sent (origin-form expected; not validated further)
  int version_minor = 1;  // HTTP/1.0 → 0, HTTP/1.1 → 1
  Headers headers;        // original spelling and order; duplicates kept
  std::optional<std::uint64_t> content_length;  // when a valid Content-Length was sent
  bool chunked = false;                         // Transfer-Encoding: chunked
  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive = true;
  // "Expect: 100-continue" on an HTTP/1.1 request (ignored on 1.0, RFC 9110 §10.1.1).
  bool expect_continue = false;

  std::string_view path() const;   // target up to '?'
  std::string_view query() const;  // after '?', may be empty
  bool has_body() const { return chunked || content_length.value_or(0) > 0; }
};

class RequestParser {
 public:
  enum class State { kHead, kHeadReady, kBody, kComplete, kFailed };

  struct Limits {
    // Request line + header fields + the empty line (and any leading empty lines). Also the
    // bound on a chunked body's trailer section.
    std::size_t max_head_bytes = 16 * 1024;
    // One chunk-size line, extensions included.
    std::size_t max_chunk_line_bytes = 1024;
    // More header fields than this → kHeaderTooLarge (Envoy's default is 100 as well); keeps
    // Headers::find, which is linear, cheap.
    std::size_t max_header_fields = 100;
    // RFC 9112 §3.2: an HTTP/1.1 request without Host → 400. More than one Host → 400 always.
    bool require_host = true;
  };

  RequestParser();
  explicit RequestParser(Limits limits);

  // Consumes bytes of the stream and returns how many it used. It stops consuming when it
  // reaches kHeadReady (the owner must look at head() and call accept_body() or give up),
  // kComplete (the rest belongs to the next, pipelined request) or kFailed. Returns 0 in those
  // states.
  std::size_t feed(const char* data, std::size_t len);
  std::size_t feed(std::string_view data) { return feed(data.data(), data.size()); }

  State state() const { return state_; }
  const RequestHead& head() const { return head_; }

  // From kHeadReady (ignored in any other state): read the body, at most `max_body_bytes`
  // bytes (decoded size for chunked). A Content-Length over it → kFailed/kBodyTooLarge at
  // once, before any body byte; a chunked body fails as soon as a chunk-size line would take
  // the decoded total over it. A request without a body goes straight to kComplete. The body
  // buffer's capacity is at least size + `padding` in kComplete (simdjson parses in place);
  // with Content-Length the whole size is reserved up front, once.
  void accept_body(std::uint64_t max_body_bytes, std::size_t padding = 64);

  std::string& body() { return body_; }  // the decoded body (valid in kComplete)
  std::string take_body() { return std::move(body_); }
  // Moves the head out (valid in kComplete); head() is empty afterwards until the next one.
  RequestHead take_head() { return std::move(head_); }
  ParseError error() const { return error_; }

  // Bytes received for the current request so far (for timeouts and metrics).
  std::uint64_t bytes_seen() const { return bytes_seen_; }
  // Heap memory the body buffer holds now (reserved, not only used): what a body budget
  // charges. 0 while the body fits in the string object itself (no allocation).
  std::size_t body_capacity() const {
    return body_.capacity() > std::string().capacity() ? body_.capacity() : 0;
  }
  // A byte of the request itself has arrived. Empty lines before the request line do not
  // count (RFC 9112 §2.2: a server ignores them, e.g. the stray CRLF some clients send after a
  // body): a connection that sent only those is idle, not in the middle of a request.
  bool started() const {
    return state_ != State::kHead || request_line_done_ || (!line_.empty() && line_ != "\r");
  }
  // Head bytes searched for line ends since construction; never more than the head bytes
  // consumed. Exposed so tests can prove no byte is scanned twice.
  std::uint64_t bytes_scanned() const { return bytes_scanned_; }

  // Ready for the next request on the same connection. Keeps the line buffer's capacity;
  // releases the body.
  void reset();

 private:
  enum class ChunkState {
    kSize,     // hex digits of chunk-size
    kSizeBws,  // SP/HTAB after the size: only ';' may follow
    kExt,      // chunk extensions: skipped up to the line end
    kSizeLf,   // CR seen at the end of the size line
    kData,     // chunk data
    kDataCr,   // CRLF after the data
    kDataLf,
    kTrailerStart,  // start of a trailer line (or the final empty line)
    kTrailerLine,   // inside a trailer field line: skipped
    kTrailerLf,     // CR seen at the end of a trailer line
    kEndLf,         // CR seen on the final empty line
  };

  std::size_t feed_head(const char* data, std::size_t len);
  std::size_t feed_length_body(const char* data, std::size_t len);
  std::size_t feed_chunked(const char* data, std::size_t len);

  void on_head_line(std::string_view line);
  bool parse_request_line(std::string_view line);
  bool parse_header_line(std::string_view line);
  bool note_framing_header(std::string_view name, std::string_view value);
  void finish_head();
  void append_body(const char* data, std::size_t len);
  void complete();
  void fail(ParseError error);

  Limits limits_;
  State state_ = State::kHead;
  ParseError error_ = ParseError::kNone;
  RequestHead head_;
  std::string body_;

  // Head.
  std::string line_;  // the incomplete line carried across feeds (bounded by max_head_bytes)
  std::size_t head_bytes_ = 0;
  std::size_t leading_empty_lines_ = 0;
  bool request_line_done_ = false;
  bool saw_transfer_encoding_ = false;
  bool transfer_encoding_ok_ = false;  // exactly one TE field, and it is "chunked"
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  std::size_t host_count_ = 0;
  bool expect_bad_ = false;
  bool expect_continue_ = false;

  // Body.
  std::uint64_t max_body_ = 0;
  std::size_t padding_ = 0;
  std::uint64_t remaining_ = 0;  // of the Content-Length body or of the current chunk
  ChunkState chunk_state_ = ChunkState::kSize;
  std::uint64_t chunk_size_ = 0;
  std::size_t chunk_line_bytes_ = 0;
  bool chunk_size_digits_ = false;
  std::size_t trailer_bytes_ = 0;

  std::uint64_t bytes_seen_ = 0;
  std::uint64_t bytes_scanned_ = 0;
};

}  // namespace wi::http
