// Every error code's HTTP status, in one table (STYLE habit 2).
#include "ingest/http_status.h"

#include <gtest/gtest.h>

namespace wi::ingest {
namespace {

TEST(HttpStatusOf, MapsEveryErrorCode) {
  EXPECT_EQ(http_status_of(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(http_status_of(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(http_status_of(ErrorCode::kNotFound), 404);
  EXPECT_EQ(http_status_of(ErrorCode::kMethodNotAllowed), 405);
  EXPECT_EQ(http_status_of(ErrorCode::kConflict), 409);
  EXPECT_EQ(http_status_of(ErrorCode::kTooLarge), 413);
  EXPECT_EQ(http_status_of(ErrorCode::kUnsupported), 415);
  EXPECT_EQ(http_status_of(ErrorCode::kRateLimited), 429);
  EXPECT_EQ(http_status_of(ErrorCode::kInternal), 500);
  EXPECT_EQ(http_status_of(ErrorCode::kResourceExhausted), 503);
  EXPECT_EQ(http_status_of(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(http_status_of(ErrorCode::kTimeout), 503);
}

TEST(HttpStatusOf, ErrorResponseIsJsonWithTheClientMessage) {
  auto r = error_response(ErrorCode::kUnauthenticated, "invalid signature");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "{\"error\":\"invalid signature\"}");
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].value, "application/json");
}

}  // namespace
}  // namespace wi::ingest
