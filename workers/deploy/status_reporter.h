#pragma once
// StatusReporter: commit statuses on GitHub (PROVIDERS.md "Reporting back"):
// POST {api}/repos/{owner}/{repo}/statuses/{sha} with `Authorization: Bearer <token>` and
// JSON {state, context: "deploy/<host>", description}. Only when a token is configured.
//
// Best effort by contract: a failed report is logged (without the token) and reported as
// false, never turned into an error — a GitHub outage must not stop deploys.

#include <memory>
#include <optional>
#include <string>

#include "common/http_client.h"
#include "common/secret.h"

namespace spdlog {
class logger;
}

namespace wi::deploy {

class StatusReporter {
 public:
  // `client` may be null, or `token` empty: reporting is then off.
  StatusReporter(http_client::HttpClient* client, std::string api_url, std::optional<Secret> token,
                 std::string host);

  bool enabled() const { return client_ != nullptr && token_.has_value(); }
  std::string context() const { return "deploy/" + host_; }

  // `state`: pending|success|failure|error. True when GitHub accepted it (2xx); false when
  // off, refused or unreachable.
  bool report(const std::string& repo, const std::string& sha, const std::string& state,
              const std::string& description);

 private:
  http_client::HttpClient* client_;
  std::string api_url_;
  std::optional<Secret> token_;
  std::string host_;
  std::shared_ptr<spdlog::logger> log_;
};

// "owner/name" with GitHub's name characters (letters, digits, '.', '_', '-').
bool is_repo_name(const std::string& repo);

}  // namespace wi::deploy
