#pragma once
// Secret: a string that refuses to be printed. Formatting one (fmt, spdlog) gives
// "<redacted>"; the value is reachable only through reveal(), which is easy to grep for.
// The log redactor (common/log.h) additionally scrubs known secret values from every line.

#include <string>
#include <utility>

#include <fmt/format.h>

namespace wi {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

}  // namespace wi

template <>
struct fmt::formatter<wi::Secret> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const wi::Secret&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format("<redacted>", ctx);
  }
};
