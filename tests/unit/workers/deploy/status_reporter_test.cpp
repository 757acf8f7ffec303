#include <gtest/gtest.h>
#include <simdjson.h>

#include <deque>
#include <mutex>

#include "tests/fakes/fake_http_client.h"
#include "workers/deploy/status_reporter.h"

namespace wi::deploy {
namespace {

const std::string kSha = "0123456789abcdef0123456789abcdef01234567";

std::string header(const http_client::Request& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

TEST(DeployStatusReporter, PostsTheStatusWithBearerTokenAndContext) {
  fakes::FakeHttpClient http;
  StatusReporter reporter(&http, "http://127.0.0.1:1234/", Secret("tok-123"), "web-1");
  ASSERT_TRUE(reporter.enabled());
  EXPECT_TRUE(reporter.report("acme/web", kSha, "pending", "Deploying 0123456789ab on web-1"));
  ASSERT_EQ(http.requests.size(), 1u);
  const auto& r = http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://127.0.0.1:1234/repos/acme/web/statuses/" + kSha);
  EXPECT_EQ(header(r, "Authorization"), "Bearer tok-123");
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  simdjson::dom::parser parser;
  simdjson::dom::element body;
  ASSERT_EQ(parser.parse(r.body).get(body), simdjson::SUCCESS) << r.body;
  EXPECT_EQ(std::string_view(body["state"]), "pending");
  EXPECT_EQ(std::string_view(body["context"]), "deploy/web-1");
  EXPECT_EQ(std::string_view(body["description"]), "Deploying 0123456789ab on web-1");
}

TEST(DeployStatusReporter, OffWithoutTokenOrClient) {
  fakes::FakeHttpClient http;
  StatusReporter no_token(&http, "https://api.github.com", std::nullopt, "h");
  EXPECT_FALSE(no_token.enabled());
  EXPECT_FALSE(no_token.report("acme/web", kSha, "success", "x"));
  StatusReporter no_client(nullptr, "https://api.github.com", Secret("t"), "h");
  EXPECT_FALSE(no_client.enabled());
  EXPECT_TRUE(http.requests.empty());
}

TEST(DeployStatusReporter, FailuresAreReportedAsFalseNeverThrown) {
  fakes::FakeHttpClient http;
  http.answers.push_back(http_client::Response{500, {}, "oops"});
  http.answers.push_back(Error::unavailable("connection refused"));
  http.answers.push_back(http_client::Response{422, {}, R"({"message":"Validation Failed"})"});
  StatusReporter reporter(&http, "https://api.github.com", Secret("t"), "h");
  EXPECT_FALSE(reporter.report("acme/web", kSha, "success", "ok"));
  EXPECT_FALSE(reporter.report("acme/web", kSha, "success", "ok"));
  EXPECT_FALSE(reporter.report("acme/web", kSha, "success", "ok"));
  EXPECT_TRUE(reporter.report("acme/web", kSha, "success", "ok"));
}

TEST(DeployStatusReporter, RefusesToBuildAUrlFromMalformedValues) {
  fakes::FakeHttpClient http;
  StatusReporter reporter(&http, "https://api.github.com", Secret("t"), "h");
  EXPECT_FALSE(reporter.report("acme/web/../../x", kSha, "success", "x"));
  EXPECT_FALSE(reporter.report("acme/web?x=1", kSha, "success", "x"));
  EXPECT_FALSE(reporter.report("acme/web", "not-a-sha", "success", "x"));
  EXPECT_FALSE(reporter.report("../web", kSha, "success", "x"));
  EXPECT_TRUE(http.requests.empty());
}

TEST(DeployStatusReporter, DescriptionIsCutToGithubsLimit) {
  fakes::FakeHttpClient http;
  StatusReporter reporter(&http, "https://api.github.com", Secret("t"), "h");
  EXPECT_TRUE(reporter.report("acme/web", kSha, "failure", std::string(500, 'x')));
  simdjson::dom::parser parser;
  simdjson::dom::element body;
  ASSERT_EQ(parser.parse(http.requests.at(0).body).get(body), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(body["description"]).size(), 140u);
}

TEST(DeployStatusReporter, RepoNames) {
  EXPECT_TRUE(is_repo_name("acme/web"));
  EXPECT_TRUE(is_repo_name("Acme-1/web.site_2"));
  EXPECT_FALSE(is_repo_name("acme"));
  EXPECT_FALSE(is_repo_name("acme/"));
  EXPECT_FALSE(is_repo_name("/web"));
  EXPECT_FALSE(is_repo_name("a/b/c"));
  EXPECT_FALSE(is_repo_name("a/.."));
  EXPECT_FALSE(is_repo_name("a b/c"));
}

}  // namespace
}  // namespace wi::deploy
