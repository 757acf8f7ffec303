#pragma once
// Small text helpers shared by every module (one copy each).

#include <string_view>

namespace wi::text {

// ASCII whitespace as std::isspace sees it in the "C" locale.
inline constexpr std::string_view kWhitespace = " \t\n\v\f\r";

// `s` without leading and trailing characters from `chars`.
constexpr std::string_view trim(std::string_view s, std::string_view chars = kWhitespace) {
  const auto first = s.find_first_not_of(chars);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(chars) - first + 1);
}

}  // namespace wi::text
