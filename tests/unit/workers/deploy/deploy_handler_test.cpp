// DeployHandler's decisions, with fakes for git, the ledger, the command runner, Kafka and
// the GitHub API: which pushes deploy, which are skipped and why, what each result says.
#include "workers/deploy/deploy_handler.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <deque>
#include <set>

#include "common/json_text.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_git.h"
#include "tests/fakes/fake_http_client.h"
#include "tests/fakes/fake_publisher.h"

namespace wi::deploy {
namespace {

using worker::Outcome;

const std::string kA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string kC = "cccccccccccccccccccccccccccccccccccccccc";
const std::string kTagObject = "dddddddddddddddddddddddddddddddddddddddd";
const std::string kZero = "0000000000000000000000000000000000000000";
const std::string kDir = "/srv/web";
const std::string kGitDir = "/srv/web/.git";

// ---- fakes ------------------------------------------------------------------------------

class FakeLedger final : public DeployLedger {
 public:
  std::optional<LedgerEntry> entry;
  std::vector<std::string> calls;
  std::optional<LedgerEntry> last(const std::string&) override { return entry; }
  Status begin(const std::string&) override {
    calls.push_back("begin");
    entry.reset();
    return {};
  }
  Status finish(const std::string&, const LedgerEntry& e) override {
    calls.push_back(std::string("finish ") + (e.succeeded ? "success" : "failure"));
    entry = e;
    return {};
  }
  std::string group_file(const std::string& git_dir) override { return git_dir + "/running"; }
};

// Records every command; answers from per-program outcomes (default: exit 0).
class FakeRunner final : public CommandRunner {
 public:
  std::vector<CommandSpec> runs;
  std::map<std::string, CommandOutcome> outcomes;  // by argv[0]
  std::function<void(const CommandSpec&)> on_run;

  CommandOutcome run(const CommandSpec& spec) override {
    runs.push_back(spec);
    if (on_run) on_run(spec);
    auto it = outcomes.find(spec.argv.at(0));
    if (it != outcomes.end()) return it->second;
    CommandOutcome ok;
    ok.exit_code = 0;
    ok.output_tail = "ok\n";
    ok.output_bytes = 3;
    ok.duration = std::chrono::milliseconds(5);
    return ok;
  }
  std::map<std::string, std::string> env_of(std::size_t i) const {
    std::map<std::string, std::string> out;
    for (const auto& e : runs.at(i).env) {
      auto eq = e.find('=');
      out[e.substr(0, eq)] = e.substr(eq + 1);
    }
    return out;
  }
};

// The GitHub commit statuses the handler posted, in order.
std::vector<std::string> states_of(const std::vector<http_client::Request>& requests) {
  std::vector<std::string> out;
  simdjson::dom::parser parser;
  for (const auto& r : requests) {
    simdjson::dom::element body;
    if (parser.parse(r.body).get(body)) continue;
    out.emplace_back(std::string_view(body["state"]));
  }
  return out;
}

// ---- helpers ----------------------------------------------------------------------------

struct PushSpec {
  std::string repo = "acme/web";
  std::string ref = "refs/heads/main";
  std::string after = kB;
  std::string before = kA;
  bool deleted = false;
  std::string pusher = "octo";
};

std::string push_body(const PushSpec& p) {
  return R"({"ref":)" + json::quote(p.ref) + R"(,"before":")" + p.before + R"(","after":)" +
         json::quote(p.after) + R"(,"deleted":)" + (p.deleted ? "true" : "false") +
         R"(,"head_commit":null,"pusher":{"name":)" + json::quote(p.pusher) +
         R"(},"repository":{"full_name":)" + json::quote(p.repo) + "}}";
}

kafka::ConsumedRecord record(const PushSpec& p, const std::string& event_id, std::int64_t offset,
                             const std::string& type = "push") {
  kafka::ConsumedRecord r;
  r.topic = "webhooks.github";
  r.partition = 2;
  r.offset = offset;
  r.key = p.repo;
  r.headers = {{"source", "github"},
               {"event-id", event_id},
               {"event-type", type},
               {"content-type", "application/json"}};
  r.value = type == "ping" ? R"({"zen":"Keep it logically awesome.","hook_id":1})" : push_body(p);
  return r;
}

struct Parsed {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string text;
  std::string str(const char* key) {
    auto v = doc[key];
    return v.error() ? std::string("<missing>") : std::string(std::string_view(v));
  }
};

class DeployHandlerTest : public ::testing::Test {
 protected:
  DeployHandlerTest() {
    Target t;
    t.repo = "acme/web";
    t.branch = "main";
    t.dir = kDir;
    t.git_dir = kGitDir;
    t.commands = {{"/usr/bin/make", "build"}, {"/bin/systemctl", "restart", "web"}};
    t.timeout = std::chrono::seconds(30);
    t.env = {{"APP_ENV", "production"}, {"PATH", "/opt/app/bin:/usr/bin"}};
    config_.host = "web-1";
    config_.targets = {t};
    config_.base_env = {{"PATH", "/usr/bin:/bin"}, {"HOME", "/root"}, {"LANG", "C.UTF-8"}};
    git_.checked_out = kA;
    git_.local = {kA};
    git_.remote = {kA, kB, kC};
    git_.remote_refs = {{"refs/heads/main", kB}};  // the default push is the tip
    ledger_.entry = LedgerEntry{kA, true};
  }

