#include "workers/deploy/deploy_result.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace wi::deploy {
namespace {

TEST(DeployResult, SerialisesEverySpecFieldAsValidJson) {
  DeployResult r;
  r.repo = "acme/web";
  r.ref = "refs/heads/main";
  r.sha = "1111111111111111111111111111111111111111";
  r.host = "web-1";
  r.status = DeployStatus::kFailure;
  r.reason = reason::kCommandFailed;
  r.detail = "step 2 of 2 (make) exited with 2";
  r.steps.push_back({{"/bin/echo", "hi"}, 0, false, std::chrono::milliseconds(12), "hi\n", 3});
  r.steps.push_back({{"make", "a \"quoted\" arg"},
                     2,
                     false,
                     std::chrono::milliseconds(1500),
                     std::string("bad utf-8 \xff and \x01 control\n"),
                     99});
  r.started_at = SystemTime(std::chrono::milliseconds(1795743350123));
  r.finished_at = SystemTime(std::chrono::milliseconds(1795743351623));
  r.event_id = "delivery-1";
  r.target = "acme/web@main";
  r.commit = r.sha;
  r.before = "0000000000000000000000000000000000000000";
  r.pusher = "$(touch /tmp/pwned) `id`; rm -rf /";

  auto text = to_json(r);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(text).get(doc), simdjson::SUCCESS) << text;
  EXPECT_EQ(std::string_view(doc["repo"]), "acme/web");
  EXPECT_EQ(std::string_view(doc["ref"]), "refs/heads/main");
  EXPECT_EQ(std::string_view(doc["sha"]), r.sha);
  EXPECT_EQ(std::string_view(doc["host"]), "web-1");
  EXPECT_EQ(std::string_view(doc["status"]), "failure");
  EXPECT_EQ(std::string_view(doc["reason"]), "command_failed");
  EXPECT_EQ(std::string_view(doc["started_at"]), "2026-11-27T01:35:50.123Z");
  EXPECT_EQ(std::string_view(doc["finished_at"]), "2026-11-27T01:35:51.623Z");
  EXPECT_EQ(std::string_view(doc["event_id"]), "delivery-1");
  EXPECT_EQ(std::string_view(doc["pusher"]), r.pusher) << "payload text is data, escaped";
  simdjson::dom::array steps = doc["steps"];
  ASSERT_EQ(steps.size(), 2u);
  auto second = steps.at(1);
  EXPECT_EQ(int64_t(second["exit_code"]), 2);
  EXPECT_EQ(int64_t(second["duration_ms"]), 1500);
  EXPECT_EQ(bool(second["timed_out"]), false);
  EXPECT_EQ(std::string_view(second["argv"].at(1)), "a \"quoted\" arg");
  EXPECT_NE(std::string_view(second["output_tail"]).find("control"), std::string_view::npos);
  EXPECT_EQ(doc["superseded_by"].error(), simdjson::NO_SUCH_FIELD);
}

TEST(DeployResult, SkippedResultsHaveNoStepsAndMaySayWhatSupersededThem) {
  DeployResult r;
  r.status = DeployStatus::kSkipped;
  r.reason = reason::kSuperseded;
  r.superseded_by = "delivery-3";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(to_json(r)).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(std::string_view(doc["status"]), "skipped");
  EXPECT_EQ(simdjson::dom::array(doc["steps"]).size(), 0u);
  EXPECT_EQ(std::string_view(doc["superseded_by"]), "delivery-3");
  EXPECT_EQ(doc["commit"].error(), simdjson::NO_SUCH_FIELD);
}

}  // namespace
}  // namespace wi::deploy
