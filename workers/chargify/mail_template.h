#pragma once
// MailTemplate: the catalog's subject, body and download_url texts with `{{name}}`
// placeholders (spaces inside the braces allowed: `{{ name }}`). Parsed once at startup, so
// an unknown placeholder or an unclosed `{{` is a configuration problem, never a surprise in
// a customer's e-mail.
//
// Values are made safe for where they land: control characters (CR, LF, ...) become spaces,
// so a customer's name cannot add header lines or forge lines in the body; bytes that are not
// UTF-8 become U+FFFD, so the text part stays valid UTF-8. URL templates additionally
// percent-encode every value.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace wi::chargify {

class MailTemplate {
 public:
  enum class Escaping { kText, kUrl };

  MailTemplate() = default;
  // Errors name the unknown placeholder or the position of an unclosed `{{`.
  static Result<MailTemplate> parse(std::string_view text, const std::set<std::string>& allowed,
                                    Escaping escaping = Escaping::kText);

  // Placeholders missing from `values` render as "".
  std::string render(const std::map<std::string, std::string>& values) const;
  bool uses(const std::string& placeholder) const;
  bool empty() const { return parts_.empty(); }

 private:
  struct Part {
    bool placeholder = false;
    std::string text;  // literal text, or the placeholder's name
  };
  std::vector<Part> parts_;
  Escaping escaping_ = Escaping::kText;
};

// Control characters → ' ', invalid UTF-8 → U+FFFD.
std::string safe_text(std::string_view value);

}  // namespace wi::chargify
