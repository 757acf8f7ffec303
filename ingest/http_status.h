#pragma once
// The one place where an error becomes an HTTP status (STYLE habit 2): every answer ingestd
// gives that is not a success takes its status from here.

#include <string_view>

#include "common/http/response.h"
#include "common/result.h"

namespace wi::ingest {

int http_status_of(ErrorCode code);

// http_status_of(code) with body {"error":"<message>"}; `message` is what the client may see
// (never a secret, never the internal reason).
http::Response error_response(ErrorCode code, std::string_view message);

}  // namespace wi::ingest
