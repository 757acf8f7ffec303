#include "workers/dropbox/dropbox_api.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <string_view>

#include "common/codec.h"
#include "common/json_text.h"

namespace wi::dropbox {

namespace {

// Dropbox ends error_summary with "/.." or "/..." (the elided rest of the error's path),
// which reads as part of whatever sentence the summary ends up in: left out.
std::string_view without_elision(std::string_view summary) {
  auto slash = summary.rfind('/');
  if (slash != std::string_view::npos &&
      summary.find_first_not_of('.', slash + 1) == std::string_view::npos) {
    return summary.substr(0, slash);
  }
  return summary;
}

// The one wording of an API refusal in details, logs and dead-letter reasons.
std::string describe(int status, const ApiError& error) {
  return error.summary.empty()
             ? fmt::format("HTTP {}", status)
             : fmt::format("HTTP {} {}", status, without_elision(error.summary));
}

// The token endpoint's refusal, {"error":"invalid_grant","error_description":"..."} (RFC 6749
// section 5.2): its error code and what it means. Only a code that looks like one (lowercase
// letters and '_'): error_description, or an odd "error", is free text the provider may fill
// with what it was sent, and the request held the refresh token and the app secret.
std::string describe_oauth_error(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  std::string_view code;
  if (parser.parse(body.data(), body.size()).get(doc) || doc["error"].get(code)) return "";
  const bool code_like = !code.empty() && code.size() <= 40 &&
                         std::all_of(code.begin(), code.end(),
                                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
  if (!code_like) return "(an unrecognised OAuth error)";
  const std::string safe(code);
  if (safe == "invalid_grant") return safe + " (the refresh token was revoked or expired)";
  if (safe == "invalid_client") return safe + " (the app key or app secret is wrong)";
  if (safe == "unauthorized_client") return safe + " (the app may not use refresh tokens)";
  if (safe == "invalid_request" || safe == "unsupported_grant_type") {
    return safe + " (the token request was malformed)";
  }
  return safe;
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(const std::string& header) {
  std::int64_t seconds = 0;
  const char* end = header.data() + header.size();
  auto [ptr, ec] = std::from_chars(header.data(), end, seconds);
  if (ec != std::errc() || ptr != end || seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

DropboxApi::DropboxApi(http_client::HttpClient& client, DropboxMetrics& metrics,
                       std::string api_url, std::string oauth_url,
                       std::chrono::milliseconds timeout, std::optional<Secret> app_key,
                       std::optional<Secret> app_secret)
    : client_(client),
      metrics_(metrics),
      api_url_(std::move(api_url)),
      oauth_url_(std::move(oauth_url)),
      timeout_(timeout),
      app_key_(std::move(app_key)),
      app_secret_(std::move(app_secret)) {}

ApiAnswer DropboxApi::list_folder(const Secret& access_token) {
  return call("list_folder", "/2/files/list_folder", access_token,
              R"({"path":"","recursive":true,"include_deleted":true})");
}

ApiAnswer DropboxApi::list_folder_continue(const Secret& access_token, const std::string& cursor) {
  return call("list_folder_continue", "/2/files/list_folder/continue", access_token,
              "{\"cursor\":" + json::quote(cursor) + "}");
}

ApiAnswer DropboxApi::call(const char* endpoint, const std::string& path,
                           const Secret& access_token, std::string body) {
  http_client::Request request;
  request.method = "POST";
  request.url = api_url_ + path;
  request.headers = {{"Authorization", "Bearer " + access_token.reveal()},
                     {"Content-Type", "application/json"}};
  request.body = std::move(body);
  request.timeout = timeout_;
  auto response = client_.send(request);
  ApiAnswer answer;
  if (!response) {
    metrics_.api_call(endpoint, 0);
    answer.kind = ApiAnswer::Kind::kTransient;
    answer.detail = fmt::format("{}: {}", endpoint, response.error().message);
    return answer;
  }
  metrics_.api_call(endpoint, response->status);
  answer.status = response->status;
  const int status = response->status;
  if (status == 200) {
    auto page = parse_list_page(response->body);
    if (!page) {
      answer.kind = ApiAnswer::Kind::kBadAnswer;
      answer.detail = fmt::format("{}: {}", endpoint, page.error().message);
      return answer;
    }
    answer.kind = ApiAnswer::Kind::kOk;
    answer.page = std::move(*page);
    return answer;
  }
  ApiError error = parse_api_error(response->body);
  answer.detail = fmt::format("{}: {}", endpoint, describe(status, error));
  if (status == 429) {
    answer.kind = ApiAnswer::Kind::kRateLimited;
    answer.retry_after = parse_retry_after(response->header("retry-after"));
    if (!answer.retry_after && error.retry_after_s) {
      answer.retry_after = std::chrono::seconds(*error.retry_after_s);
    }
  } else if (status == 409 && is_reset(error)) {
    answer.kind = ApiAnswer::Kind::kReset;
  } else if (status == 401) {
    answer.kind = ApiAnswer::Kind::kUnauthorized;
  } else if (status >= 500 || status == 408) {
    answer.kind = ApiAnswer::Kind::kTransient;
  } else {
    answer.kind = ApiAnswer::Kind::kRejected;
  }
  return answer;
}

Result<AccessToken> DropboxApi::refresh(const Secret& refresh_token) {
  if (!app_key_ || !app_secret_) {
    return Error{ErrorCode::kUnauthenticated,
                 "token refresh needs DROPBOX_APP_KEY and DROPBOX_APP_SECRET", false};
  }
  http_client::Request request;
  request.method = "POST";
  request.url = oauth_url_ + "/oauth2/token";
  request.headers = {{"Authorization", "Basic " + codec::base64_encode(app_key_->reveal() + ":" +
                                                                       app_secret_->reveal())},
                     {"Content-Type", "application/x-www-form-urlencoded"}};
  request.body = "grant_type=refresh_token&refresh_token=" +
                 codec::percent_encode(refresh_token.reveal(), /*space_as_plus=*/false);
  request.timeout = timeout_;
  auto response = client_.send(request);
  if (!response) {
    metrics_.api_call("oauth_token", 0);
    return Error{response.error().code, "oauth2/token: " + response.error().message, true};
  }
  metrics_.api_call("oauth_token", response->status);
  const int status = response->status;
  if (status != 200) {
    std::string oauth_error = describe_oauth_error(response->body);
    std::string message =
        oauth_error.empty()
            ? fmt::format("oauth2/token: {}", describe(status, parse_api_error(response->body)))
            : fmt::format("oauth2/token: HTTP {} {}", status, oauth_error);
    if (status == 400 || status == 401 || status == 403) {
      return Error{ErrorCode::kUnauthenticated, std::move(message), false};
    }
    return Error{ErrorCode::kUnavailable, std::move(message), true};
  }
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  std::string_view token;
  if (parser.parse(response->body).get(doc) || doc["access_token"].get(token) || token.empty()) {
    return Error{ErrorCode::kUnavailable, "oauth2/token: the answer has no access_token", true};
  }
  AccessToken out{Secret(std::string(token)), std::chrono::seconds(0)};
  std::int64_t expires_in = 0;
  if (!doc["expires_in"].get(expires_in) && expires_in > 0) {
    out.expires_in = std::chrono::seconds(expires_in);
  }
  return out;
}

}  // namespace wi::dropbox
