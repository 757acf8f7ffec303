#include "common/http/request_parser.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <new>

namespace wi::http {

namespace {

// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
constexpr std::size_t kMaxLeadingEmptyLines = 4;
constexpr std::size_t kTypicalHeaderFields = 16;

// Byte classes as a table: the head is checked byte by byte, so this is the hot loop.
enum : std::uint8_t { kTchar = 1, kFieldChar = 2 };

constexpr std::array<std::uint8_t, 256> kByteClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    // field-vchar / SP / HTAB / obs-text: everything but the controls (NUL, CR, LF, DEL...).
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) t[c] |= kFieldChar;
    // RFC 9110 §5.6.2 tchar.
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) t[c] |= kTchar;
  }
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] |= kTchar;
  return t;
}();

constexpr bool is_tchar(unsigned char c) {
  return (kByteClass[c] & kTchar) != 0;
}
constexpr bool is_field_char(unsigned char c) {
  return (kByteClass[c] & kFieldChar) != 0;
}

// Visible ASCII: what a request-target may contain (no spaces, controls or raw 8-bit bytes).
constexpr bool is_target_char(unsigned char c) {
  return c > 0x20 && c < 0x7f;
}

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool all_tchar(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

// 1*DIGIT without sign or overflow.
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// Calls fn(element) for each OWS-trimmed element of a comma-separated list (RFC 9110 §5.6.1),
// empty elements included so that callers can reject them.
template <typename Fn>
void for_each_list_element(std::string_view list, Fn&& fn) {
  while (true) {
    auto comma = list.find(',');
    fn(trim_ows(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

int status_of(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return 200;
    case ParseError::kBadRequest:
      return 400;
    case ParseError::kHeaderTooLarge:
      return 431;
    case ParseError::kBodyTooLarge:
      return 413;
    case ParseError::kNotImplemented:
      return 501;
    case ParseError::kVersionNotSupported:
      return 505;
    case ParseError::kExpectationFailed:
      return 417;
  }
  return 400;
}

const char* describe(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return "ok";
    case ParseError::kBadRequest:
      return "malformed request";
    case ParseError::kHeaderTooLarge:
      return "request header fields too large";
    case ParseError::kBodyTooLarge:
      return "request body too large";
    case ParseError::kNotImplemented:
      return "unsupported transfer-coding";
    case ParseError::kVersionNotSupported:
      return "HTTP version not supported";
    case ParseError::kExpectationFailed:
      return "unsupported expectation";
  }
  return "malformed request";
}

std::string_view RequestHead::path() const {
  return std::string_view(target).substr(0, target.find('?'));
}

std::string_view RequestHead::query() const {
  auto q = target.find('?');
  if (q == std::string::npos) return {};
  return std::string_view(target).substr(q + 1);
}

RequestParser::RequestParser() : RequestParser(Limits{}) {}

RequestParser::RequestParser(Limits limits) : limits_(limits) {}

void RequestParser::reset() {
  state_ = State::kHead;
  error_ = ParseError::kNone;
  head_ = RequestHead{};
  std::string().swap(body_);  // a large body's buffer must not outlive its request
  line_.clear();
  head_bytes_ = 0;
  leading_empty_lines_ = 0;
  request_line_done_ = false;
  saw_transfer_encoding_ = false;
  transfer_encoding_ok_ = false;
  connection_close_ = false;
  connection_keep_alive_ = false;
  host_count_ = 0;
  expect_bad_ = false;
  expect_continue_ = false;
  max_body_ = 0;
  padding_ = 0;
  remaining_ = 0;
  chunk_state_ = ChunkState::kSize;
  chunk_size_ = 0;
  chunk_line_bytes_ = 0;
  chunk_size_digits_ = false;
  trailer_bytes_ = 0;
  bytes_seen_ = 0;
}

void RequestParser::fail(ParseError error) {
  state_ = State::kFailed;
  error_ = error;
}

std::size_t RequestParser::feed(const char* data, std::size_t len) {
  std::size_t used = 0;
  while (used < len) {
    std::size_t n = 0;
    if (state_ == State::kHead) {
      n = feed_head(data + used, len - used);
    } else if (state_ == State::kBody) {
      n = head_.chunked ? feed_chunked(data + used, len - used)
                        : feed_length_body(data + used, len - used);
    } else {
      break;
    }
    used += n;
    if (n == 0) break;
  }
  bytes_seen_ += used;
  return used;
}

// ---- head -------------------------------------------------------------------------------------

std::size_t RequestParser::feed_head(const char* data, std::size_t len) {
  std::size_t pos = 0;
  while (state_ == State::kHead && pos < len) {
    const std::size_t room = limits_.max_head_bytes - head_bytes_;
    if (room == 0) {
      fail(ParseError::kHeaderTooLarge);
      break;
    }
    // Only new bytes are searched, and never past the limit: a 1 MiB line costs what 16 KiB do.
    const std::size_t span = std::min(len - pos, room);
    const char* start = data + pos;
    const auto* nl = static_cast<const char*>(std::memchr(start, '\n', span));
    if (nl == nullptr) {
      bytes_scanned_ += span;
      line_.append(start, span);
      head_bytes_ += span;
      pos += span;
      continue;
    }
    const auto n = static_cast<std::size_t>(nl - start) + 1;
    bytes_scanned_ += n;
    head_bytes_ += n;
    pos += n;
    if (line_.empty()) {
      on_head_line(std::string_view(start, n - 1));  // the whole line is in this feed: no copy
    } else {
      line_.append(start, n - 1);
      on_head_line(line_);
      line_.clear();
    }
  }
  return pos;
}

void RequestParser::on_head_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF or bare LF
  if (!request_line_done_) {
    if (line.empty()) {
      if (++leading_empty_lines_ > kMaxLeadingEmptyLines) fail(ParseError::kBadRequest);
      return;
    }
    if (parse_request_line(line)) request_line_done_ = true;
    return;
  }
  if (line.empty()) {
    finish_head();
    return;
  }
  parse_header_line(line);
}

bool RequestParser::parse_request_line(std::string_view line) {
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) {
    fail(ParseError::kBadRequest);
    return false;
  }
  const auto method = line.substr(0, sp1);
  auto rest = line.substr(sp1 + 1);
  const auto sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos || sp2 == 0) {
    fail(ParseError::kBadRequest);
    return false;
  }
  const auto target = rest.substr(0, sp2);
  const auto version = rest.substr(sp2 + 1);

  if (!all_tchar(method) || !std::all_of(target.begin(), target.end(), [](char c) {
        return is_target_char(static_cast<unsigned char>(c));
      })) {
    fail(ParseError::kBadRequest);
    return false;
  }

  // HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive). Other well-formed versions (and
  // "HTTP/2", "HTTP/3" as some clients write them) get 505; anything else is garbage.
  constexpr std::string_view kPrefix = "HTTP/";
  if (version.substr(0, kPrefix.size()) != kPrefix) {
    fail(ParseError::kBadRequest);
    return false;
  }
  const auto number = version.substr(kPrefix.size());
  if (number == "1.1" || number == "1.0") {
    head_.version_minor = number[2] - '0';
  } else {
    const auto dot = number.find('.');
    const auto major = number.substr(0, dot);
    const auto minor =
        dot == std::string_view::npos ? std::string_view("0") : number.substr(dot + 1);
    const bool well_formed = !major.empty() && !minor.empty() && major.size() <= 3 &&
                             minor.size() <= 3 &&
                             std::all_of(major.begin(), major.end(), is_digit) &&
                             std::all_of(minor.begin(), minor.end(), is_digit);
    fail(well_formed ? ParseError::kVersionNotSupported : ParseError::kBadRequest);
    return false;
  }
  head_.method.assign(method);
  head_.target.assign(target);
  return true;
}

