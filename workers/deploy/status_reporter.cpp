#include "workers/deploy/status_reporter.h"

#include <algorithm>
#include <cctype>

#include "common/json_text.h"
#include "common/log.h"
#include "workers/deploy/push_event.h"

namespace wi::deploy {

namespace {

constexpr std::size_t kMaxDescription = 140;  // GitHub's limit
constexpr std::chrono::milliseconds kTimeout{5000};

bool name_part(std::string_view part) {
  return !part.empty() && part != "." && part != ".." &&
         std::all_of(part.begin(), part.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
         });
}

}  // namespace

bool is_repo_name(const std::string& repo) {
  auto slash = repo.find('/');
  if (slash == std::string::npos) return false;
  return name_part(std::string_view(repo).substr(0, slash)) &&
         name_part(std::string_view(repo).substr(slash + 1));
}

StatusReporter::StatusReporter(http_client::HttpClient* client, std::string api_url,
                               std::optional<Secret> token, std::string host)
    : client_(client),
      api_url_(std::move(api_url)),
      token_(std::move(token)),
      host_(std::move(host)),
      log_(log::get("deploy-worker")) {
  while (!api_url_.empty() && api_url_.back() == '/') api_url_.pop_back();
  if (token_ && token_->empty()) token_.reset();
}

bool StatusReporter::report(const std::string& repo, const std::string& sha,
                            const std::string& state, const std::string& description) {
  if (!enabled()) return false;
  // Both go into the URL path: only well-formed values, never arbitrary payload text.
  if (!is_repo_name(repo) || !is_sha(sha)) {
    log_->warn("commit status {} not sent: repo or sha is malformed", state);
    return false;
  }
  std::string text = description.substr(0, kMaxDescription);
  std::string body = "{\"state\":" + json::quote(state) + ",\"context\":" + json::quote(context()) +
                     ",\"description\":" + json::quote(text) + "}";
  http_client::Request request;
  request.method = "POST";
  request.url = api_url_ + "/repos/" + repo + "/statuses/" + sha;
  request.headers = {{"Authorization", "Bearer " + token_->reveal()},
                     {"Accept", "application/vnd.github+json"},
                     {"X-GitHub-Api-Version", "2022-11-28"},
                     {"Content-Type", "application/json"}};
  request.body = std::move(body);
  request.timeout = kTimeout;
  auto response = client_->send(request);
  if (!response) {
    log_->warn("commit status {} for {}@{} not sent: {}", state, repo, sha.substr(0, 12),
               response.error().message);
    return false;
  }
  if (response->status < 200 || response->status > 299) {
    log_->warn("commit status {} for {}@{} refused: HTTP {} {}", state, repo, sha.substr(0, 12),
               response->status, json::quote(response->body.substr(0, 200)));
    return false;
  }
  log_->debug("commit status {} for {}@{} sent", state, repo, sha.substr(0, 12));
  return true;
}

}  // namespace wi::deploy
