#include "workers/dropbox/token_store.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace wi::dropbox {

namespace {

// Refresh this long before Dropbox's expiry (at most half the lifetime), so a token never
// expires between the check and the call.
constexpr std::chrono::seconds kRefreshMargin{300};
// When Dropbox does not say how long a token lives: its documented 4 hours.
constexpr std::chrono::seconds kDefaultLifetime{4 * 3600};

}  // namespace

Result<TokenMap> parse_tokens(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    // The mark says where; the message never quotes the document.
    return Error::invalid(fmt::format("tokens file: not YAML/JSON (line {})", e.mark.line + 1));
  }
  if (root.IsNull()) return TokenMap{};
  if (!root.IsMap()) return Error::invalid("tokens file: expected a map of account id → tokens");
  TokenMap out;
  for (const auto& kv : root) {
    std::string account = kv.first.Scalar();
    if (account.empty()) return Error::invalid("tokens file: an empty account id");
    if (!kv.second.IsMap()) {
      return Error::invalid(
          fmt::format("tokens file: {}: expected a map with refresh_token or "
                      "access_token",
                      account));
    }
    AccountTokens tokens;
    for (const auto& field : kv.second) {
      std::string name = field.first.Scalar();
      if (!field.second.IsScalar() || field.second.Scalar().empty()) {
        return Error::invalid(
            fmt::format("tokens file: {}.{}: expected a non-empty string", account, name));
      }
      if (name == "refresh_token") {
        tokens.refresh_token = Secret(field.second.Scalar());
      } else if (name == "access_token") {
        tokens.access_token = Secret(field.second.Scalar());
      } else {
        return Error::invalid(fmt::format("tokens file: {}.{}: unknown key", account, name));
      }
    }
    if (!tokens.refresh_token && !tokens.access_token) {
      return Error::invalid(
          fmt::format("tokens file: {}: needs refresh_token or access_token", account));
    }
    out[account] = std::move(tokens);
  }
  return out;
}

Result<TokenMap> load_tokens_file(const std::string& path, bool have_app_credentials) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::invalid(fmt::format("DROPBOX_TOKENS_FILE: cannot read {}", path));
  std::stringstream buf;
  buf << in.rdbuf();
  auto tokens = parse_tokens(buf.str());
  if (!tokens) {
    return Error::invalid(fmt::format("DROPBOX_TOKENS_FILE {}: {}", path, tokens.error().message));
  }
  if (!have_app_credentials) {
    for (const auto& [account, t] : *tokens) {
      if (t.refresh_token) {
        return Error::invalid(fmt::format(
            "DROPBOX_TOKENS_FILE {}: {} has a refresh_token, which needs DROPBOX_APP_KEY and "
            "DROPBOX_APP_SECRET",
            path, account));
      }
    }
  }
  return tokens;
}

TokenStore::TokenStore(DropboxApi& api, const Clock& clock, std::optional<std::string> path,
                       bool have_app_credentials, TokenMap initial)
    : api_(api),
      clock_(clock),
      path_(std::move(path)),
      have_app_credentials_(have_app_credentials),
      tokens_(std::move(initial)) {}

Result<Secret> TokenStore::access_token(const std::string& account) {
  auto it = tokens_.find(account);
  if (it == tokens_.end()) return Error{ErrorCode::kNotFound, "no_token", false};
  const AccountTokens& tokens = it->second;
  if (!tokens.refresh_token) return *tokens.access_token;
  const auto now = clock_.steady_now();
  if (auto cached = cache_.find(account);
      cached != cache_.end() && now < cached->second.refresh_at) {
    return cached->second.token;
  }
  auto fresh = api_.refresh(*tokens.refresh_token);
  if (!fresh) {
    if (!fresh.error().retryable) {
      return Error{ErrorCode::kUnauthenticated, "unauthorized: " + fresh.error().message, false};
    }
    return fresh.error();
  }
  auto lifetime = fresh->expires_in.count() > 0 ? fresh->expires_in : kDefaultLifetime;
  auto margin = std::min(kRefreshMargin, lifetime / 2);
  cache_[account] = Cached{fresh->token, now + lifetime - margin};
  return fresh->token;
}

bool TokenStore::invalidate(const std::string& account) {
  cache_.erase(account);
  auto it = tokens_.find(account);
  return it != tokens_.end() && it->second.refresh_token.has_value();
}

Status TokenStore::reload() {
  if (!path_) return Error::invalid("no DROPBOX_TOKENS_FILE to reload");
  auto fresh = load_tokens_file(*path_, have_app_credentials_);
  if (!fresh) return fresh.error();
  // Cached access tokens stay valid for accounts whose entry did not change.
  for (auto it = cache_.begin(); it != cache_.end();) {
    auto old_entry = tokens_.find(it->first);
    auto new_entry = fresh->find(it->first);
    bool same = old_entry != tokens_.end() && new_entry != fresh->end() &&
                old_entry->second == new_entry->second;
    it = same ? std::next(it) : cache_.erase(it);
  }
  tokens_ = std::move(*fresh);
  return {};
}

}  // namespace wi::dropbox
