#include "common/codec.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace wi::codec {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t kInvalid = 0xFF;

// Byte -> value lookup tables built at compile time: one load per input byte, no branches on
// character ranges in the decode loops.
constexpr std::array<std::uint8_t, 256> make_hex_table() {
  std::array<std::uint8_t, 256> t{};
  t.fill(kInvalid);
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<std::uint8_t>(i);
  for (int i = 0; i < 6; ++i) {
    t['a' + i] = static_cast<std::uint8_t>(10 + i);
    t['A' + i] = static_cast<std::uint8_t>(10 + i);
  }
  return t;
}

constexpr std::array<std::uint8_t, 256> make_base64_table() {
  std::array<std::uint8_t, 256> t{};
  t.fill(kInvalid);
  for (int i = 0; i < 64; ++i) {
    t[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return t;
}

constexpr auto kHexTable = make_hex_table();
constexpr auto kBase64Table = make_base64_table();

std::uint8_t hex_value(char c) { return kHexTable[static_cast<unsigned char>(c)]; }

std::string base64_encode_with(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out.push_back(alphabet[(v >> 18) & 0x3F]);
    out.push_back(alphabet[(v >> 12) & 0x3F]);
    out.push_back(alphabet[(v >> 6) & 0x3F]);
    out.push_back(alphabet[v & 0x3F]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{p[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 0x3F]);
    out.push_back(alphabet[(v >> 12) & 0x3F]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 0x3F]);
    out.push_back(alphabet[(v >> 12) & 0x3F]);
    out.push_back(alphabet[(v >> 6) & 0x3F]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Appends the decoding of `s` to `out`; false on a bad escape. Shared by percent_decode and
// parse_form so a form body decodes into its final strings without temporaries.
bool percent_decode_into(std::string_view s, bool plus_as_space, std::string& out) {
  out.reserve(out.size() + s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return false;  // fewer than two characters follow the '%'
      const std::uint8_t hi = hex_value(s[i + 1]);
      const std::uint8_t lo = hex_value(s[i + 2]);
      if (hi == kInvalid || lo == kInvalid) return false;
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

}  // namespace

std::string hex_encode(std::string_view bytes) {
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHexDigits[b >> 4];
    out[2 * i + 1] = kHexDigits[b & 0x0F];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint8_t hi = hex_value(hex[2 * i]);
    const std::uint8_t lo = hex_value(hex[2 * i + 1]);
    if (hi == kInvalid || lo == kInvalid) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  return base64_encode_with(bytes, kBase64Alphabet, /*pad=*/true);
}

std::string base64url_encode(std::string_view bytes) {
  return base64_encode_with(bytes, kBase64UrlAlphabet, /*pad=*/false);
}

std::optional<std::string> base64_decode(std::string_view text) {
  // Strip complete padding only: "xx==" or "xxx=" in the final quantum of a multiple-of-4
  // input. Any other '=' is then rejected as a non-alphabet character below.
  if (text.size() % 4 == 0 && !text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    if (text.back() == '=') text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return std::nullopt;

  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::size_t i = 0;
  for (; i + 4 <= text.size(); i += 4) {
    const std::uint8_t a = kBase64Table[static_cast<unsigned char>(text[i])];
    const std::uint8_t b = kBase64Table[static_cast<unsigned char>(text[i + 1])];
    const std::uint8_t c = kBase64Table[static_cast<unsigned char>(text[i + 2])];
    const std::uint8_t d = kBase64Table[static_cast<unsigned char>(text[i + 3])];
    if ((a | b | c | d) & 0x80) return std::nullopt;  // only kInvalid has the high bit set
    const std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) |
                            (std::uint32_t{c} << 6) | d;
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>((v >> 8) & 0xFF));
    out.push_back(static_cast<char>(v & 0xFF));
  }
  const std::size_t rest = text.size() - i;  // 0, 2 or 3
  if (rest >= 2) {
    const std::uint8_t a = kBase64Table[static_cast<unsigned char>(text[i])];
    const std::uint8_t b = kBase64Table[static_cast<unsigned char>(text[i + 1])];
    const std::uint8_t c = rest == 3 ? kBase64Table[static_cast<unsigned char>(text[i + 2])] : 0;
    if ((a | b | c) & 0x80) return std::nullopt;
    const std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) |
                            (std::uint32_t{c} << 6);
    out.push_back(static_cast<char>(v >> 16));
    if (rest == 3) out.push_back(static_cast<char>((v >> 8) & 0xFF));
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space) {
  std::string out;
  if (!percent_decode_into(s, plus_as_space, out)) return std::nullopt;
  return out;
}

std::string percent_encode(std::string_view bytes, bool space_as_plus) {
  static constexpr char kUpperHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                            (u >= '0' && u <= '9') || u == '-' || u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out.push_back(c);
    } else if (c == ' ' && space_as_plus) {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kUpperHex[u >> 4]);
      out.push_back(kUpperHex[u & 0x0F]);
    }
  }
  return out;
}

Result<FormFields> parse_form(std::string_view body) {
  FormFields fields;
  fields.reserve(static_cast<std::size_t>(std::count(body.begin(), body.end(), '&')) + 1);
  std::size_t index = 0;  // 0-based position of the '&'-separated segment, empties included
  while (true) {
    const std::size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      const std::string_view name = pair.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
      auto& field = fields.emplace_back();
      if (!percent_decode_into(name, /*plus_as_space=*/true, field.first)) {
        return Error::invalid("form field " + std::to_string(index) +
                              ": bad percent-escape in name");
      }
      if (!percent_decode_into(value, /*plus_as_space=*/true, field.second)) {
        return Error::invalid("form field " + std::to_string(index) +
                              ": bad percent-escape in value");
      }
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
    ++index;
  }
  return fields;
}

}  // namespace wi::codec
