#include "ingest/http_status.h"

namespace wi::ingest {

int http_status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kUnsupported: return 415;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kInternal: return 500;
    // Not now, maybe later: the client retries (with Retry-After where the caller knows when).
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout: return 503;
  }
  return 500;
}

http::Response error_response(ErrorCode code, std::string_view message) {
  return http::json_error(http_status_of(code), message);
}

}  // namespace wi::ingest
