#pragma once
// One blocking HTTP POST, for `ingestctl send`. Plain http:// only, over a socket of our own:
// ingestctl does not link libcurl. Kept in this one file so that a curl-based client can
// replace it without touching the command.

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"
#include "ctl/http_wire.h"

namespace wi::ctl {

// POSTs `body` with `headers` (Host, Content-Length and Connection are added) and returns the
// response, whatever its status. Errors: connection, timeout or a malformed response.
Result<HttpReply> http_post(const HttpUrl& url, const std::vector<http::Header>& headers,
                            const std::string& body, std::chrono::milliseconds timeout);

}  // namespace wi::ctl
