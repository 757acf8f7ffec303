#include "workers/dropbox/dropbox_config.h"

#include <fmt/format.h>

#include <set>

#include "common/topics.h"

namespace wi::dropbox {

namespace {

bool http_url(const std::string& url) {
  return url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0;
}

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

DropboxConfig load_dropbox_config(config::Loader& loader) {
  DropboxConfig c;
  // Unknown keys are errors (SPEC §2). The runtime marks the whole `dropbox:` section as known
  // only for the other binaries, so this section checks its own keys.
  const std::set<std::string> known = {"source",
                                       "initial_sync",
                                       "api_url",
                                       "oauth_url",
                                       "api_timeout_ms",
                                       "max_calls_per_second",
                                       "max_rate_limit_wait_s",
                                       "accounts_topic",
                                       "changes_topic",
                                       "cursors_topic",
                                       "consume"};
  for (const auto& key : loader.keys({"dropbox"})) {
    if (!known.count(key)) loader.problem("dropbox." + key + ": unknown key");
  }
  c.source = loader.string({"dropbox", "source"}, "DROPBOX_SOURCE", c.source);
  if (c.source.empty()) loader.problem("DROPBOX_SOURCE: must not be empty");
  auto sync =
      loader.choice({"dropbox", "initial_sync"}, "DROPBOX_INITIAL_SYNC", "skip", {"skip", "emit"});
  c.initial_sync = sync == "emit" ? InitialSync::kEmit : InitialSync::kSkip;
  auto consume = loader.choice({"dropbox", "consume"}, "DROPBOX_CONSUME", "both",
                               {"both", "notifications", "accounts"});
  c.consume = consume == "notifications" ? Consume::kNotifications
              : consume == "accounts"    ? Consume::kAccounts
                                         : Consume::kBoth;
  c.api_url =
      without_trailing_slash(loader.string({"dropbox", "api_url"}, "DROPBOX_API_URL", c.api_url));
  if (!http_url(c.api_url)) {
    loader.problem(fmt::format("DROPBOX_API_URL: '{}' is not an http(s) URL", c.api_url));
  }
  c.oauth_url = without_trailing_slash(
      loader.string({"dropbox", "oauth_url"}, "DROPBOX_OAUTH_URL", c.oauth_url));
  if (!http_url(c.oauth_url)) {
    loader.problem(fmt::format("DROPBOX_OAUTH_URL: '{}' is not an http(s) URL", c.oauth_url));
  }
  c.api_timeout = std::chrono::milliseconds(loader.integer(
      {"dropbox", "api_timeout_ms"}, "DROPBOX_API_TIMEOUT_MS", c.api_timeout.count(), 100, 600000));
  c.max_calls_per_second =
      loader.number({"dropbox", "max_calls_per_second"}, "DROPBOX_MAX_CALLS_PER_SECOND",
                    c.max_calls_per_second, 0, 100000);
  c.max_rate_limit_wait = std::chrono::seconds(
      loader.integer({"dropbox", "max_rate_limit_wait_s"}, "DROPBOX_MAX_RATE_LIMIT_WAIT_S",
                     c.max_rate_limit_wait.count(), 1, 3600));
  c.accounts_topic = loader.string({"dropbox", "accounts_topic"}, "DROPBOX_ACCOUNTS_TOPIC",
                                   topics::kDropboxAccounts);
  c.changes_topic =
      loader.string({"dropbox", "changes_topic"}, "DROPBOX_CHANGES_TOPIC", topics::kDropboxChanges);
  c.cursors_topic =
      loader.string({"dropbox", "cursors_topic"}, "DROPBOX_CURSORS_TOPIC", topics::kDropboxCursors);
  for (const auto* topic : {&c.accounts_topic, &c.changes_topic, &c.cursors_topic}) {
    if (topic->empty()) loader.problem("dropbox topics must not be empty");
  }
  if (c.accounts_topic == c.changes_topic || c.accounts_topic == c.cursors_topic ||
      c.changes_topic == c.cursors_topic) {
    loader.problem("dropbox: accounts_topic, changes_topic and cursors_topic must differ");
  }
  c.tokens_file = loader.optional_string({}, "DROPBOX_TOKENS_FILE");
  c.app_key = loader.secret("DROPBOX_APP_KEY");
  c.app_secret = loader.secret("DROPBOX_APP_SECRET");
  if (c.app_key.has_value() != c.app_secret.has_value()) {
    loader.problem("DROPBOX_APP_KEY and DROPBOX_APP_SECRET: set both or neither");
  }
  // Every key was checked above; the loader's own unknown-key pass must not report them twice.
  if (loader.has({"dropbox"})) loader.ignore({"dropbox"});
  return c;
}

}  // namespace wi::dropbox
