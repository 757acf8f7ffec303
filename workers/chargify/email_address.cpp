#include "workers/chargify/email_address.h"

#include <cctype>
#include <cstring>

namespace wi::chargify {

namespace {

bool atext(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+/=?^_`{|}~-", c);
}

bool dot_atom(std::string_view s, bool (*allowed)(char)) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char previous = 0;
  for (char c : s) {
    if (c == '.' && previous == '.') return false;
    if (c != '.' && !allowed(c)) return false;
    previous = c;
  }
  return true;
}

bool domain_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

}  // namespace

Result<std::string> validate_email(std::string_view address) {
  while (!address.empty() && address.front() == ' ') address.remove_prefix(1);
  while (!address.empty() && address.back() == ' ') address.remove_suffix(1);
  if (address.empty()) return Error::invalid("e-mail address is empty");
  if (address.size() > 254) return Error::invalid("e-mail address is longer than 254 characters");
  for (char c : address) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return Error::invalid("e-mail address is not ASCII (SMTPUTF8 is not supported)");
    if (u <= 0x20 || u == 0x7f) {
      return Error::invalid("e-mail address contains a space or control character");
    }
  }
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return Error::invalid("e-mail address has no '@'");
  auto local = address.substr(0, at);
  auto domain = address.substr(at + 1);
  if (local.empty() || local.size() > 64 || !dot_atom(local, atext)) {
    return Error::invalid("e-mail address has an invalid local part");
  }
  if (domain.find('.') == std::string_view::npos) {
    return Error::invalid("e-mail address domain has no '.'");
  }
  std::size_t start = 0;
  while (true) {
    auto dot = domain.find('.', start);
    auto label = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!domain_label(label)) return Error::invalid("e-mail address has an invalid domain");
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::string(address);
}

Result<std::string> mailbox_address(std::string_view mailbox) {
  auto open = mailbox.rfind('<');
  if (open != std::string_view::npos) {
    auto close = mailbox.find('>', open);
    if (close == std::string_view::npos || close != mailbox.size() - 1) {
      return Error::invalid("unbalanced '<' in mailbox");
    }
    return validate_email(mailbox.substr(open + 1, close - open - 1));
  }
  return validate_email(mailbox);
}

}  // namespace wi::chargify
