#include "workers/chargify/mail_template.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/codec.h"
#include "common/text.h"
#include "common/utf8.h"

namespace wi::chargify {

namespace {


}  // namespace

Result<MailTemplate> MailTemplate::parse(std::string_view text,
                                         const std::set<std::string>& allowed, Escaping escaping) {
  MailTemplate t;
  t.escaping_ = escaping;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.parts_.push_back({false, std::string(text.substr(pos))});
      break;
    }
    if (open > pos) t.parts_.push_back({false, std::string(text.substr(pos, open - pos))});
    auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return Error::invalid(fmt::format("unclosed '{{{{' at offset {}", open));
    }
    std::string name(text::trim(text.substr(open + 2, close - open - 2), " "));
    if (!allowed.count(name)) {
      return Error::invalid(fmt::format("unknown placeholder {{{{{}}}}} (allowed: {})", name,
                                        fmt::join(allowed, ", ")));
    }
    t.parts_.push_back({true, std::move(name)});
    pos = close + 2;
  }
  return t;
}

std::string MailTemplate::render(const std::map<std::string, std::string>& values) const {
  std::string out;
  for (const auto& part : parts_) {
    if (!part.placeholder) {
      out += part.text;
      continue;
    }
    auto it = values.find(part.text);
    if (it == values.end()) continue;
    out += escaping_ == Escaping::kUrl ? codec::percent_encode(it->second, /*space_as_plus=*/false)
                                       : safe_text(it->second);
  }
  return out;
}

bool MailTemplate::uses(const std::string& placeholder) const {
  return std::any_of(parts_.begin(), parts_.end(), [&](const Part& p) {
    return p.placeholder && p.text == placeholder;
  });
}

std::string safe_text(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size();) {
    std::size_t n = utf8::sequence_length(value, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    auto c = static_cast<unsigned char>(value[i]);
    if (n == 1 && (c < 0x20 || c == 0x7f)) {
      out += ' ';
    } else {
      out.append(value.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace wi::chargify
