// DropboxApi: what goes over the wire and how every answer is classified.
#include "workers/dropbox/dropbox_api.h"

#include <gtest/gtest.h>

#include "common/codec.h"
#include "tests/unit/workers/dropbox/dropbox_fakes.h"

namespace wi::dropbox {
namespace {

using test::answer;
using test::request_header;
using Kind = ApiAnswer::Kind;

const char* kEmptyPage = R"({"entries":[],"cursor":"c2","has_more":false})";

class DropboxApiTest : public ::testing::Test {
 protected:
  DropboxApi api(bool app = true) {
    return DropboxApi(http_, metrics_, "http://api.test", "http://oauth.test",
                      std::chrono::milliseconds(4321),
                      app ? std::optional<Secret>(Secret("app-key")) : std::nullopt,
                      app ? std::optional<Secret>(Secret("app-secret")) : std::nullopt);
  }
  // dropbox_api_calls_total{endpoint,status}, as /metrics serves it.
  double api_calls(const char* endpoint, const char* status) {
    return registry_.counter("dropbox_api_calls_total", "", {"endpoint", "status"})
        .with({endpoint, status})
        .value();
  }
  fakes::FakeHttpClient http_{200};
  metrics::Registry registry_;
  DropboxMetrics metrics_{registry_};
  Secret token_{"sl.ACCESS-TOKEN"};
};

TEST_F(DropboxApiTest, ListFolderPostsTheDocumentedRequest) {
  http_.answers.push_back(answer(200, kEmptyPage));
  auto a = api().list_folder(token_);
  EXPECT_EQ(a.kind, Kind::kOk);
  EXPECT_EQ(a.page.cursor, "c2");
  ASSERT_EQ(http_.requests.size(), 1u);
  const auto& r = http_.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://api.test/2/files/list_folder");
  EXPECT_EQ(request_header(r, "Authorization"), "Bearer sl.ACCESS-TOKEN");
  EXPECT_EQ(request_header(r, "Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"({"path":"","recursive":true,"include_deleted":true})");
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(4321));
  EXPECT_EQ(api_calls("list_folder", "200"), 1);
}

TEST_F(DropboxApiTest, ContinueSendsTheCursorAsJson) {
  http_.answers.push_back(answer(200, kEmptyPage));
  auto a = api().list_folder_continue(token_, "AAF\"odd\\cursor");
  EXPECT_EQ(a.kind, Kind::kOk);
  EXPECT_EQ(http_.requests.at(0).url, "http://api.test/2/files/list_folder/continue");
  EXPECT_EQ(http_.requests.at(0).body, R"({"cursor":"AAF\"odd\\cursor"})");
  EXPECT_EQ(api_calls("list_folder_continue", "200"), 1);
}

// Dropbox's error_summary ends in "/.." (its elided rest): details read without it, whatever
// logs or dead-letter reasons they end up in.
TEST_F(DropboxApiTest, DetailsLeaveOutTheSummarysElision) {
  http_.answers.push_back(answer(409, R"({"error_summary":"path/not_found/..","error":{}})"));
  EXPECT_EQ(api().list_folder(token_).detail, "list_folder: HTTP 409 path/not_found");
  http_.answers.push_back(answer(401, R"({"error_summary":"invalid_access_token/..."})"));
  EXPECT_EQ(api().list_folder(token_).detail, "list_folder: HTTP 401 invalid_access_token");
  http_.answers.push_back(answer(409, R"({"error_summary":"a/b","error":{}})"));
  EXPECT_EQ(api().list_folder(token_).detail, "list_folder: HTTP 409 a/b");
}

TEST_F(DropboxApiTest, ClassifiesEveryStatus) {
  struct Case {
    int status;
    std::string body;
    Kind kind;
  };
  const std::vector<Case> cases = {
      {409, R"({"error_summary":"reset/..","error":{".tag":"reset"}})", Kind::kReset},
      {409, R"({"error_summary":"path/not_found/..","error":{".tag":"path"}})", Kind::kRejected},
      {401,
       R"({"error_summary":"expired_access_token/..","error":{".tag":"expired_access_token"}})",
       Kind::kUnauthorized},
      {500, "oops", Kind::kTransient},
      {503, "", Kind::kTransient},
      {400, "Error in call to API function", Kind::kRejected},
      {403, "{}", Kind::kRejected},
      {200, "not a page", Kind::kBadAnswer},
  };
  for (const auto& c : cases) {
    http_.answers.push_back(answer(c.status, c.body));
    auto a = api().list_folder(token_);
    EXPECT_EQ(a.kind, c.kind) << c.status << " " << c.body;
    EXPECT_EQ(a.status, c.status);
    EXPECT_EQ(a.detail.find("ACCESS-TOKEN"), std::string::npos);
  }
  // No answer at all: a transport error, retried.
  http_.answers.push_back(Error::timeout("http: Timeout was reached"));
  auto a = api().list_folder(token_);
  EXPECT_EQ(a.kind, Kind::kTransient);
  EXPECT_EQ(a.status, 0);
  EXPECT_EQ(api_calls("list_folder", "error"), 1);
}

TEST_F(DropboxApiTest, RetryAfterComesFromTheHeaderElseTheBody) {
  const std::string body =
      R"({"error_summary":"too_many_requests/..","error":{"reason":{".tag":"too_many_requests"},"retry_after":300}})";
  http_.answers.push_back(answer(429, body, {{"retry-after", "7"}}));
  auto a = api().list_folder(token_);
  EXPECT_EQ(a.kind, Kind::kRateLimited);
  EXPECT_EQ(a.retry_after, std::chrono::seconds(7));

  http_.answers.push_back(answer(429, body));
  a = api().list_folder(token_);
  EXPECT_EQ(a.retry_after, std::chrono::seconds(300));

  http_.answers.push_back(answer(429, "", {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}}));
  a = api().list_folder(token_);
  EXPECT_EQ(a.kind, Kind::kRateLimited);
  EXPECT_FALSE(a.retry_after.has_value());
}

TEST_F(DropboxApiTest, RefreshPostsTheFormWithBasicAuthAndReadsExpiry) {
  http_.answers.push_back(
      answer(200, R"({"access_token":"sl.NEW","token_type":"bearer","expires_in":14400})"));
  auto fresh = api().refresh(Secret("refresh/token+1"));
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_EQ(fresh->token.reveal(), "sl.NEW");
  EXPECT_EQ(fresh->expires_in, std::chrono::seconds(14400));
  const auto& r = http_.requests.at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://oauth.test/oauth2/token");
  EXPECT_EQ(request_header(r, "Authorization"),
            "Basic " + codec::base64_encode("app-key:app-secret"));
  EXPECT_EQ(request_header(r, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.body, "grant_type=refresh_token&refresh_token=refresh%2Ftoken%2B1");
  EXPECT_EQ(api_calls("oauth_token", "200"), 1);
}

TEST_F(DropboxApiTest, RefreshRefusalIsPermanentAnOutageIsNot) {
  http_.answers.push_back(answer(400, R"({"error":"invalid_grant","error_description":"x"})"));
  auto refused = api().refresh(Secret("r"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated);
  EXPECT_FALSE(refused.error().retryable);
  EXPECT_EQ(refused.error().message,
            "oauth2/token: HTTP 400 invalid_grant (the refresh token was revoked or expired)");

  http_.answers.push_back(answer(503, "down"));
  auto down = api().refresh(Secret("r"));
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.error().retryable);

  http_.answers.push_back(Error::unavailable("http: Couldn't connect to server"));
  auto unreachable = api().refresh(Secret("r"));
  ASSERT_FALSE(unreachable.ok());
  EXPECT_TRUE(unreachable.error().retryable);

  http_.answers.push_back(answer(200, R"({"token_type":"bearer"})"));
  auto no_token = api().refresh(Secret("r"));
  ASSERT_FALSE(no_token.ok());
  EXPECT_TRUE(no_token.error().retryable);

  auto without_app = api(false).refresh(Secret("r"));
  ASSERT_FALSE(without_app.ok());
  EXPECT_FALSE(without_app.error().retryable);
  EXPECT_EQ(http_.requests.size(), 4u) << "no request without app credentials";
}

TEST_F(DropboxApiTest, RefreshRefusalNamesTheOAuthErrorCodeOnly) {
  // RFC 6749 section 5.2: {"error": code, "error_description": free text}. The description is
  // never repeated: a provider may echo what it was sent, and that held the secrets.
  http_.answers.push_back(
      answer(400, R"({"error":"invalid_client","error_description":"bad secret app-secret"})"));
  auto bad_app = api().refresh(Secret("refresh-secret"));
  ASSERT_FALSE(bad_app.ok());
  EXPECT_EQ(bad_app.error().message,
            "oauth2/token: HTTP 400 invalid_client (the app key or app secret is wrong)");

  http_.answers.push_back(answer(400, R"({"error":"unsupported_grant_type"})"));
  auto malformed = api().refresh(Secret("refresh-secret"));
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().message,
            "oauth2/token: HTTP 400 unsupported_grant_type (the token request was malformed)");

  // An unknown code is named as it is; anything that does not look like a code is not.
  http_.answers.push_back(answer(400, R"({"error":"temporarily_unavailable"})"));
  auto unknown = api().refresh(Secret("refresh-secret"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "oauth2/token: HTTP 400 temporarily_unavailable");
  http_.answers.push_back(answer(401, R"({"error":"refresh-secret"})"));
  auto weird = api().refresh(Secret("refresh-secret"));
  ASSERT_FALSE(weird.ok());
  EXPECT_EQ(weird.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(weird.error().message, "oauth2/token: HTTP 401 (an unrecognised OAuth error)");

  // Not the OAuth shape: just the status.
  http_.answers.push_back(answer(403, "Forbidden"));
  auto plain = api().refresh(Secret("refresh-secret"));
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().message, "oauth2/token: HTTP 403");
}

}  // namespace
}  // namespace wi::dropbox