bool RequestParser::parse_header_line(std::string_view line) {
  // obs-fold (RFC 9112 §5.2) is rejected, as is any line not starting with a field name.
  std::size_t i = 0;
  while (i < line.size() && is_tchar(static_cast<unsigned char>(line[i]))) ++i;
  if (i == 0 || i == line.size() || line[i] != ':') {  // covers "Name : value" too
    fail(ParseError::kBadRequest);
    return false;
  }
  const auto name = line.substr(0, i);
  const auto raw_value = line.substr(i + 1);
  for (char c : raw_value) {
    if (!is_field_char(static_cast<unsigned char>(c))) {
      fail(ParseError::kBadRequest);
      return false;
    }
  }
  if (head_.headers.all().size() >= limits_.max_header_fields) {
    fail(ParseError::kHeaderTooLarge);
    return false;
  }
  const auto value = trim_ows(raw_value);
  if (!note_framing_header(name, value)) return false;
  // Room for a provider's usual head (GitHub sends about 14 fields) in one allocation instead
  // of five growing ones; made with the first field, so an idle connection holds none.
  if (head_.headers.empty()) head_.headers.reserve(kTypicalHeaderFields);
  head_.headers.add(std::string(name), std::string(value));
  return true;
}

// Records what the message framing and connection handling depend on, as each field arrives,
// so that finish_head() never searches the headers.
bool RequestParser::note_framing_header(std::string_view name, std::string_view value) {
  switch (name.size()) {
    case 4:
      if (iequals(name, "host") && ++host_count_ > 1) {
        fail(ParseError::kBadRequest);
        return false;
      }
      return true;
    case 6:
      if (iequals(name, "expect")) {
        if (iequals(value, "100-continue")) {
          expect_continue_ = true;
        } else {
          expect_bad_ = true;
        }
      }
      return true;
    case 10:
      if (iequals(name, "connection")) {
        for_each_list_element(value, [&](std::string_view token) {
          if (iequals(token, "close")) connection_close_ = true;
          if (iequals(token, "keep-alive")) connection_keep_alive_ = true;
        });
      }
      return true;
    case 14:
      if (iequals(name, "content-length")) {
        // Several fields, or a list, are only acceptable when they all say the same number
        // (RFC 9112 §6.3 item 5); anything else is a smuggling attempt or a broken client.
        bool ok = true;
        for_each_list_element(value, [&](std::string_view element) {
          auto n = parse_decimal(element);
          if (!n || (head_.content_length && *head_.content_length != *n)) {
            ok = false;
            return;
          }
          head_.content_length = *n;
        });
        if (!ok) {
          fail(ParseError::kBadRequest);
          return false;
        }
      }
      return true;
    case 17:
      if (iequals(name, "transfer-encoding")) {
        if (value.empty()) {
          fail(ParseError::kBadRequest);
          return false;
        }
        // Exactly one field saying exactly "chunked": a second field would apply a second coding.
        transfer_encoding_ok_ = !saw_transfer_encoding_ && iequals(value, "chunked");
        saw_transfer_encoding_ = true;
      }
      return true;
    default:
      return true;
  }
}

