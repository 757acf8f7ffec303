#pragma once
// CurlHttpClient: HttpClient on libcurl (the only code besides the SMTP adapter that includes
// curl). One easy handle per request: simple, thread-safe, and cheap enough for the few
// calls per record that workers make.

#include <cstddef>

#include "common/http_client.h"

namespace wi::http_client {

struct CurlOptions {
  std::chrono::milliseconds connect_timeout{5000};
  // Larger response bodies fail the request (an API answer is small; a huge one is a bug
  // or an attack on our memory).
  std::size_t max_response_bytes = 16 * 1024 * 1024;
  std::string user_agent = "webhook-ingest";
};

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlOptions options = {});
  Result<Response> send(const Request& request) override;

 private:
  CurlOptions options_;
};

}  // namespace wi::http_client
