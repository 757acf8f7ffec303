#pragma once
// Result<T>: the value-or-error type returned across every interface on the hot path.
// (std::expected is C++23; g++ 12 does not have it.) Nothing on the hot path throws across
// an interface: callers look at `retryable` to choose retry, dead-letter or an HTTP status.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace wi {

enum class ErrorCode {
  kInvalidArgument,   // the input is wrong; trying again will not help
  kNotFound,
  kUnauthenticated,   // signature missing or wrong
  kTooLarge,
  kUnsupported,       // e.g. content type
  kMethodNotAllowed,  // the resource exists, the method does not apply to it
  kRateLimited,
  kResourceExhausted, // a local bound is reached (a full spool): retry later
  kUnavailable,       // a dependency (Kafka, SMTP, an HTTP API) cannot be reached now
  kTimeout,
  kConflict,
  kInternal,
};

const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  bool retryable = false;

  static Error invalid(std::string msg) { return {ErrorCode::kInvalidArgument, std::move(msg), false}; }
  static Error unavailable(std::string msg) { return {ErrorCode::kUnavailable, std::move(msg), true}; }
  static Error timeout(std::string msg) { return {ErrorCode::kTimeout, std::move(msg), true}; }
  static Error internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg), false}; }
  static Error not_found(std::string msg) { return {ErrorCode::kNotFound, std::move(msg), false}; }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

  T value_or(T fallback) const { return ok() ? std::get<0>(v_) : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  static Result success() { return {}; }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace wi