void RequestParser::finish_head() {
  const bool http10 = head_.version_minor == 0;
  if (limits_.require_host && !http10 && host_count_ == 0) return fail(ParseError::kBadRequest);
  if (saw_transfer_encoding_) {
    // RFC 9112 §6.1: TE with CL, or TE in HTTP/1.0, is faulty framing.
    if (head_.content_length || http10) return fail(ParseError::kBadRequest);
    if (!transfer_encoding_ok_) return fail(ParseError::kNotImplemented);
    head_.chunked = true;
  }
  if (expect_bad_) return fail(ParseError::kExpectationFailed);
  head_.expect_continue = expect_continue_ && !http10;  // RFC 9110 §10.1.1
  head_.keep_alive = http10 ? (connection_keep_alive_ && !connection_close_) : !connection_close_;
  state_ = State::kHeadReady;
}

// ---- body -------------------------------------------------------------------------------------

void RequestParser::accept_body(std::uint64_t max_body_bytes, std::size_t padding) {
  if (state_ != State::kHeadReady) return;
  max_body_ = max_body_bytes;
  padding_ = padding;
  body_.clear();
  if (head_.chunked) {
    state_ = State::kBody;
    chunk_state_ = ChunkState::kSize;
    return;
  }
  const std::uint64_t length = head_.content_length.value_or(0);
  if (length == 0) return complete();
  if (length > max_body_bytes || length > body_.max_size() - padding) {
    return fail(ParseError::kBodyTooLarge);
  }
  try {
    body_.reserve(static_cast<std::size_t>(length) + padding);
  } catch (const std::exception&) {  // the owner's limit is larger than memory allows
    return fail(ParseError::kBodyTooLarge);
  }
  remaining_ = length;
  state_ = State::kBody;
}

