#include "common/http/headers.h"

namespace wi::http {

namespace {
char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower_ascii(c);
  return out;
}

const std::string* Headers::find(std::string_view name) const {
  for (const auto& h : items_) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::size_t Headers::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& h : items_) n += iequals(h.name, name) ? 1 : 0;
  return n;
}

std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  auto type = content_type.substr(0, semi);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return to_lower(type);
}

}  // namespace wi::http
