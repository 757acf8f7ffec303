#pragma once
// TokenStore: the access token to use for each account (SPEC §5 "Tokens").
//
// The tokens file (DROPBOX_TOKENS_FILE, YAML or JSON) maps each account id to a map with
// `refresh_token` (preferred) or `access_token`:
//     {"dbid:AAH4f99": {"refresh_token": "..."}}
// A refresh token is exchanged through the OAuth endpoint for an access token, cached until
// shortly before Dropbox says it expires. A fixed access token is used as it is. reload()
// re-reads the file (on SIGHUP); a file that no longer parses keeps the tokens in use.
//
// Errors of access_token(): kNotFound "no_token" (the account is not in the file; permanent),
// kUnauthenticated "unauthorized" (Dropbox refused the refresh token; permanent), retryable
// ones for an OAuth endpoint that cannot answer now. No message contains a token.
// Single-threaded: used only on the handler thread.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "common/secret.h"
#include "workers/dropbox/dropbox_api.h"

namespace spdlog {
class logger;
}

namespace wi::dropbox {

struct AccountTokens {
  std::optional<Secret> refresh_token;
  std::optional<Secret> access_token;
  bool operator==(const AccountTokens&) const = default;
};
using TokenMap = std::map<std::string, AccountTokens>;

// Parses the tokens file's text. The error names the problem and the account, never a token.
Result<TokenMap> parse_tokens(std::string_view text);

// Reads and parses `path`; also refuses refresh tokens when the app credentials are missing.
Result<TokenMap> load_tokens_file(const std::string& path, bool have_app_credentials);

class TokenStore {
 public:
  // `api` is borrowed. `path` may be absent (every account is then "no_token").
  TokenStore(DropboxApi& api, const Clock& clock, std::optional<std::string> path,
             bool have_app_credentials, TokenMap initial);

  Result<Secret> access_token(const std::string& account);
  // After a 401: forgets the cached access token. True when a fresh one can be fetched (the
  // account has a refresh token); false when the file's fixed access token was refused.
  bool invalidate(const std::string& account);
  // Re-reads the file. On error the current tokens stay and the error is returned.
  Status reload();

  std::size_t accounts() const { return tokens_.size(); }

 private:
  struct Cached {
    Secret token;
    SteadyTime refresh_at{};  // refresh when steady time reaches this
  };

  DropboxApi& api_;
  const Clock& clock_;
  std::optional<std::string> path_;
  bool have_app_credentials_;
  TokenMap tokens_;
  std::map<std::string, Cached> cache_;
};

}  // namespace wi::dropbox
