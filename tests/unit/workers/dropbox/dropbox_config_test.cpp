// dropbox-worker's configuration: defaults, the environment over YAML, every problem at once.
#include "workers/dropbox/dropbox_config.h"

#include <gtest/gtest.h>

namespace wi::dropbox {
namespace {

DropboxConfig load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  auto loader = config::Loader::from_yaml_text(yaml, config::Environment(std::move(env)));
  auto c = load_dropbox_config(loader);
  loader.finish();
  return c;
}

std::string problems(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  try {
    load(yaml, std::move(env));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DropboxConfigTest, DefaultsFollowTheSpec) {
  auto c = load("");
  EXPECT_EQ(c.source, "dropbox");
  EXPECT_EQ(c.initial_sync, InitialSync::kSkip);
  EXPECT_EQ(c.api_url, "https://api.dropboxapi.com");
  EXPECT_EQ(c.oauth_url, "https://api.dropbox.com");
  EXPECT_EQ(c.accounts_topic, "dropbox.accounts");
  EXPECT_EQ(c.changes_topic, "dropbox.changes");
  EXPECT_EQ(c.cursors_topic, "dropbox.cursors");
  EXPECT_EQ(c.consume, Consume::kBoth);
  EXPECT_FALSE(c.tokens_file.has_value());
  EXPECT_FALSE(c.app_secret.has_value());
}

TEST(DropboxConfigTest, TheEnvironmentWinsOverYaml) {
  auto c =
      load("dropbox:\n  initial_sync: skip\n  api_url: http://yaml:1/\n  max_calls_per_second: 3\n",
           {{"DROPBOX_INITIAL_SYNC", "emit"},
            {"DROPBOX_API_URL", "http://127.0.0.1:9/"},
            {"DROPBOX_TOKENS_FILE", "/etc/tokens.yaml"},
            {"DROPBOX_APP_KEY", "k"},
            {"DROPBOX_APP_SECRET", "s"},
            {"DROPBOX_CHANGES_TOPIC", "t.changes"},
            {"DROPBOX_CONSUME", "accounts"}});
  EXPECT_EQ(c.consume, Consume::kAccounts);
  EXPECT_EQ(c.initial_sync, InitialSync::kEmit);
  EXPECT_EQ(c.api_url, "http://127.0.0.1:9") << "trailing slash dropped";
  EXPECT_EQ(c.max_calls_per_second, 3);
  EXPECT_EQ(c.tokens_file, "/etc/tokens.yaml");
  EXPECT_EQ(c.app_secret->reveal(), "s");
  EXPECT_EQ(c.changes_topic, "t.changes");
}

TEST(DropboxConfigTest, EveryProblemIsReportedAtOnce) {
  auto text = problems("dropbox:\n  initial_sync: sometimes\n  colour: blue\n  consume: all\n",
                       {{"DROPBOX_OAUTH_URL", "ftp://x"},
                        {"DROPBOX_APP_KEY", "k"},
                        {"DROPBOX_CHANGES_TOPIC", "dropbox.accounts"}});
  EXPECT_NE(text.find("initial_sync"), std::string::npos) << text;
  EXPECT_NE(text.find("dropbox.colour: unknown key"), std::string::npos) << text;
  EXPECT_NE(text.find("both|notifications|accounts"), std::string::npos) << text;
  EXPECT_NE(text.find("DROPBOX_OAUTH_URL"), std::string::npos) << text;
  EXPECT_NE(text.find("set both or neither"), std::string::npos) << text;
  EXPECT_NE(text.find("must differ"), std::string::npos) << text;
}

}  // namespace
}  // namespace wi::dropbox
