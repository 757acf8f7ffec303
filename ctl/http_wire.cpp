#include "ctl/http_wire.h"

#include <charconv>
#include <optional>

#include "common/text.h"

namespace wi::ctl {
namespace {

constexpr std::size_t kMaxHeadBytes = 64 * 1024;

// Optional whitespace around HTTP field values and list items (RFC 9110 §5.6.3).
std::string_view trim(std::string_view s) { return text::trim(s, " \t"); }

template <typename T>
std::optional<T> parse_number(std::string_view text, int base = 10) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (http::iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// A chunked body starting at `data`: the decoded body and the bytes used, nullopt when more
// bytes are needed, or malformed.
struct Chunked {
  bool malformed = false;
  bool complete = false;
  std::size_t used = 0;
  std::string body;
};

Chunked decode_chunked(std::string_view data) {
  Chunked out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t line_end = data.find("\r\n", pos);
    if (line_end == std::string_view::npos) return out;
    std::string_view size_text = data.substr(pos, line_end - pos);
    size_text = trim(size_text.substr(0, size_text.find(';')));
    auto size = parse_number<std::size_t>(size_text, 16);
    if (!size) {
      out.malformed = true;
      return out;
    }
    pos = line_end + 2;
    if (*size == 0) {
      // Trailers, then an empty line.
      while (true) {
        const std::size_t end = data.find("\r\n", pos);
        if (end == std::string_view::npos) return out;
        const bool empty = end == pos;
        pos = end + 2;
        if (empty) break;
      }
      out.complete = true;
      out.used = pos;
      return out;
    }
    if (data.size() < pos + *size + 2) return out;
    out.body.append(data.substr(pos, *size));
    pos += *size;
    if (data.substr(pos, 2) != "\r\n") {
      out.malformed = true;
      return out;
    }
    pos += 2;
  }
}

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  if (url.starts_with("https://")) {
    return Error::invalid(
        "https URLs are not supported: ingestctl's HTTP client speaks plain "
        "http only (point --url at a plain-HTTP listener)");
  }
  if (!url.starts_with(kHttp)) return Error::invalid("URL must start with http://");
  std::string_view rest = url.substr(kHttp.size());
  const std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (authority.empty()) return Error::invalid("URL has no host");
  if (authority.find('@') != std::string_view::npos) {
    return Error::invalid("URL user information is not supported");
  }
  std::string_view port_text;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error::invalid("URL has an unterminated '['");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error::invalid("URL has junk after the host");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Error::invalid("URL has no host");
  if (!port_text.empty()) {
    auto port = parse_number<unsigned>(port_text);
    if (!port || *port == 0 || *port > 65535) return Error::invalid("URL has an invalid port");
    out.port = static_cast<std::uint16_t>(*port);
  }
  const bool v6 = out.host.find(':') != std::string::npos;
  out.host_header = (v6 ? "[" + out.host + "]" : out.host) + ":" + std::to_string(out.port);
  return out;
}

std::string build_request(std::string_view method, const HttpUrl& url,
                          const std::vector<http::Header>& headers, std::string_view body,
                          bool keep_alive) {
  std::string out;
  out.reserve(256 + body.size() + headers.size() * 64);
  out.append(method).append(" ").append(url.target).append(" HTTP/1.1\r\n");
  out.append("Host: ").append(url.host_header).append("\r\n");
  bool has_user_agent = false;
  for (const auto& h : headers) {
    if (http::iequals(h.name, "host") || http::iequals(h.name, "content-length") ||
        http::iequals(h.name, "connection")) {
      continue;
    }
    has_user_agent = has_user_agent || http::iequals(h.name, "user-agent");
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (!has_user_agent) out.append("User-Agent: ingestctl\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append(keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
  out.append("\r\n");
  out.append(body);
  return out;
}

const std::string* HttpReply::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (http::iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

ParsedReply parse_response(std::string_view buffer, bool eof) {
  ParsedReply out;
  std::size_t start = 0;
  while (true) {
    std::string_view data = buffer.substr(start);
    const std::size_t head_end = data.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
      out.state = eof || data.size() > kMaxHeadBytes ? ParsedReply::State::kMalformed
                                                     : ParsedReply::State::kIncomplete;
      return out;
    }
    std::string_view head = data.substr(0, head_end);
    const std::size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
      out.state = ParsedReply::State::kMalformed;
      return out;
    }
    const bool http10 = status_line[7] == '0';
    auto status = parse_number<int>(status_line.substr(9, 3));
    if (!status || *status < 100 || *status > 999) {
      out.state = ParsedReply::State::kMalformed;
      return out;
    }
    HttpReply reply;
    reply.status = *status;
    reply.reason = status_line.size() > 13 ? std::string(status_line.substr(13)) : "";
    std::string_view fields =
        line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
    std::optional<std::size_t> content_length;
    bool chunked = false;
    bool keep_alive = !http10;
    while (!fields.empty()) {
      const std::size_t end = fields.find("\r\n");
      std::string_view line = fields.substr(0, end);
      fields = end == std::string_view::npos ? std::string_view() : fields.substr(end + 2);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        out.state = ParsedReply::State::kMalformed;
        return out;
      }
      std::string_view name = line.substr(0, colon);
      std::string_view value = trim(line.substr(colon + 1));
      if (http::iequals(name, "content-length")) {
        content_length = parse_number<std::size_t>(value);
        if (!content_length) {
          out.state = ParsedReply::State::kMalformed;
          return out;
        }
      } else if (http::iequals(name, "transfer-encoding")) {
        chunked = has_token(value, "chunked");
      } else if (http::iequals(name, "connection")) {
        if (has_token(value, "close")) keep_alive = false;
        if (has_token(value, "keep-alive")) keep_alive = keep_alive || http10;
      }
      reply.headers.push_back({std::string(name), std::string(value)});
    }
    std::size_t body_start = head_end + 4;
    if (reply.status < 200) {  // interim response: the final one follows
      start += body_start;
      continue;
    }
    std::string_view rest = data.substr(body_start);
    std::size_t body_used = 0;
    if (reply.status == 204 || reply.status == 304) {
      // no body
    } else if (chunked) {
      Chunked c = decode_chunked(rest);
      if (c.malformed || (!c.complete && eof)) {
        out.state = ParsedReply::State::kMalformed;
        return out;
      }
      if (!c.complete) return out;
      reply.body = std::move(c.body);
      body_used = c.used;
    } else if (content_length) {
      if (rest.size() < *content_length) {
        if (eof) out.state = ParsedReply::State::kMalformed;
        return out;
      }
      reply.body = std::string(rest.substr(0, *content_length));
      body_used = *content_length;
    } else {
      if (!eof) return out;  // delimited by the close
      reply.body = std::string(rest);
      body_used = rest.size();
      keep_alive = false;
    }
    reply.close = !keep_alive;
    out.state = ParsedReply::State::kComplete;
    out.consumed = start + body_start + body_used;
    out.reply = std::move(reply);
    return out;
  }
}

}  // namespace wi::ctl
