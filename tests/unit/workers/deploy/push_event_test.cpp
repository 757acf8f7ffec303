#include <gtest/gtest.h>


#include "common/codec.h"
#include "workers/deploy/push_event.h"

namespace wi::deploy {
namespace {

const std::string kAfter = "1111111111111111111111111111111111111111";
const std::string kBefore = "2222222222222222222222222222222222222222";

std::string push_json(const std::string& ref = "refs/heads/main", bool deleted = false,
                      const std::string& head_commit = "null") {
  return R"({"ref":")" + ref + R"(","before":")" + kBefore + R"(","after":")" + kAfter +
         R"(","created":false,"deleted":)" + (deleted ? "true" : "false") +
         R"(,"forced":false,"head_commit":)" + head_commit +
         R"(,"commits":[],"pusher":{"name":"octo","email":"o@example.com"},)"
         R"("repository":{"full_name":"acme/web","created_at":1700000000,"pushed_at":1700000001}})";
}

TEST(DeployPushEvent, ReadsTheFieldsADeployNeeds) {
  auto push = parse_push_event(push_json(), "application/json");
  ASSERT_TRUE(push.ok()) << push.error().message;
  EXPECT_EQ(push->ref, "refs/heads/main");
  EXPECT_EQ(push->before, kBefore);
  EXPECT_EQ(push->after, kAfter);
  EXPECT_FALSE(push->deleted);
  EXPECT_EQ(push->repository, "acme/web");
  EXPECT_EQ(push->pusher, "octo");
  EXPECT_FALSE(push->head_commit_id.has_value()) << "head_commit may be null";
  EXPECT_EQ(push->branch(), "main");
  EXPECT_FALSE(push->tag().has_value());
}

TEST(DeployPushEvent, BranchesWithSlashesTagsAndOtherRefs) {
  auto feature = parse_push_event(push_json("refs/heads/feature/x"), "");
  ASSERT_TRUE(feature.ok());
  EXPECT_EQ(feature->branch(), "feature/x");
  auto tag = parse_push_event(push_json("refs/tags/v1.2"), "");
  ASSERT_TRUE(tag.ok());
  EXPECT_FALSE(tag->branch().has_value());
  EXPECT_EQ(tag->tag(), "v1.2");
  auto other = parse_push_event(push_json("refs/notes/commits"), "");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->branch().has_value());
  EXPECT_FALSE(other->tag().has_value());
  auto bare = parse_push_event(push_json("refs/heads/"), "");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->branch().has_value());
}

TEST(DeployPushEvent, DeletionAndHeadCommit) {
  auto push = parse_push_event(push_json("refs/heads/main", true, R"({"id":")" + kAfter + R"("})"),
                               "application/json");
  ASSERT_TRUE(push.ok());
  EXPECT_TRUE(push->deleted);
  EXPECT_EQ(push->head_commit_id, kAfter);
}

TEST(DeployPushEvent, FormEncodedDeliveriesCarryTheJsonInPayload) {
  std::string body = "payload=" + codec::percent_encode(push_json(), false);
  for (const char* type :
       {"application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded; charset=utf-8"}) {
    auto push = parse_push_event(body, type);
    ASSERT_TRUE(push.ok()) << type << ": " << push.error().message;
    EXPECT_EQ(push->repository, "acme/web");
    EXPECT_EQ(push->after, kAfter);
  }
  auto missing = parse_push_event("other=1", "application/x-www-form-urlencoded");
  ASSERT_FALSE(missing.ok());
  EXPECT_FALSE(missing.error().retryable);
}

TEST(DeployPushEvent, MalformedPayloadsArePermanentErrors) {
  for (
      const std::string& body :
      {std::string("not json"), std::string("[1,2]"), std::string(R"({"ref":"refs/heads/main"})"),
       std::string(R"({"ref":1,"before":"a","after":"b","repository":{"full_name":"a/b"}})"),
       std::string(R"({"ref":"r","before":"a","after":"b","repository":{}})"),
       std::string(
           R"({"ref":"r","before":"a","after":"b","deleted":"yes","repository":{"full_name":"a/b"}})")}) {
    auto push = parse_push_event(body, "application/json");
    ASSERT_FALSE(push.ok()) << body;
    EXPECT_EQ(push.error().code, ErrorCode::kInvalidArgument);
    EXPECT_FALSE(push.error().retryable);
  }
}

TEST(DeployPushEvent, ShaAndNameHelpers) {
  EXPECT_TRUE(is_sha(kAfter));
  EXPECT_FALSE(is_sha(kAfter.substr(1)));
  EXPECT_FALSE(is_sha("ABCDEF1111111111111111111111111111111111"));
  EXPECT_FALSE(is_sha("$(touch /tmp/pwned)11111111111111111111111"));
  EXPECT_FALSE(is_sha("-1111111111111111111111111111111111111111"));
  EXPECT_TRUE(iequals("Acme/Web", "acme/web"));
  EXPECT_FALSE(iequals("acme/web", "acme/web2"));
}

}  // namespace
}  // namespace wi::deploy