void RequestParser::append_body(const char* data, std::size_t len) {
  const std::size_t need = body_.size() + len + padding_;
  if (need > body_.capacity()) {
    try {
      // Geometric growth for chunked bodies: many small chunks must not mean many copies;
      // never past what the largest allowed body needs (a server's budget charges capacity).
      const std::uint64_t cap = std::max<std::uint64_t>(max_body_ + padding_, need);
      const auto target = static_cast<std::size_t>(
          std::min<std::uint64_t>(std::max(need, body_.capacity() * 2), cap));
      // libstdc++'s reserve() grows to at least twice the old capacity, so the capped size
      // needs a fresh buffer of exactly that size.
      std::string grown;
      grown.reserve(target);
      grown.append(body_);
      body_.swap(grown);
    } catch (const std::exception&) {
      return fail(ParseError::kBodyTooLarge);
    }
  }
  body_.append(data, len);
}

void RequestParser::complete() {
  if (head_.chunked || head_.content_length) {
    const std::size_t need = body_.size() + padding_;
    if (need > body_.capacity()) {
      try {
        body_.reserve(need);
      } catch (const std::exception&) {
        return fail(ParseError::kBodyTooLarge);
      }
    }
  }
  state_ = State::kComplete;
}

std::size_t RequestParser::feed_length_body(const char* data, std::size_t len) {
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, len));
  append_body(data, n);
  if (state_ == State::kFailed) return n;
  remaining_ -= n;
  if (remaining_ == 0) complete();
  return n;
}

