// TokenStore and the tokens file: parsing, refresh, caching until shortly before expiry,
// 401 invalidation, SIGHUP reloads; no error message ever contains a token.
#include "workers/dropbox/token_store.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"
#include "tests/unit/workers/dropbox/dropbox_fakes.h"

namespace wi::dropbox {
namespace {

using test::answer;
using namespace std::chrono_literals;

std::string token_answer(const std::string& token, int expires_in) {
  return R"({"access_token":")" + token + R"(","token_type":"bearer","expires_in":)" +
         std::to_string(expires_in) + "}";
}

TEST(TokensFileTest, ReadsYamlAndJson) {
  auto json =
      parse_tokens(R"({"dbid:A": {"refresh_token": "r-A"}, "dbid:B": {"access_token": "a-B"}})");
  ASSERT_TRUE(json.ok()) << json.error().message;
  ASSERT_EQ(json->size(), 2u);
  EXPECT_EQ(json->at("dbid:A").refresh_token->reveal(), "r-A");
  EXPECT_FALSE(json->at("dbid:A").access_token.has_value());
  EXPECT_EQ(json->at("dbid:B").access_token->reveal(), "a-B");
  auto yaml = parse_tokens("dbid:A:\n  refresh_token: r-A\n");
  ASSERT_TRUE(yaml.ok()) << yaml.error().message;
  EXPECT_EQ(yaml->at("dbid:A").refresh_token->reveal(), "r-A");
  auto empty = parse_tokens("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(TokensFileTest, ProblemsNameTheAccountNeverTheToken) {
  for (const char* text :
       {R"({"dbid:A": "SECRET-1"})", R"({"dbid:A": {"password": "SECRET-1"}})", R"({"dbid:A": {}})",
        R"(["SECRET-1"])", R"({"dbid:A": {"refresh_token": ["SECRET-1"]}})",
        "{\"dbid:A\": {\"refresh_token\": \"SECRET-1\"}"}) {
    auto parsed = parse_tokens(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().message.find("SECRET-1"), std::string::npos) << parsed.error().message;
  }
  auto unknown = parse_tokens(R"({"dbid:A": {"password": "SECRET-1"}})");
  EXPECT_NE(unknown.error().message.find("dbid:A.password"), std::string::npos);
}

TEST(TokensFileTest, RefreshTokensNeedTheAppCredentials) {
  testing::TempDir dir;
  auto path = dir.write("tokens.json", R"({"dbid:A": {"refresh_token": "r-A"}})");
  EXPECT_TRUE(load_tokens_file(path, true).ok());
  auto refused = load_tokens_file(path, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("DROPBOX_APP_KEY"), std::string::npos);
  EXPECT_FALSE(load_tokens_file(dir.path("missing.json"), true).ok());
}

class TokenStoreTest : public ::testing::Test {
 protected:
  TokenStoreTest()
      : api_(http_, metrics_, "http://api.test", "http://oauth.test", 1000ms, Secret("k"),
             Secret("s")) {}
  TokenStore store(TokenMap tokens, std::optional<std::string> path = std::nullopt) {
    return TokenStore(api_, clock_, std::move(path), true, std::move(tokens));
  }
  static TokenMap refreshable() { return {{"dbid:A", {Secret("r-A"), std::nullopt}}}; }

  fakes::FakeClock clock_;
  fakes::FakeHttpClient http_{200};
  metrics::Registry registry_;
  DropboxMetrics metrics_{registry_};
  DropboxApi api_;
};

TEST_F(TokenStoreTest, AnAccountWithoutTokensIsNoToken) {
  auto tokens = store({});
  auto t = tokens.access_token("dbid:Z");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(t.error().message, "no_token");
  EXPECT_FALSE(t.error().retryable);
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(TokenStoreTest, AFixedAccessTokenIsUsedAsItIsAndCannotBeRefreshed) {
  auto tokens = store({{"dbid:B", {std::nullopt, Secret("a-B")}}});
  auto t = tokens.access_token("dbid:B");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->reveal(), "a-B");
  EXPECT_FALSE(tokens.invalidate("dbid:B"));
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(TokenStoreTest, RefreshedTokenIsCachedUntilShortlyBeforeExpiry) {
  http_.answers.push_back(answer(200, token_answer("sl.ONE", 3600)));
  http_.answers.push_back(answer(200, token_answer("sl.TWO", 3600)));
  auto tokens = store(refreshable());
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.ONE");
  clock_.advance(3600s - 301s);  // still more than the 300 s margin left
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.ONE");
  EXPECT_EQ(http_.requests.size(), 1u);
  clock_.advance(1s);  // inside the margin: refreshed before it can expire mid-call
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.TWO");
  EXPECT_EQ(http_.requests.size(), 2u);
}

TEST_F(TokenStoreTest, ShortLivedTokensRefreshAtHalfTheirLifetime) {
  http_.answers.push_back(answer(200, token_answer("sl.ONE", 60)));
  http_.answers.push_back(answer(200, token_answer("sl.TWO", 60)));
  auto tokens = store(refreshable());
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.ONE");
  clock_.advance(29s);
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.ONE");
  clock_.advance(1s);
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.TWO");
}

TEST_F(TokenStoreTest, InvalidateForcesTheNextRefresh) {
  http_.answers.push_back(answer(200, token_answer("sl.ONE", 3600)));
  http_.answers.push_back(answer(200, token_answer("sl.TWO", 3600)));
  auto tokens = store(refreshable());
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.ONE");
  EXPECT_TRUE(tokens.invalidate("dbid:A"));
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.TWO");
}

TEST_F(TokenStoreTest, RefusedRefreshIsUnauthorizedAnOutageIsRetryable) {
  http_.answers.push_back(answer(400, R"({"error":"invalid_grant"})"));
  http_.answers.push_back(answer(500, "down"));
  auto tokens = store(refreshable());
  auto refused = tokens.access_token("dbid:A");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated);
  EXPECT_FALSE(refused.error().retryable);
  auto down = tokens.access_token("dbid:A");
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.error().retryable);
  for (const auto& e : {refused.error().message, down.error().message}) {
    EXPECT_EQ(e.find("r-A"), std::string::npos) << e;
  }
}

TEST_F(TokenStoreTest, ReloadPicksUpNewAccountsAndKeepsTokensWhenTheFileIsBroken) {
  testing::TempDir dir;
  auto path = dir.write("tokens.yaml", "dbid:A:\n  refresh_token: r-A\n");
  http_.answers.push_back(answer(200, token_answer("sl.ONE", 3600)));
  auto tokens = store(*load_tokens_file(path, true), path);
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.ONE");
  EXPECT_FALSE(tokens.access_token("dbid:B").ok());

  dir.write("tokens.yaml", "dbid:A:\n  refresh_token: r-A\ndbid:B:\n  access_token: a-B\n");
  ASSERT_TRUE(tokens.reload().ok());
  EXPECT_EQ(tokens.access_token("dbid:B")->reveal(), "a-B");
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.ONE") << "unchanged entry: cache kept";
  EXPECT_EQ(http_.requests.size(), 1u);

  dir.write("tokens.yaml", "{broken");
  EXPECT_FALSE(tokens.reload().ok());
  EXPECT_EQ(tokens.access_token("dbid:B")->reveal(), "a-B") << "previous tokens stay";

  // A new refresh token for A: its cached access token belongs to the old grant.
  dir.write("tokens.yaml", "dbid:A:\n  refresh_token: r-A2\n");
  http_.answers.push_back(answer(200, token_answer("sl.TWO", 3600)));
  ASSERT_TRUE(tokens.reload().ok());
  EXPECT_EQ(tokens.access_token("dbid:A")->reveal(), "sl.TWO");
  EXPECT_NE(http_.requests.back().body.find("refresh_token=r-A2"), std::string::npos);
  EXPECT_FALSE(tokens.access_token("dbid:B").ok()) << "B left the file";
}

}  // namespace
}  // namespace wi::dropbox
