#include "workers/chargify/mime_message.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/codec.h"
#include "common/text.h"
#include "workers/chargify/mail_template.h"

namespace wi::chargify {

namespace {

constexpr const char* kCrlf = "\r\n";
// RFC 2047 section 2: the longest line that may hold an encoded word.
constexpr std::size_t kMaxEncodedLine = 76;

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

// Base64 in lines of 76 characters, each ending with CRLF.
std::string base64_lines(std::string_view bytes) {
  std::string encoded = codec::base64_encode(bytes);
  std::string out;
  out.reserve(encoded.size() + encoded.size() / 76 * 2 + 2);
  for (std::size_t i = 0; i < encoded.size(); i += 76) {
    out.append(encoded, i, 76);
    out += kCrlf;
  }
  return out;
}

std::string crlf_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    if (text[i] == '\n') {
      out += kCrlf;
    } else {
      out += text[i];
    }
  }
  return out;
}

// A display name: as a quoted string when ASCII, else encoded words. `used`: the characters
// before it on the header's first line ("To: ").
std::string display_name(std::string_view name, std::size_t used) {
  std::string safe = safe_text(name);
  if (!printable_ascii(safe) || safe.find("=?") != std::string::npos) {
    return encode_header_text(safe, used);
  }
  std::string out = "\"";
  for (char c : safe) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}


// `used`: the characters before the mailbox on the header's first line ("To: ").
std::string mailbox_header(std::string_view name, std::string_view address, std::size_t used) {
  std::string n(text::trim(name));
  if (n.size() >= 2 && n.front() == '"' && n.back() == '"') n = n.substr(1, n.size() - 2);
  const std::string angle_addr = "<" + std::string(address) + ">";
  if (n.empty()) return angle_addr;
  std::string shown = display_name(n, used);
  // A line holding encoded words is at most 76 characters (RFC 2047 section 2): when the
  // address does not fit after the last one, it goes on a line of its own.
  auto fold = shown.rfind("\r\n");
  std::size_t last_line = fold == std::string::npos ? used + shown.size() : shown.size() - fold - 2;
  if (shown.rfind("=?", 0) == 0 && last_line + 1 + angle_addr.size() > kMaxEncodedLine) {
    return shown + "\r\n " + angle_addr;
  }
  return shown + " " + angle_addr;
}

std::string from_header(std::string_view from, std::size_t used) {
  auto open = from.rfind('<');
  if (open == std::string_view::npos) return mailbox_header("", text::trim(from), used);
  auto close = from.find('>', open);
  return mailbox_header(from.substr(0, open), from.substr(open + 1, close - open - 1), used);
}

std::string file_name_params(std::string_view param, std::string_view file_name) {
  std::string safe = safe_text(file_name);
  if (printable_ascii(safe) && safe.find_first_of("\"\\") == std::string::npos) {
    return fmt::format("{}=\"{}\"", param, safe);
  }
  return fmt::format("{}*=UTF-8''{}", param, codec::percent_encode(safe, /*space_as_plus=*/false));
}

}  // namespace

std::string encode_header_text(std::string_view text, std::size_t used) {
  std::string safe = safe_text(text);
  if (printable_ascii(safe) && safe.find("=?") == std::string::npos) return safe;
  // RFC 2047 section 2: an encoded word is at most 75 characters, and a line holding encoded
  // words at most 76, counting what precedes the word on it ("Subject: " on the first line,
  // the folding space on the others). Each line gets one word "=?UTF-8?B?...?=" with as many
  // whole UTF-8 characters as fit (RFC 2047 section 5: words never split a character).
  constexpr std::size_t kWordOverhead = 12;  // "=?UTF-8?B?" and "?="
  constexpr std::size_t kMaxWord = 75;
  std::string out;
  std::size_t i = 0;
  std::size_t prefix = used;  // characters on the current line before its encoded word
  while (i < safe.size()) {
    std::size_t room = std::min(kMaxEncodedLine - std::min(prefix, kMaxEncodedLine), kMaxWord);
    std::size_t max_bytes = room > kWordOverhead ? (room - kWordOverhead) / 4 * 3 : 0;
    std::size_t end = std::min(i + max_bytes, safe.size());
    while (end < safe.size() && end > i && (static_cast<unsigned char>(safe[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (end == i) {
      // Not one character fits after a long header name: the first word starts a new line.
      // (A continuation line holds 45 bytes, and safe_text() leaves only valid UTF-8.)
      out += "\r\n ";
      prefix = 1;
      continue;
    }
    out += "=?UTF-8?B?" + codec::base64_encode(std::string_view(safe).substr(i, end - i)) + "?=";
    i = end;
    if (i < safe.size()) out += "\r\n ";
    prefix = 1;
  }
  return out;
}

std::string rfc5322_date(SystemTime t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday],
                     tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

std::string content_type_for(std::string_view file_name) {
  auto dot = file_name.rfind('.');
  std::string ext = dot == std::string_view::npos ? "" : std::string(file_name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == "pdf") return "application/pdf";
  if (ext == "zip") return "application/zip";
  if (ext == "epub") return "application/epub+zip";
  if (ext == "txt") return "text/plain";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "mp3") return "audio/mpeg";
  return "application/octet-stream";
}

std::string build_mime_message(const MailContent& c, std::string_view boundary_token) {
  std::string out;
  // Each encoded header's first line counts its name (RFC 2047's 76 characters).
  constexpr std::string_view kFrom = "From: ", kTo = "To: ", kSubject = "Subject: ";
  out += std::string(kFrom) + from_header(c.from, kFrom.size()) + kCrlf;
  out += std::string(kTo) + mailbox_header(c.to_name, c.to_address, kTo.size()) + kCrlf;
  out += std::string(kSubject) + encode_header_text(c.subject, kSubject.size()) + kCrlf;
  out += "Date: " + rfc5322_date(c.date) + kCrlf;
  out += "Message-ID: <" + c.message_id + ">" + kCrlf;
  out += std::string("MIME-Version: 1.0") + kCrlf;
  const std::string text_part_headers = std::string("Content-Type: text/plain; charset=UTF-8") +
                                        kCrlf + "Content-Transfer-Encoding: base64" + kCrlf;
  const std::string text = base64_lines(crlf_lines(c.text));
  if (!c.attachment) {
    out += text_part_headers + kCrlf + text;
    return out;
  }
  // '=' and '_' never occur in base64 text, so the boundary cannot appear inside a part.
  const std::string boundary = "=_wi_" + std::string(boundary_token);
  out += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"" + kCrlf + kCrlf;
  out += "This is a MIME message." + std::string(kCrlf);
  out += "--" + boundary + kCrlf + text_part_headers + kCrlf + text;
  const auto& a = *c.attachment;
  out += "--" + boundary + kCrlf;
  out += "Content-Type: " + a.content_type + "; " + file_name_params("name", a.file_name) + kCrlf;
  out += "Content-Transfer-Encoding: base64" + std::string(kCrlf);
  out += "Content-Disposition: attachment; " + file_name_params("filename", a.file_name) + kCrlf;
  out += kCrlf + base64_lines(a.bytes);
  out += "--" + boundary + "--" + kCrlf;
  return out;
}

}  // namespace wi::chargify
