#include "common/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace wi {
namespace {

Result<int> parse_positive(int n) {
  if (n <= 0) return Error::invalid("not positive");
  return n;
}

Status maybe_fail(bool fail) {
  if (fail) return Error::unavailable("broker down");
  return Status::success();
}

TEST(ResultTest, HoldsValue) {
  Result<int> r = parse_positive(42);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
}

TEST(ResultTest, HoldsError) {
  Result<int> r = parse_positive(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "not positive");
  EXPECT_FALSE(r.error().retryable);
}

TEST(ResultTest, ArrowAndMutationThroughValue) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
  r.value() += "def";
  *r += "!";
  EXPECT_EQ(r.value(), "abcdef!");
}

TEST(ResultTest, MoveOnlyValueCanBeMovedOut) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(ResultTest, ValueOrReturnsValueWhenOk) {
  EXPECT_EQ(parse_positive(5).value_or(99), 5);
  Result<std::string> s = std::string("kept");
  EXPECT_EQ(s.value_or("fallback"), "kept");
}

TEST(ResultTest, ValueOrReturnsFallbackOnError) {
  EXPECT_EQ(parse_positive(0).value_or(99), 99);
  Result<std::string> s = Error::not_found("nope");
  EXPECT_EQ(s.value_or("fallback"), "fallback");
}

TEST(ResultTest, ErrorFactoriesSetCodeAndRetryable) {
  struct Case {
    Error error;
    ErrorCode code;
    bool retryable;
  };
  const std::vector<Case> cases = {
      {Error::invalid("m"), ErrorCode::kInvalidArgument, false},
      {Error::unavailable("m"), ErrorCode::kUnavailable, true},
      {Error::timeout("m"), ErrorCode::kTimeout, true},
      {Error::internal("m"), ErrorCode::kInternal, false},
      {Error::not_found("m"), ErrorCode::kNotFound, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(to_string(c.code));
    EXPECT_EQ(c.error.code, c.code);
    EXPECT_EQ(c.error.retryable, c.retryable);
    EXPECT_EQ(c.error.message, "m");
  }
}

TEST(ResultTest, CustomErrorKeepsAllFields) {
  Result<int> r = Error{ErrorCode::kRateLimited, "slow down", true};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(r.error().message, "slow down");
  EXPECT_TRUE(r.error().retryable);
}

TEST(ResultTest, DefaultErrorIsInternalAndNotRetryable) {
  Error e;
  EXPECT_EQ(e.code, ErrorCode::kInternal);
  EXPECT_FALSE(e.retryable);
  EXPECT_TRUE(e.message.empty());
}

TEST(StatusTest, DefaultAndSuccessAreOk) {
  Status a;
  EXPECT_TRUE(a.ok());
  EXPECT_TRUE(static_cast<bool>(a));
  Status b = Status::success();
  EXPECT_TRUE(b.ok());
  EXPECT_TRUE(maybe_fail(false).ok());
}

TEST(StatusTest, CarriesError) {
  Status s = maybe_fail(true);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(static_cast<bool>(s));
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(s.error().message, "broker down");
  EXPECT_TRUE(s.error().retryable);
}

TEST(ErrorCodeTest, ToStringNamesEveryCode) {
  EXPECT_STREQ(to_string(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_STREQ(to_string(ErrorCode::kNotFound), "not_found");
  EXPECT_STREQ(to_string(ErrorCode::kUnauthenticated), "unauthenticated");
  EXPECT_STREQ(to_string(ErrorCode::kTooLarge), "too_large");
  EXPECT_STREQ(to_string(ErrorCode::kUnsupported), "unsupported");
  EXPECT_STREQ(to_string(ErrorCode::kMethodNotAllowed), "method_not_allowed");
  EXPECT_STREQ(to_string(ErrorCode::kRateLimited), "rate_limited");
  EXPECT_STREQ(to_string(ErrorCode::kResourceExhausted), "resource_exhausted");
  EXPECT_STREQ(to_string(ErrorCode::kUnavailable), "unavailable");
  EXPECT_STREQ(to_string(ErrorCode::kTimeout), "timeout");
  EXPECT_STREQ(to_string(ErrorCode::kConflict), "conflict");
  EXPECT_STREQ(to_string(ErrorCode::kInternal), "internal");
}

TEST(ErrorCodeTest, NamesAreDistinct) {
  std::set<std::string> names;
  for (int i = static_cast<int>(ErrorCode::kInvalidArgument);
       i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    names.insert(to_string(static_cast<ErrorCode>(i)));
  }
  EXPECT_EQ(names.size(), 12u);
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace wi
