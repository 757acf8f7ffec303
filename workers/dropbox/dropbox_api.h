#pragma once
// DropboxApi: the three Dropbox endpoints dropbox-worker calls, through the HttpClient port,
// with every answer classified into what the poller must do (PROVIDERS.md "Dropbox"):
//
//   200                      → kOk with the parsed page (unparseable: kBadAnswer)
//   429                      → kRateLimited, retry_after from the Retry-After header, else the
//                              JSON error.retry_after
//   409 reset                → kReset (the cursor expired: list again from scratch)
//   401                      → kUnauthorized
//   5xx, no answer, timeout  → kTransient
//   other 4xx, other 409     → kRejected (a permanent problem with this call)
//
// Tokens go only into the Authorization header; no message built here contains one, nor a
// response body (only Dropbox's bounded error_summary). Called on the handler thread.

#include <chrono>
#include <optional>
#include <string>

#include "common/http_client.h"
#include "common/secret.h"
#include "workers/dropbox/dropbox_metrics.h"
#include "workers/dropbox/list_folder.h"

namespace wi::dropbox {

struct ApiAnswer {
  enum class Kind { kOk, kRateLimited, kReset, kUnauthorized, kTransient, kRejected, kBadAnswer };
  Kind kind = Kind::kTransient;
  int status = 0;                                   // 0: no answer
  ListPage page;                                    // kOk
  std::optional<std::chrono::seconds> retry_after;  // kRateLimited, when Dropbox said
  std::string detail;  // for logs and dlq-reason: status and error_summary, never a body
};

struct AccessToken {
  Secret token;
  std::chrono::seconds expires_in{0};  // 0: Dropbox did not say
};

class DropboxApi {
 public:
  // `client` and `metrics` are borrowed. `app_key`/`app_secret` may be absent: refresh() then
  // fails permanently.
  DropboxApi(http_client::HttpClient& client, DropboxMetrics& metrics, std::string api_url,
             std::string oauth_url, std::chrono::milliseconds timeout,
             std::optional<Secret> app_key, std::optional<Secret> app_secret);

  // POST /2/files/list_folder {"path":"","recursive":true,"include_deleted":true}
  ApiAnswer list_folder(const Secret& access_token);
  // POST /2/files/list_folder/continue {"cursor":...}
  ApiAnswer list_folder_continue(const Secret& access_token, const std::string& cursor);

  // POST {oauth}/oauth2/token grant_type=refresh_token, HTTP Basic app key:secret.
  // Errors: kUnauthenticated (not retryable) when Dropbox refuses the refresh token or the app
  // (400/401); retryable for 429, 5xx and transport failures.
  Result<AccessToken> refresh(const Secret& refresh_token);

 private:
  ApiAnswer call(const char* endpoint, const std::string& path, const Secret& access_token,
                 std::string body);

  http_client::HttpClient& client_;
  DropboxMetrics& metrics_;
  std::string api_url_;
  std::string oauth_url_;
  std::chrono::milliseconds timeout_;
  std::optional<Secret> app_key_;
  std::optional<Secret> app_secret_;
};

// A Retry-After header value in seconds ("120"); nullopt for anything else (an HTTP date is
// not worth the parsing: the JSON body carries the seconds too).
std::optional<std::chrono::seconds> parse_retry_after(const std::string& header);

}  // namespace wi::dropbox