  void make_handler(HandlerOptions options = {}, bool with_token = true) {
    statuses_ = std::make_unique<StatusReporter>(
        &http_, "http://github.test",
        with_token ? std::optional<Secret>(Secret("tok")) : std::nullopt, config_.host);
    handler_ = std::make_unique<DeployHandler>(config_, git_, ledger_, runner_, *statuses_,
                                               publisher_, clock_, options);
  }

  worker::HandleResult handle(const kafka::ConsumedRecord& r,
                              std::span<const kafka::ConsumedRecord> later = {}, int attempt = 1) {
    if (!handler_) make_handler();
    worker::HandlerContext context;
    context.attempt = attempt;
    context.later_in_partition = later;
    context.stopping = [this] { return stopping_; };
    return handler_->handle(r, context);
  }

  std::unique_ptr<Parsed> result(std::size_t i) {
    auto p = std::make_unique<Parsed>();
    p->text = publisher_.records().at(i).value;
    EXPECT_EQ(p->parser.parse(p->text).get(p->doc), simdjson::SUCCESS) << p->text;
    return p;
  }

  DeployConfig config_;
  fakes::FakeGit git_;
  FakeLedger ledger_;
  FakeRunner runner_;
  fakes::FakePublisher publisher_;
  fakes::FakeHttpClient http_;
  fakes::FakeClock clock_;
  std::unique_ptr<StatusReporter> statuses_;
  std::unique_ptr<DeployHandler> handler_;
  bool stopping_ = false;
};

// ---- the happy path ---------------------------------------------------------------------

TEST_F(DeployHandlerTest, PushToTheBranchFetchesChecksOutAndRunsEveryCommandInOrder) {
  runner_.on_run = [this](const CommandSpec&) {
    EXPECT_EQ(git_.checked_out, kB) << "commands run on the new checkout";
    EXPECT_FALSE(ledger_.entry.has_value()) << "nothing counts as finished while running";
  };
  auto outcome = handle(record({}, "ev-1", 10));
  EXPECT_EQ(outcome.outcome, Outcome::kProcessed) << outcome.reason;
  EXPECT_EQ(git_.calls,
            (std::vector<std::string>{"fetch /srv/web origin", "checkout /srv/web " + kB}));
  ASSERT_EQ(runner_.runs.size(), 2u);
  EXPECT_EQ(runner_.runs[0].argv, (std::vector<std::string>{"/usr/bin/make", "build"}));
  EXPECT_EQ(runner_.runs[1].argv, (std::vector<std::string>{"/bin/systemctl", "restart", "web"}));
  EXPECT_EQ(runner_.runs[0].cwd, kDir);
  EXPECT_EQ(runner_.runs[0].timeout, std::chrono::seconds(30));
  EXPECT_EQ(runner_.runs[0].group_file, kGitDir + "/running");
  auto env = runner_.env_of(0);
  EXPECT_EQ(env["DEPLOY_REPO"], "acme/web");
  EXPECT_EQ(env["DEPLOY_REF"], "refs/heads/main");
  EXPECT_EQ(env["DEPLOY_SHA"], kB);
  EXPECT_EQ(env["DEPLOY_BEFORE"], kA);
  EXPECT_EQ(env["DEPLOY_PUSHER"], "octo");
  EXPECT_EQ(env["APP_ENV"], "production");
  EXPECT_EQ(env["PATH"], "/opt/app/bin:/usr/bin") << "target env beats the worker's";
  EXPECT_EQ(env["HOME"], "/root");
  EXPECT_EQ(ledger_.calls, (std::vector<std::string>{"begin", "finish success"}));
  EXPECT_EQ(ledger_.entry, (LedgerEntry{kB, true}));

  ASSERT_EQ(publisher_.records().size(), 1u);
  EXPECT_EQ(publisher_.records()[0].topic, "github.deploys");
  EXPECT_EQ(publisher_.records()[0].key, "acme/web");
  auto r = result(0);
  EXPECT_EQ(r->str("status"), "success");
  EXPECT_EQ(r->str("reason"), "deployed");
  EXPECT_EQ(r->str("repo"), "acme/web");
  EXPECT_EQ(r->str("ref"), "refs/heads/main");
  EXPECT_EQ(r->str("sha"), kB);
  EXPECT_EQ(r->str("host"), "web-1");
  EXPECT_EQ(r->str("event_id"), "ev-1");
  EXPECT_EQ(r->str("started_at"), "2026-11-27T01:35:50.000Z");
  EXPECT_EQ(simdjson::dom::array(r->doc["steps"]).size(), 2u);
  EXPECT_EQ(states_of(http_.requests), (std::vector<std::string>{"pending", "success"}));
  EXPECT_EQ(http_.requests[0].url, "http://github.test/repos/acme/web/statuses/" + kB);
}

TEST_F(DeployHandlerTest, RepositoryNamesMatchWithoutRegardToCase) {
  PushSpec p;
  p.repo = "ACME/Web";
  EXPECT_EQ(handle(record(p, "ev", 1)).outcome, Outcome::kProcessed);
  EXPECT_EQ(runner_.runs.size(), 2u);
}

// ---- nothing to do ----------------------------------------------------------------------

TEST_F(DeployHandlerTest, PingsAndOtherEventsAreCommittedWithoutResults) {
  EXPECT_EQ(handle(record({}, "ev-ping", 1, "ping")).outcome, Outcome::kSkipped);
  EXPECT_EQ(handle(record({}, "ev-issue", 2, "issues")).outcome, Outcome::kSkipped);
  EXPECT_TRUE(git_.calls.empty());
  EXPECT_TRUE(runner_.runs.empty());
  EXPECT_TRUE(publisher_.records().empty());
}

TEST_F(DeployHandlerTest, PushesForOtherBranchesReposAndTagsAreCommittedWithoutResults) {
  PushSpec other_branch;
  other_branch.ref = "refs/heads/develop";
  PushSpec other_repo;
  other_repo.repo = "acme/api";
  PushSpec tag;
  tag.ref = "refs/tags/v1";
  PushSpec prefix_branch;
  prefix_branch.ref = "refs/heads/main2";
  for (const auto& p : {other_branch, other_repo, tag, prefix_branch}) {
    auto outcome = handle(record(p, "ev", 1));
    EXPECT_EQ(outcome.outcome, Outcome::kSkipped) << p.ref;
    EXPECT_EQ(outcome.reason, "no matching target");
  }
  EXPECT_TRUE(git_.calls.empty());
  EXPECT_TRUE(runner_.runs.empty());
  EXPECT_TRUE(publisher_.records().empty()) << "pushes that match no target produce no result";
}

TEST_F(DeployHandlerTest, DeletionIsASkippedResultAndNothingRuns) {
  PushSpec p;
  p.deleted = true;
  p.after = kZero;
  EXPECT_EQ(handle(record(p, "ev-del", 1)).outcome, Outcome::kSkipped);
  EXPECT_TRUE(git_.calls.empty());
  EXPECT_TRUE(runner_.runs.empty());
  ASSERT_EQ(publisher_.records().size(), 1u);
  auto r = result(0);
  EXPECT_EQ(r->str("status"), "skipped");
  EXPECT_EQ(r->str("reason"), "deleted");
}

TEST_F(DeployHandlerTest, AfterAlreadyCheckedOutAndFinishedIsSkipped) {
  git_.checked_out = kB;
  git_.local.insert(kB);
  ledger_.entry = LedgerEntry{kB, true};
  EXPECT_EQ(handle(record({}, "ev-again", 3)).outcome, Outcome::kSkipped);
  EXPECT_TRUE(git_.calls.empty()) << "no fetch, no checkout";
  EXPECT_TRUE(runner_.runs.empty());
  EXPECT_EQ(result(0)->str("reason"), "already_deployed");
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(DeployHandlerTest, AFailedDeployIsNotRunAgainByARedelivery) {
  git_.checked_out = kB;
  git_.local.insert(kB);
  ledger_.entry = LedgerEntry{kB, false};
  EXPECT_EQ(handle(record({}, "ev-again", 3)).outcome, Outcome::kSkipped);
  EXPECT_TRUE(runner_.runs.empty());
  EXPECT_EQ(result(0)->str("reason"), "already_failed");
}

TEST_F(DeployHandlerTest, CheckedOutButUnfinishedDeployRunsAgain) {
  // A worker killed mid-deploy: HEAD moved, the ledger entry was removed and never written.
  git_.checked_out = kB;
  git_.local.insert(kB);
  ledger_.entry.reset();
  EXPECT_EQ(handle(record({}, "ev-1", 3)).outcome, Outcome::kProcessed);
  EXPECT_EQ(runner_.runs.size(), 2u);
  EXPECT_EQ(result(0)->str("status"), "success");
}

TEST_F(DeployHandlerTest, ReplayingAnOlderPushRollsBack) {
  git_.checked_out = kC;
  git_.local = {kA, kB, kC};
  ledger_.entry = LedgerEntry{kC, true};
  PushSpec older;
  older.after = kB;
  auto r = record(older, "ev-old", 40);
  r.headers.push_back({"replayed-from", "webhooks.github/2/7"});
  EXPECT_EQ(handle(r).outcome, Outcome::kProcessed);
  EXPECT_EQ(git_.checked_out, kB);
  EXPECT_EQ(runner_.runs.size(), 2u);
  EXPECT_EQ(result(0)->str("status"), "success");
}

// ---- superseded pushes ------------------------------------------------------------------

TEST_F(DeployHandlerTest, OnlyTheNewestWaitingPushForATargetDeploys) {
  PushSpec p2, p3, other_branch, deletion;
  p2.after = kB;
  p3.after = kC;
  other_branch.ref = "refs/heads/develop";
  deletion.deleted = true;
  deletion.after = kZero;
  git_.remote_refs["refs/heads/main"] = kC;
  std::vector<kafka::ConsumedRecord> batch = {record(p2, "ev-2", 11), record(p3, "ev-3", 12),
                                              record(other_branch, "ev-dev", 13),
                                              record(deletion, "ev-del", 14)};
  std::span<const kafka::ConsumedRecord> all(batch);
  EXPECT_EQ(handle(batch[0], all.subspan(1)).outcome, Outcome::kSkipped);
  EXPECT_EQ(handle(batch[1], all.subspan(2)).outcome, Outcome::kProcessed)
      << "another branch or a deletion does not supersede";
  ASSERT_EQ(publisher_.records().size(), 2u);
  auto skipped = result(0);
  EXPECT_EQ(skipped->str("status"), "skipped");
  EXPECT_EQ(skipped->str("reason"), "superseded");
  EXPECT_EQ(skipped->str("superseded_by"), "ev-3");
  EXPECT_EQ(skipped->str("event_id"), "ev-2");
  EXPECT_EQ(result(1)->str("status"), "success");
  EXPECT_EQ(git_.checked_out, kC);
  EXPECT_EQ(runner_.runs.size(), 2u) << "commands ran for the newest push only";
}

TEST_F(DeployHandlerTest, SupersededNamesTheNewestOfSeveral) {
  PushSpec p2, p3, p4;
  p2.after = kB;
  p3.after = kC;
  p4.after = kA;
  std::vector<kafka::ConsumedRecord> batch = {record(p2, "ev-2", 1), record(p3, "ev-3", 2),
                                              record(p4, "ev-4", 3)};
  std::span<const kafka::ConsumedRecord> all(batch);
  handle(batch[0], all.subspan(1));
  handle(batch[1], all.subspan(2));
  EXPECT_EQ(result(0)->str("superseded_by"), "ev-4");
  EXPECT_EQ(result(1)->str("superseded_by"), "ev-4");
}

// ---- failures ---------------------------------------------------------------------------

TEST_F(DeployHandlerTest, AFailingCommandIsAFailureResultAndLaterStepsDoNotRun) {
  config_.targets[0].commands.push_back({"/bin/never"});
  CommandOutcome bad;
  bad.exit_code = 2;
  bad.output_tail = "make: *** [build] Error 2\n";
  bad.output_bytes = 4000;
  runner_.outcomes["/usr/bin/make"] = bad;
  EXPECT_EQ(handle(record({}, "ev-1", 1)).outcome, Outcome::kProcessed)
      << "a failed command is a result, not a retry";
  ASSERT_EQ(runner_.runs.size(), 1u);
  auto r = result(0);
  EXPECT_EQ(r->str("status"), "failure");
  EXPECT_EQ(r->str("reason"), "command_failed");
  EXPECT_EQ(r->str("detail"), "step 1 of 3 (/usr/bin/make) exited with 2");
  simdjson::dom::array steps = r->doc["steps"];
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(int64_t(steps.at(0)["exit_code"]), 2);
  EXPECT_EQ(std::string_view(steps.at(0)["output_tail"]), "make: *** [build] Error 2\n");
  EXPECT_EQ(ledger_.entry, (LedgerEntry{kB, false}));
  EXPECT_EQ(states_of(http_.requests), (std::vector<std::string>{"pending", "failure"}));
}

TEST_F(DeployHandlerTest, ACommandOverItsTimeoutIsAFailure) {
  CommandOutcome slow;
  slow.exit_code = 137;
  slow.timed_out = true;
  runner_.outcomes["/bin/systemctl"] = slow;
  handle(record({}, "ev-1", 1));
  auto r = result(0);
  EXPECT_EQ(r->str("reason"), "command_timed_out");
  EXPECT_EQ(r->str("detail"), "step 2 of 2 (/bin/systemctl) ran over 30 s and was killed");
  EXPECT_EQ(bool(simdjson::dom::array(r->doc["steps"]).at(1)["timed_out"]), true);
}

TEST_F(DeployHandlerTest, FetchFailuresRetryAndTheLastAttemptSaysSoBeforeTheDeadLetter) {
  git_.fetch_failures = 10;
  make_handler(HandlerOptions{3});
  auto first = handle(record({}, "ev-1", 1), {}, 1);
  EXPECT_EQ(first.outcome, Outcome::kRetry);
  EXPECT_NE(first.reason.find("git fetch"), std::string::npos);
  EXPECT_EQ(handle(record({}, "ev-1", 1), {}, 2).outcome, Outcome::kRetry);
  EXPECT_TRUE(publisher_.records().empty()) << "no result while retrying";
  auto last = handle(record({}, "ev-1", 1), {}, 3);
  EXPECT_EQ(last.outcome, Outcome::kRetry) << "the runtime turns the last retry into a dead letter";
  ASSERT_EQ(publisher_.records().size(), 1u);
  auto r = result(0);
  EXPECT_EQ(r->str("status"), "failure");
  EXPECT_EQ(r->str("reason"), "fetch_failed");
  EXPECT_TRUE(runner_.runs.empty());
  EXPECT_EQ(git_.checked_out, kA) << "nothing checked out";
  EXPECT_EQ(states_of(http_.requests), (std::vector<std::string>{"error"}));
}

TEST_F(DeployHandlerTest, ACommitMissingAfterTheFetchIsAFailureNotACrash) {
  git_.remote = {kA};  // the push's commit never reached the remote (or was force-pushed away)
  EXPECT_EQ(handle(record({}, "ev-1", 1)).outcome, Outcome::kProcessed);
  EXPECT_EQ(git_.calls, (std::vector<std::string>{"fetch /srv/web origin"}));
  EXPECT_TRUE(runner_.runs.empty());
  EXPECT_EQ(result(0)->str("reason"), "commit_not_found");
  EXPECT_EQ(ledger_.entry, (LedgerEntry{kA, true})) << "the live deploy is untouched";
}

TEST_F(DeployHandlerTest, ACheckoutFailureIsAFailureAndNoCommandRuns) {
  git_.checkout_fails = true;
  handle(record({}, "ev-1", 1));
  EXPECT_TRUE(runner_.runs.empty());
  EXPECT_EQ(result(0)->str("reason"), "checkout_failed");
}

TEST_F(DeployHandlerTest, AMalformedAfterNeverReachesGit) {
  PushSpec p;
  p.after = "$(touch /tmp/pwned)";
  EXPECT_EQ(handle(record(p, "ev-1", 1)).outcome, Outcome::kProcessed);
  EXPECT_TRUE(git_.calls.empty());
  EXPECT_TRUE(runner_.runs.empty());
  EXPECT_EQ(result(0)->str("reason"), "invalid_sha");
}

TEST_F(DeployHandlerTest, AnUnreadablePushIsADeadLetter) {
  auto r = record({}, "ev-1", 1);
  r.value = "{not json";
  EXPECT_EQ(handle(r).outcome, Outcome::kDeadLetter);
  EXPECT_TRUE(publisher_.records().empty());
}

TEST_F(DeployHandlerTest, AResultThatCannotBePublishedRetriesTheRecord) {
  publisher_.fail_next(1);
  EXPECT_EQ(handle(record({}, "ev-1", 1)).outcome, Outcome::kRetry);
  // The retry finds the deploy finished and says so.
  EXPECT_EQ(handle(record({}, "ev-1", 1), {}, 2).outcome, Outcome::kSkipped);
  EXPECT_EQ(runner_.runs.size(), 2u) << "the commands ran once";
  EXPECT_EQ(result(0)->str("reason"), "already_deployed");
}

TEST_F(DeployHandlerTest, StatusReportingFailuresNeverFailTheDeploy) {
  http_.status = 500;
  EXPECT_EQ(handle(record({}, "ev-1", 1)).outcome, Outcome::kProcessed);
  EXPECT_EQ(result(0)->str("status"), "success");
  EXPECT_EQ(http_.requests.size(), 2u);
}

TEST_F(DeployHandlerTest, NoStatusesWithoutAToken) {
  make_handler({}, false);
  handle(record({}, "ev-1", 1));
  EXPECT_TRUE(http_.requests.empty());
  EXPECT_EQ(result(0)->str("status"), "success");
}

// ---- shutdown ---------------------------------------------------------------------------

TEST_F(DeployHandlerTest, ShutdownDuringACommandAbandonsTheRecordUncommitted) {
  CommandOutcome interrupted;
  interrupted.interrupted = true;
  interrupted.exit_code = 143;
  runner_.outcomes["/usr/bin/make"] = interrupted;
  EXPECT_EQ(handle(record({}, "ev-1", 1)).outcome, Outcome::kRetry);
  EXPECT_TRUE(publisher_.records().empty());
  EXPECT_FALSE(ledger_.entry.has_value()) << "unfinished: the next owner deploys again";
}

TEST_F(DeployHandlerTest, ShutdownBetweenStepsStopsBeforeTheNextOne) {
  runner_.on_run = [this](const CommandSpec&) { stopping_ = true; };
  EXPECT_EQ(handle(record({}, "ev-1", 1)).outcome, Outcome::kRetry);
  EXPECT_EQ(runner_.runs.size(), 1u);
  EXPECT_TRUE(publisher_.records().empty());
}

// ---- payload text is data ---------------------------------------------------------------

TEST_F(DeployHandlerTest, PayloadTextNeverReachesAnArgv) {
  config_.targets[0].branch = "x;$(touch${IFS}/tmp/pwned)`id`";
  PushSpec p;
  p.ref = "refs/heads/x;$(touch${IFS}/tmp/pwned)`id`";
  p.pusher = "eve; rm -rf / `reboot` $(touch /tmp/pwned)";
  git_.remote_refs[p.ref] = kB;
  EXPECT_EQ(handle(record(p, "ev-1", 1)).outcome, Outcome::kProcessed);
  ASSERT_EQ(runner_.runs.size(), 2u);
  for (const auto& run : runner_.runs) {
    for (const auto& arg : run.argv) {
      EXPECT_EQ(arg.find("pwned"), std::string::npos) << arg;
      EXPECT_EQ(arg.find("eve"), std::string::npos) << arg;
    }
  }
  for (const auto& call : git_.calls) EXPECT_EQ(call.find("pwned"), std::string::npos) << call;
  auto env = runner_.env_of(0);
  EXPECT_EQ(env["DEPLOY_REF"], p.ref) << "passed verbatim, as data";
  EXPECT_EQ(env["DEPLOY_PUSHER"], p.pusher);
}

// ---- tags ---------------------------------------------------------------------------------

TEST_F(DeployHandlerTest, TagsDeployWhenTheTargetAsksForThemPeelingAnnotatedTags) {
  config_.targets[0].tags = true;
  git_.remote.insert(kTagObject);
  git_.peeled[kTagObject] = kC;
  git_.remote_refs["refs/tags/v2"] = kTagObject;
  PushSpec tag;
  tag.ref = "refs/tags/v2";
  tag.after = kTagObject;
  EXPECT_EQ(handle(record(tag, "ev-tag", 1)).outcome, Outcome::kProcessed);
  EXPECT_EQ(git_.calls.at(0), "fetch /srv/web origin tags");
  EXPECT_EQ(git_.checked_out, kC);
  EXPECT_EQ(runner_.env_of(0)["DEPLOY_SHA"], kC);
  auto r = result(0);
  EXPECT_EQ(r->str("sha"), kTagObject);
  EXPECT_EQ(r->str("commit"), kC);
  // Delivered again: the tag's commit is live.
  EXPECT_EQ(handle(record(tag, "ev-tag", 1)).outcome, Outcome::kSkipped);
  EXPECT_EQ(result(1)->str("reason"), "already_deployed");
}

TEST_F(DeployHandlerTest, IncludeTagsTurnsTagsOnForEveryTarget) {
  config_.include_tags = true;
  PushSpec tag;
  tag.ref = "refs/tags/v3";
  tag.after = kC;
  git_.remote_refs["refs/tags/v3"] = kC;
  EXPECT_EQ(handle(record(tag, "ev-tag", 1)).outcome, Outcome::kProcessed);
  EXPECT_EQ(git_.checked_out, kC);
}

// ---- metrics ------------------------------------------------------------------------------

TEST_F(DeployHandlerTest, MetricsCountResultsAndTrackTheDeployedCommit) {
  metrics::Registry registry;
  make_handler();
  handler_->attach_metrics(registry);
  auto text = registry.render();
  EXPECT_NE(text.find("deploy_current_info{target=\"acme/web@main\",sha=\"" + kA + "\"} 1"),
            std::string::npos)
      << text;
  handle(record({}, "ev-1", 1));
  PushSpec again;
  handle(record(again, "ev-1", 1));  // already deployed
  text = registry.render();
  EXPECT_NE(text.find("deploys_total{target=\"acme/web@main\",status=\"success\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("deploys_total{target=\"acme/web@main\",status=\"skipped\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("deploy_current_info{target=\"acme/web@main\",sha=\"" + kB + "\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("deploy_current_info{target=\"acme/web@main\",sha=\"" + kA + "\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("deploy_duration_seconds_count{target=\"acme/web@main\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("deploy_status_reports_total{outcome=\"sent\"} 2"), std::string::npos);
}

// ---- the tip rule (replay safety) ----------------------------------------------------------

TEST_F(DeployHandlerTest, AnOldPushPostedAgainIsStaleAndDoesNotRollBack) {
  // kC is live and the branch's tip; someone re-POSTs the captured, validly signed push of kB.
  git_.checked_out = kC;
  git_.local = {kA, kB, kC};
  git_.remote_refs["refs/heads/main"] = kC;
  ledger_.entry = LedgerEntry{kC, true};
  EXPECT_EQ(handle(record({}, "ev-old", 50)).outcome, Outcome::kSkipped);
  EXPECT_EQ(git_.calls, (std::vector<std::string>{"fetch /srv/web origin"}))
      << "the tip is read after a fetch, and nothing is checked out";
  EXPECT_EQ(git_.checked_out, kC);
  EXPECT_TRUE(runner_.runs.empty());
  EXPECT_EQ(ledger_.entry, (LedgerEntry{kC, true}));
  EXPECT_TRUE(http_.requests.empty()) << "no commit status for a push that does not deploy";
  ASSERT_EQ(publisher_.records().size(), 1u);
  auto r = result(0);
  EXPECT_EQ(r->str("status"), "skipped");
  EXPECT_EQ(r->str("reason"), "stale");
  EXPECT_EQ(r->str("sha"), kB);
  EXPECT_NE(r->str("detail").find("refs/heads/main is at " + kC.substr(0, 12)), std::string::npos)
      << r->text;
}

TEST_F(DeployHandlerTest, TheTipIsReadAfterTheFetchNotBeforeIt) {
  // Before the fetch the clone still thinks kA is the tip; the remote has moved on to kB.
  git_.fetched_refs = {{"refs/heads/main", kA}};
  EXPECT_EQ(handle(record({}, "ev-1", 1)).outcome, Outcome::kProcessed);
  EXPECT_EQ(git_.checked_out, kB);
  EXPECT_EQ(result(0)->str("status"), "success");
}

TEST_F(DeployHandlerTest, APushForABranchDeletedOnTheRemoteIsStale) {
  git_.remote_refs.clear();
  EXPECT_EQ(handle(record({}, "ev-1", 1)).outcome, Outcome::kSkipped);
  EXPECT_TRUE(runner_.runs.empty());
  auto r = result(0);
  EXPECT_EQ(r->str("reason"), "stale");
  EXPECT_EQ(r->str("detail"), "refs/heads/main is not on origin after the fetch");
}

TEST_F(DeployHandlerTest, AReplayedPushIsExemptFromTheTipRule) {
  git_.checked_out = kC;
  git_.local = {kA, kB, kC};
  git_.remote_refs["refs/heads/main"] = kC;
  ledger_.entry = LedgerEntry{kC, true};
  auto r = record({}, "ev-old", 50);
  r.headers.push_back({"replayed-from", "webhooks.github/2/7"});
  EXPECT_EQ(handle(r).outcome, Outcome::kProcessed);
  EXPECT_EQ(git_.checked_out, kB) << "an operator's replay still rolls back";
  EXPECT_EQ(result(0)->str("status"), "success");
}

TEST_F(DeployHandlerTest, AMovedTagIsStaleToo) {
  config_.targets[0].tags = true;
  git_.remote_refs["refs/tags/v1"] = kC;  // v1 was moved to kC since this push
  PushSpec tag;
  tag.ref = "refs/tags/v1";
  tag.after = kB;
  EXPECT_EQ(handle(record(tag, "ev-tag", 1)).outcome, Outcome::kSkipped);
  EXPECT_EQ(result(0)->str("reason"), "stale");
  EXPECT_TRUE(runner_.runs.empty());
}

TEST_F(DeployHandlerTest, TheCommandEnvironmentNamesTheHostTheEventAndTheTarget) {
  handle(record({}, "ev-env", 1));
  ASSERT_EQ(runner_.runs.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    auto env = runner_.env_of(i);
    EXPECT_EQ(env["DEPLOY_HOST"], "web-1");
    EXPECT_EQ(env["DEPLOY_EVENT_ID"], "ev-env");
    EXPECT_EQ(env["DEPLOY_TARGET"], "acme/web@main");
  }
}

}  // namespace
}  // namespace wi::deploy