std::size_t RequestParser::feed_chunked(const char* data, std::size_t len) {
  std::size_t pos = 0;
  auto end_size_line = [&] {
    if (chunk_size_ == 0) {
      chunk_state_ = ChunkState::kTrailerStart;
      trailer_bytes_ = 0;
    } else if (chunk_size_ > max_body_ - std::min<std::uint64_t>(max_body_, body_.size())) {
      // Fail on the announcement: no byte of a chunk that cannot fit is ever read.
      fail(ParseError::kBodyTooLarge);
    } else {
      remaining_ = chunk_size_;
      chunk_state_ = ChunkState::kData;
    }
    chunk_size_ = 0;
    chunk_size_digits_ = false;
    chunk_line_bytes_ = 0;
  };
  auto count_line_byte = [&] {
    if (++chunk_line_bytes_ > limits_.max_chunk_line_bytes) {
      fail(ParseError::kBadRequest);
      return false;
    }
    return true;
  };
  auto count_trailer_byte = [&] {
    if (++trailer_bytes_ > limits_.max_head_bytes) {
      fail(ParseError::kHeaderTooLarge);
      return false;
    }
    return true;
  };

  while (pos < len && state_ == State::kBody) {
    if (chunk_state_ == ChunkState::kData) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, len - pos));
      append_body(data + pos, n);
      pos += n;
      remaining_ -= n;
      if (remaining_ == 0) chunk_state_ = ChunkState::kDataCr;
      continue;
    }
    const char c = data[pos++];
    const auto uc = static_cast<unsigned char>(c);
    switch (chunk_state_) {
      case ChunkState::kSize: {
        if (!count_line_byte()) break;
        const int digit = hex_value(c);
        if (digit >= 0) {
          if (chunk_size_ > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
            fail(ParseError::kBadRequest);
            break;
          }
          chunk_size_ = (chunk_size_ << 4) | static_cast<std::uint64_t>(digit);
          chunk_size_digits_ = true;
        } else if (!chunk_size_digits_) {
          fail(ParseError::kBadRequest);
        } else if (c == ';') {
          chunk_state_ = ChunkState::kExt;
        } else if (is_ows(c)) {
          chunk_state_ = ChunkState::kSizeBws;
        } else if (c == '\r') {
          chunk_state_ = ChunkState::kSizeLf;
        } else if (c == '\n') {
          end_size_line();
        } else {
          fail(ParseError::kBadRequest);
        }
        break;
      }
      case ChunkState::kSizeBws:  // BWS is allowed only before an extension
        if (!count_line_byte()) break;
        if (c == ';') {
          chunk_state_ = ChunkState::kExt;
        } else if (!is_ows(c)) {
          fail(ParseError::kBadRequest);
        }
        break;
      case ChunkState::kExt:
        if (!count_line_byte()) break;
        if (c == '\r') {
          chunk_state_ = ChunkState::kSizeLf;
        } else if (c == '\n') {
          end_size_line();
        } else if (!is_field_char(uc)) {
          fail(ParseError::kBadRequest);
        }
        break;
      case ChunkState::kSizeLf:
        if (!count_line_byte()) break;
        if (c == '\n') {
          end_size_line();
        } else {
          fail(ParseError::kBadRequest);  // a bare CR is never a line end
        }
        break;
      case ChunkState::kData:
        break;  // handled above
      case ChunkState::kDataCr:
        if (c == '\r') {
          chunk_state_ = ChunkState::kDataLf;
        } else if (c == '\n') {
          chunk_state_ = ChunkState::kSize;
        } else {
          fail(ParseError::kBadRequest);
        }
        break;
      case ChunkState::kDataLf:
        if (c == '\n') {
          chunk_state_ = ChunkState::kSize;
        } else {
          fail(ParseError::kBadRequest);
        }
        break;
      case ChunkState::kTrailerStart:
        if (!count_trailer_byte()) break;
        if (c == '\r') {
          chunk_state_ = ChunkState::kEndLf;
        } else if (c == '\n') {
          complete();
        } else if (is_tchar(uc)) {
          chunk_state_ = ChunkState::kTrailerLine;  // trailer fields are skipped, not kept
        } else {
          fail(ParseError::kBadRequest);  // obs-fold or garbage
        }
        break;
      case ChunkState::kTrailerLine:
        if (!count_trailer_byte()) break;
        if (c == '\r') {
          chunk_state_ = ChunkState::kTrailerLf;
        } else if (c == '\n') {
          chunk_state_ = ChunkState::kTrailerStart;
        } else if (!is_field_char(uc)) {
          fail(ParseError::kBadRequest);
        }
        break;
      case ChunkState::kTrailerLf:
        if (!count_trailer_byte()) break;
        if (c == '\n') {
          chunk_state_ = ChunkState::kTrailerStart;
        } else {
          fail(ParseError::kBadRequest);
        }
        break;
      case ChunkState::kEndLf:
        if (!count_trailer_byte()) break;
        if (c == '\n') {
          complete();
        } else {
          fail(ParseError::kBadRequest);
        }
        break;
    }
  }
  return pos;
}

}  // namespace wi::http
