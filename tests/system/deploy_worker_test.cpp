// deploy-worker end to end (SPEC §5 "deploy-worker"): real git repositories, the real broker,
// real worker processes (and a real ingestd and ingestctl where the path matters), a local
// stand-in for GitHub's statuses API.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <random>
#include <set>

#include "tests/system/deploy_fixture.h"
#include "tests/system/ingestd_fixture.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

std::string random_suffix() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) out += hex[rd() % 16];
  return out;
}

std::map<std::string, std::string> headers_of(const kafka::ConsumedRecord& record) {
  std::map<std::string, std::string> out;
  for (const auto& h : record.headers) out[h.name] = h.value;
  return out;
}

class DeployWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = unique_name("dw") + ".";
    topic_ = prefix_ + "github";
    create_topics({topic_, topic_ + ".dlq"});
    ensure_deploys_topic();
    repo_ = "acme/" + unique_name("app");
    repos_ = std::make_unique<GitRepos>(dir_.path());
    recorder_ = write_recorder(dir_.path());
    recorded_ = dir_.path() + "/recorded";
    publisher_ = test_publisher("wi-deploy-test");
  }

  // A target for repo_@main in `dir` running `commands` (default: the recorder twice).
  TargetSpec target(const std::string& dir, std::vector<std::vector<std::string>> commands = {}) {
    TargetSpec t;
    t.repo = repo_;
    t.dir = dir;
    t.commands = commands.empty() ? std::vector<std::vector<std::string>>{{recorder_, "first"},
                                                                          {recorder_, "second"}}
                                  : std::move(commands);
    t.env = {{"RECORD_FILE", recorded_}};
    return t;
  }

  // With `replay_history` (the default), a host seen for the first time first gets the
  // README's first-start recipe (ingestctl replay), so pushes published before it started are
  // deployed; without it the worker starts as a new host does: at the end of the topic.
  std::unique_ptr<DeployWorkerProcess> start(const std::vector<TargetSpec>& targets,
                                             std::map<std::string, std::string> env = {},
                                             bool replay_history = true) {
    if (!env.count("DEPLOY_HOST")) env["DEPLOY_HOST"] = host_;
    env["TOPIC_PREFIX"] = prefix_;
    if (replay_history) {
      replay_history_for_new_group("deploy-" + env["DEPLOY_HOST"], prefix_ + "github");
    }
    return std::make_unique<DeployWorkerProcess>(dir_.path(), deploy_yaml(targets), env);
  }

  // Publishes pings (keyed like this test's pushes, so on their partition) until `group`
  // has committed one: from then on the worker is positioned and sees every new record.
  void wait_until_consuming(const std::string& group, DeployWorkerProcess& worker) {
    int pings = 0;
    bool consuming = eventually_for(90s, [&] {
      publish_event(*publisher_, topic_, repo_, "ev-ready-" + std::to_string(++pings), "ping",
                    R"({"zen":"Anything added dilutes everything else.","hook_id":7})");
      return eventually_for(2s, [&] {
        for (const auto& [p, offset] : committed_offsets(group, topic_, 3)) {
          if (offset != kafka::Consumer::kOffsetInvalid) return true;
        }
        return false;
      });
    });
    ASSERT_TRUE(consuming) << "the worker never committed a ping\n" << worker.log();
    // A valid configuration's startup line (WorkerParts::announce) was logged.
    EXPECT_NE(worker.log().find("deploy agent host="), std::string::npos) << worker.log();
  }

  Push push(const std::string& after, const std::string& before = kZeroSha) {
    Push p;
    p.repo = repo_;
    p.after = after;
    p.before = before;
    return p;
  }

  TempDir dir_;
  std::string prefix_, topic_, repo_, recorder_, recorded_;
  std::string host_ = "host-" + random_suffix();
  std::unique_ptr<GitRepos> repos_;
  std::unique_ptr<kafka::RdKafkaPublisher> publisher_;
};

TEST_F(DeployWorkerTest, PushThroughIngestdDeploysTheCommitAndRecordsSuccess) {
  IngestdProcess ingestd;  // real edge: signed delivery → webhooks.<prefix>github
  prefix_ = ingestd.topic("github").substr(0, ingestd.topic("github").size() - 6);
  create_topics({ingestd.topic("github") + ".dlq"});
  auto dir = repos_->clone("target");
  auto first = repos_->head(dir);
  auto after = repos_->commit_and_push("ship it");
  auto worker = start({target(dir)});

  Push p = push(after, first);
  p.pusher = "mona";
  auto r = ingestd.post_github(push_payload(p), "delivery-ship-1");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer") << ingestd.log();

  auto results = wait_for_result(repo_, "delivery-ship-1", "success");
  ASSERT_EQ(results.size(), 1u) << worker->log();
  const auto& result = results[0];
  EXPECT_EQ(result["repo"], repo_);
  EXPECT_EQ(result["ref"], "refs/heads/main");
  EXPECT_EQ(result["sha"], after);
  EXPECT_EQ(result["host"], host_);
  EXPECT_EQ(result["reason"], "deployed");
  EXPECT_FALSE(result["started_at"].empty());
  EXPECT_FALSE(result["finished_at"].empty());
  ASSERT_EQ(result.steps.size(), 2u);
  EXPECT_EQ(result.steps[0].argv, (std::vector<std::string>{recorder_, "first"}));
  EXPECT_EQ(result.steps[0].exit_code, 0);

  EXPECT_EQ(repos_->head(dir), after);
  EXPECT_EQ(git(dir, {"rev-parse", "--abbrev-ref", "HEAD"}), "HEAD\n") << "detached";
  auto ran = read_recorded(recorded_);
  ASSERT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[0].label, "first");
  EXPECT_EQ(ran[1].label, "second");
  for (const auto& run : ran) {
    EXPECT_EQ(run.sha, after);
    EXPECT_EQ(run.ref, "refs/heads/main");
    EXPECT_EQ(run.repo, repo_);
    EXPECT_EQ(run.before, first);
    EXPECT_EQ(run.pusher, "mona");
    EXPECT_EQ(run.head, after) << "commands run on the new checkout";
    EXPECT_EQ(run.cwd, std::filesystem::canonical(dir).string());
  }

  // GitHub redelivers the same delivery by hand: the commit is live, nothing runs again.
  r = ingestd.post_github(push_payload(p), "delivery-ship-1");
  ASSERT_TRUE(r && r->status == 200);
  auto again = wait_for_result(repo_, "delivery-ship-1", "skipped");
  ASSERT_EQ(again.size(), 2u) << worker->log();
  EXPECT_EQ(again[1]["reason"], "already_deployed");
  EXPECT_EQ(read_recorded(recorded_).size(), 2u);
  EXPECT_NE(
      worker->metrics().find("worker_records_total{worker=\"deploy\",outcome=\"processed\"} 1"),
      std::string::npos)
      << worker->metrics();
  auto m = worker->metrics();
  EXPECT_NE(m.find("deploys_total{"), std::string::npos) << m;
  EXPECT_NE(m.find("deploy_duration_seconds_count{"), std::string::npos) << m;
  EXPECT_NE(m.find("deploy_current_info{"), std::string::npos) << m;
  EXPECT_NE(m.find(after), std::string::npos) << "the deployed sha is a label of the info gauge";
  EXPECT_EQ(worker->stop(), 0) << worker->log();
}

TEST_F(DeployWorkerTest, OtherBranchesReposDeletionsTagsAndPingsRunNothingAndAreCommitted) {
  auto dir = repos_->clone("target");
  auto base = repos_->head(dir);
  auto on_develop = repos_->commit_and_push("feature work", "develop");
  auto tagged = repos_->commit_and_push("release");
  git(repos_->origin(), {"tag", "v1", tagged});
  std::string group = "deploy-" + host_;  // the default group
  auto worker = start({target(dir)});

  Push develop = push(on_develop);
  develop.ref = "refs/heads/develop";
  publish_push(*publisher_, topic_, develop, "ev-develop");
  Push other_repo = push(tagged);
  other_repo.repo = repo_ + "-other";
  publish_push(*publisher_, topic_, other_repo, "ev-other-repo");
  Push deletion = push(kZeroSha, base);
  deletion.deleted = true;
  publish_push(*publisher_, topic_, deletion, "ev-delete");
  Push tag = push(tagged);
  tag.ref = "refs/tags/v1";
  publish_push(*publisher_, topic_, tag, "ev-tag");
  publish_event(
      *publisher_, topic_, repo_, "ev-ping", "ping",
      R"({"zen":"Design for failure.","hook_id":42,"hook":{"config":{"content_type":"json"}}})");
  // A last push that does deploy: once it is done, everything before it was handled.
  auto last = repos_->commit_and_push("the real one");
  publish_push(*publisher_, topic_, push(last, base), "ev-last");

  ASSERT_FALSE(wait_for_result(repo_, "ev-last", "success").empty()) << worker->log();
  auto ran = read_recorded(recorded_);
  ASSERT_EQ(ran.size(), 2u) << "only the last push ran commands";
  EXPECT_EQ(ran[0].sha, last);

  auto results = deploy_results(repo_);
  ASSERT_EQ(results.size(), 2u) << "a result for the deletion and the deploy, none for the rest";
  EXPECT_EQ(results[0]["event_id"], "ev-delete");
  EXPECT_EQ(results[0]["status"], "skipped");
  EXPECT_EQ(results[0]["reason"], "deleted");
  EXPECT_TRUE(deploy_results(repo_ + "-other").empty());
  EXPECT_TRUE(eventually_for(30s, [&] { return committed_total(group, topic_, 3) == 6; }))
      << "every record is committed: " << committed_total(group, topic_, 3) << "\n"
      << worker->log();
  EXPECT_EQ(worker->stop(), 0);
  auto log = worker->log();
  EXPECT_NE(log.find("ping"), std::string::npos) << "a ping is logged";
}

TEST_F(DeployWorkerTest, PushesQueuedDuringASlowDeployOnlyTheNewestDeploysTheOthersAreSuperseded) {
  auto dir = repos_->clone("target");
  auto t = target(dir, {{recorder_, "deploy"}, {"/bin/sleep", "3"}});
  auto worker = start({t});
  auto s1 = repos_->commit_and_push("one");
  publish_push(*publisher_, topic_, push(s1), "ev-1");
  ASSERT_TRUE(eventually_for(60s, [&] { return !read_recorded(recorded_).empty(); }))
      << worker->log();
  // Deploy 1 is sleeping: three more pushes queue up behind it.
  auto s2 = repos_->commit_and_push("two");
  auto s3 = repos_->commit_and_push("three");
  auto s4 = repos_->commit_and_push("four");
  publish_push(*publisher_, topic_, push(s2, s1), "ev-2");
  publish_push(*publisher_, topic_, push(s3, s2), "ev-3");
  publish_push(*publisher_, topic_, push(s4, s3), "ev-4");

  ASSERT_FALSE(wait_for_result(repo_, "ev-4", "success").empty()) << worker->log();
  auto results = deploy_results(repo_);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0]["event_id"], "ev-1");
  EXPECT_EQ(results[0]["status"], "success");
  for (int i : {1, 2}) {
    EXPECT_EQ(results[i]["status"], "skipped") << results[i].raw;
    EXPECT_EQ(results[i]["reason"], "superseded");
    EXPECT_EQ(results[i]["superseded_by"], "ev-4");
    EXPECT_TRUE(results[i].steps.empty());
  }
  EXPECT_EQ(results[1]["event_id"], "ev-2");
  EXPECT_EQ(results[2]["event_id"], "ev-3");
  EXPECT_EQ(results[3]["event_id"], "ev-4");
  auto ran = read_recorded(recorded_);
  ASSERT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[0].sha, s1);
  EXPECT_EQ(ran[1].sha, s4);
  EXPECT_EQ(repos_->head(dir), s4);
}

TEST_F(DeployWorkerTest, FailingAndHangingCommandsAreFailureResultsAndLaterStepsDoNotRun) {
  auto dir = repos_->clone("target");
  auto t = target(dir, {{recorder_, "one"},
                        {"/bin/sh", "-c", "echo out-line; echo err-line >&2; exit 7"},
                        {recorder_, "three"}});
  // A second repository whose command hangs past its timeout, with a child of its own.
  std::filesystem::create_directories(dir_.path() + "/hang");
  GitRepos hang_repos(dir_.path() + "/hang");
  TargetSpec hang;
  hang.repo = repo_ + "-hang";
  hang.dir = hang_repos.clone("target");
  hang.timeout_s = 1;
  std::string child_pid = dir_.path() + "/bg.pid";
  hang.commands = {
      {"/bin/sh", "-c", "/bin/sleep 300 & echo $! > " + child_pid + "; /bin/sleep 300"},
      {recorder_, "after-hang"}};
  hang.env = {{"RECORD_FILE", recorded_}};
  auto worker = start({t, hang});

  auto broken = repos_->commit_and_push("broken build");
  publish_push(*publisher_, topic_, push(broken), "ev-broken");
  Push hanging;
  hanging.repo = hang.repo;
  hanging.after = hang_repos.commit_and_push("hangs");
  publish_push(*publisher_, topic_, hanging, "ev-hang");

  auto failed = wait_for_result(repo_, "ev-broken", "failure");
  ASSERT_EQ(failed.size(), 1u) << worker->log();
  EXPECT_EQ(failed[0]["reason"], "command_failed");
  ASSERT_EQ(failed[0].steps.size(), 2u) << "stopped at the failing step";
  EXPECT_EQ(failed[0].steps[1].exit_code, 7);
  EXPECT_NE(failed[0].steps[1].output_tail.find("out-line"), std::string::npos);
  EXPECT_NE(failed[0].steps[1].output_tail.find("err-line"), std::string::npos);
  EXPECT_EQ(repos_->head(dir), broken) << "the failed commit stays checked out";

  auto timed_out = wait_for_result(hang.repo, "ev-hang", "failure");
  ASSERT_EQ(timed_out.size(), 1u) << worker->log();
  EXPECT_EQ(timed_out[0]["reason"], "command_timed_out");
  ASSERT_EQ(timed_out[0].steps.size(), 1u);
  EXPECT_TRUE(timed_out[0].steps[0].timed_out);
  int pid = std::stoi(read_text(child_pid));
  EXPECT_TRUE(eventually_for(10s, [&] { return !process_alive(pid); }))
      << "the hanging command's child survived the timeout";

  std::vector<std::string> labels;
  for (const auto& r : read_recorded(recorded_)) labels.push_back(r.label);
  EXPECT_EQ(labels, std::vector<std::string>{"one"}) << "no step ran after a failure";
  EXPECT_EQ(worker->stop(), 0);
}

TEST_F(DeployWorkerTest, ShellMetacharactersInBranchMessageAndPusherAreNeverExecuted) {
  const std::string pwned = dir_.path() + "/pwned";
  const std::string branch =
      "deploy;$(touch${IFS}" + pwned + "-ref)`touch${IFS}" + pwned + "-tick`";
  const std::string evil_text =
      "$(touch " + pwned + "-msg); `touch " + pwned + "-tick2`; touch " + pwned + "-semi";
  auto dir = repos_->clone("target");
  auto t = target(dir, {{recorder_, "ran"}});
  t.branch = branch;
  auto worker = start({t});

  auto sha = repos_->commit_and_push(evil_text, branch);
  Push p = push(sha);
  p.ref = "refs/heads/" + branch;
  p.message = evil_text;
  p.pusher = evil_text;
  publish_push(*publisher_, topic_, p, "ev-evil");

  ASSERT_FALSE(wait_for_result(repo_, "ev-evil", "success").empty()) << worker->log();
  auto ran = read_recorded(recorded_);
  ASSERT_EQ(ran.size(), 1u);
  EXPECT_EQ(ran[0].ref, "refs/heads/" + branch) << "passed as data, byte for byte";
  EXPECT_EQ(ran[0].pusher, evil_text);
  EXPECT_EQ(ran[0].head, sha);
  for (const char* suffix : {"-ref", "-tick", "-msg", "-tick2", "-semi"}) {
    EXPECT_FALSE(std::filesystem::exists(pwned + suffix)) << pwned + suffix << " was created";
  }
}

TEST_F(DeployWorkerTest, TwoHostsEachDeployTheSamePush) {
  auto dir_a = repos_->clone("host-a");
  auto dir_b = repos_->clone("host-b");
  std::string host_a = "alpha-" + random_suffix(), host_b = "beta-" + random_suffix();
  auto a = start({target(dir_a)}, {{"DEPLOY_HOST", host_a}});
  auto b = start({target(dir_b)}, {{"DEPLOY_HOST", host_b}});
  auto sha = repos_->commit_and_push("everyone gets this");
  publish_push(*publisher_, topic_, push(sha), "ev-both");

  ASSERT_TRUE(eventually_for(90s,
                             [&] {
                               int successes = 0;
                               for (const auto& r :
                                    results_for_event(deploy_results(repo_), "ev-both")) {
                                 successes += r["status"] == "success";
                               }
                               return successes == 2;
                             }))
      << a->log() << b->log();
  std::set<std::string> hosts;
  for (const auto& r : results_for_event(deploy_results(repo_), "ev-both")) hosts.insert(r["host"]);
  EXPECT_EQ(hosts, (std::set<std::string>{host_a, host_b}));
  EXPECT_EQ(repos_->head(dir_a), sha);
  EXPECT_EQ(repos_->head(dir_b), sha);
  EXPECT_NE(a->log().find("group=deploy-" + host_a), std::string::npos) << a->log();
}

TEST_F(DeployWorkerTest, ReplayingAnOlderPushWithIngestctlRollsBack) {
  auto dir = repos_->clone("target");
  auto worker = start({target(dir)});
  auto good = repos_->commit_and_push("good release");
  publish_push(*publisher_, topic_, push(good), "ev-good");
  ASSERT_FALSE(wait_for_result(repo_, "ev-good", "success").empty()) << worker->log();
  auto bad = repos_->commit_and_push("bad release");
  publish_push(*publisher_, topic_, push(bad, good), "ev-bad");
  ASSERT_FALSE(wait_for_result(repo_, "ev-bad", "success").empty()) << worker->log();
  ASSERT_EQ(repos_->head(dir), bad);

  auto replay = run_process({INGESTCTL_PATH, "replay", "--topic", topic_, "--event-id", "ev-good"},
                            {{"KAFKA_BROKERS", test_brokers()}});
  ASSERT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  ASSERT_TRUE(eventually_for(90s, [&] {
    return results_for_event(deploy_results(repo_), "ev-good").size() == 2;
  })) << worker->log();
  auto good_results = results_for_event(deploy_results(repo_), "ev-good");
  EXPECT_EQ(good_results[1]["status"], "success") << good_results[1].raw;
  EXPECT_EQ(repos_->head(dir), good) << "rolled back";
  auto ran = read_recorded(recorded_);
  ASSERT_EQ(ran.size(), 6u);
  EXPECT_EQ(ran.back().sha, good);

  // Replaying it again changes nothing: that commit is live.
  replay = run_process({INGESTCTL_PATH, "replay", "--topic", topic_, "--event-id", "ev-good"},
                       {{"KAFKA_BROKERS", test_brokers()}});
  ASSERT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  ASSERT_TRUE(eventually_for(90s, [&] {
    return results_for_event(deploy_results(repo_), "ev-good").size() >= 3;
  })) << worker->log();
  EXPECT_EQ(results_for_event(deploy_results(repo_), "ev-good").back()["reason"],
            "already_deployed");
  EXPECT_EQ(read_recorded(recorded_).size(), 6u);
}

class GithubApiStandin {
 public:
  GithubApiStandin(const std::string& dir, int status = 201)
      : port_(free_port()), requests_(dir + "/github-api-" + std::to_string(port_) + ".jsonl") {
    process_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"/usr/bin/python3", GITHUB_API_STANDIN, "--port",
                                 std::to_string(port_), "--log", requests_, "--status",
                                 std::to_string(status)},
        std::map<std::string, std::string>{}, requests_ + ".log");
    bool up = eventually_for(20s, [&] {
      try {
        return http_request(port_, "GET", "/ready").has_value();
      } catch (const std::exception&) {
        return false;
      }
    });
    if (!up) ADD_FAILURE() << "the GitHub API stand-in did not start: " << process_->log();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  struct Request {
    std::string method, path, authorization, state, context, description;
  };
  std::vector<Request> posts() const {
    std::vector<Request> out;
    simdjson::dom::parser parser, body_parser;
    for (const auto& line : read_lines(requests_)) {
      simdjson::dom::element entry;
      if (parser.parse(line).get(entry)) continue;
      Request r;
      r.method = std::string(std::string_view(entry["method"]));
      if (r.method != "POST") continue;
      r.path = std::string(std::string_view(entry["path"]));
      std::string_view auth;
      if (!entry["headers"]["authorization"].get(auth)) r.authorization = std::string(auth);
      simdjson::dom::element body;
      std::string text{std::string_view(entry["body"])};
      if (!body_parser.parse(text).get(body)) {
        r.state = std::string(std::string_view(body["state"]));
        r.context = std::string(std::string_view(body["context"]));
        r.description = std::string(std::string_view(body["description"]));
      }
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  std::uint16_t port_;
  std::string requests_;
  std::unique_ptr<BackgroundProcess> process_;
};

TEST_F(DeployWorkerTest, CommitStatusesArePostedToTheGithubApi) {
  GithubApiStandin api(dir_.path());
  auto dir = repos_->clone("target");
  auto t = target(dir, {{recorder_, "build"}, {"/bin/sh", "-c", "test ! -e BROKEN"}});
  const std::string token = "ghp_test_token_" + random_suffix();
  auto worker = start({t}, {{"GITHUB_TOKEN", token}, {"GITHUB_API_URL", api.url()}});

  auto good = repos_->commit_and_push("works");
  publish_push(*publisher_, topic_, push(good), "ev-good");
  ASSERT_FALSE(wait_for_result(repo_, "ev-good", "success").empty()) << worker->log();
  auto broken = repos_->commit_and_push("breaks", "main", "BROKEN");
  publish_push(*publisher_, topic_, push(broken, good), "ev-broken");
  ASSERT_FALSE(wait_for_result(repo_, "ev-broken", "failure").empty()) << worker->log();

  std::vector<GithubApiStandin::Request> posts;
  ASSERT_TRUE(eventually_for(10s, [&] { return (posts = api.posts()).size() >= 4; }));
  ASSERT_EQ(posts.size(), 4u);
  const std::string base = "/repos/" + repo_ + "/statuses/";
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& p : posts) {
    seen.push_back({p.path, p.state});
    EXPECT_EQ(p.authorization, "Bearer " + token);
    EXPECT_EQ(p.context, "deploy/" + host_);
    EXPECT_FALSE(p.description.empty());
  }
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{{base + good, "pending"},
                                                                    {base + good, "success"},
                                                                    {base + broken, "pending"},
                                                                    {base + broken, "failure"}}));
  EXPECT_EQ(worker->stop(), 0);
  EXPECT_EQ(worker->log().find(token), std::string::npos) << "the token reached the log";
}

TEST_F(DeployWorkerTest, AnUnavailableGithubApiNeverFailsTheDeploy) {
  GithubApiStandin api(dir_.path(), 503);
  auto dir = repos_->clone("target");
  auto worker = start({target(dir)}, {{"GITHUB_TOKEN", "t0ken"}, {"GITHUB_API_URL", api.url()}});
  auto sha = repos_->commit_and_push("still ships");
  publish_push(*publisher_, topic_, push(sha), "ev-1");
  ASSERT_FALSE(wait_for_result(repo_, "ev-1", "success").empty()) << worker->log();
  EXPECT_EQ(api.posts().size(), 2u);
  EXPECT_EQ(repos_->head(dir), sha);
}

TEST_F(DeployWorkerTest, KilledMidDeployThePushIsHandledAgainAfterRestart) {
  auto dir = repos_->clone("target");
  const std::string delay = dir_.path() + "/delay";
  const std::string pids = dir_.path() + "/sleep.pids";
  write_text(delay, "30");
  auto t = target(
      dir, {{recorder_, "start"},
            {"/bin/sh", "-c", "echo $$ >> " + pids + "; exec /bin/sleep \"$(cat " + delay + ")\""},
            {recorder_, "done"}});
  auto sha = repos_->commit_and_push("slow deploy");
  publish_push(*publisher_, topic_, push(sha), "ev-slow");
  {
    auto first = start({t});
    ASSERT_TRUE(eventually_for(60s, [&] { return !read_lines(pids).empty(); })) << first->log();
    first->process().signal(SIGKILL);
    first->process().wait(10s);
  }
  int orphan = std::stoi(read_lines(pids).at(0));
  ASSERT_TRUE(process_alive(orphan)) << "the killed worker's command outlives it";
  EXPECT_TRUE(deploy_results(repo_).empty()) << "no result from the killed worker";
  write_text(delay, "0.2");

  auto second = start({t});
  auto results = wait_for_result(repo_, "ev-slow", "success");
  ASSERT_EQ(results.size(), 1u) << second->log();
  EXPECT_EQ(results[0]["sha"], sha);
  std::vector<std::string> labels;
  for (const auto& r : read_recorded(recorded_)) labels.push_back(r.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"start", "start", "done"}));
  EXPECT_EQ(repos_->head(dir), sha);
  EXPECT_FALSE(process_alive(orphan))
      << "the restarted worker ran the deploy next to the old one's command";
  EXPECT_EQ(second->stop(), 0);
}

TEST_F(DeployWorkerTest, SigtermMidDeployExitsPromptlyAndTheNextWorkerFinishesTheDeploy) {
  auto dir = repos_->clone("target");
  const std::string delay = dir_.path() + "/delay";
  write_text(delay, "60");
  auto t = target(dir, {{recorder_, "start"},
                        {"/bin/sh", "-c", "exec /bin/sleep \"$(cat " + delay + ")\""},
                        {recorder_, "done"}});
  auto sha = repos_->commit_and_push("interrupted deploy");
  publish_push(*publisher_, topic_, push(sha), "ev-term");
  {
    auto first = start({t});
    ASSERT_TRUE(eventually_for(60s, [&] { return !read_recorded(recorded_).empty(); }))
        << first->log();
    auto asked = std::chrono::steady_clock::now();
    EXPECT_EQ(first->stop(), 0) << first->log();
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s);
  }
  EXPECT_TRUE(deploy_results(repo_).empty()) << "an abandoned deploy has no result";
  write_text(delay, "0.1");
  auto second = start({t});
  ASSERT_EQ(wait_for_result(repo_, "ev-term", "success").size(), 1u) << second->log();
  std::vector<std::string> labels;
  for (const auto& r : read_recorded(recorded_)) labels.push_back(r.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"start", "start", "done"}));
}

TEST_F(DeployWorkerTest, UnreachableRemoteRetriesThenDeadLetters) {
  auto dir = repos_->clone("target");
  git(dir, {"remote", "add", "broken", dir_.path() + "/no-such-origin.git"});
  auto t = target(dir);
  t.remote = "broken";
  auto before = repos_->head(dir);
  auto worker = start({t}, {{"WORKER_MAX_ATTEMPTS", "3"}});
  auto sha = repos_->commit_and_push("cannot fetch this");
  publish_push(*publisher_, topic_, push(sha), "ev-unreachable");

  auto letters = read_topic(topic_ + ".dlq", 1, 90s);
  ASSERT_EQ(letters.size(), 1u) << worker->log();
  std::map<std::string, std::string> h;
  for (const auto& x : letters[0].headers) h[x.name] = x.value;
  EXPECT_EQ(h["event-id"], "ev-unreachable");
  EXPECT_EQ(h["dlq-worker"], "deploy");
  EXPECT_EQ(h["dlq-attempts"], "3");
  EXPECT_NE(h["dlq-reason"].find("git fetch broken"), std::string::npos) << h["dlq-reason"];
  auto results = wait_for_result(repo_, "ev-unreachable", "failure");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["reason"], "fetch_failed");
  EXPECT_EQ(repos_->head(dir), before);
  EXPECT_TRUE(read_recorded(recorded_).empty());
  EXPECT_NE(worker->metrics().find("worker_records_total{worker=\"deploy\",outcome=\"retried\"} 2"),
            std::string::npos)
      << worker->metrics();
}

TEST_F(DeployWorkerTest, InvalidConfigurationStopsStartupListingEveryProblem) {
  auto good = repos_->clone("target");
  std::filesystem::create_directories(dir_.path() + "/not-a-repo");
  TargetSpec a = target(good);
  TargetSpec duplicate = target(dir_.path() + "/not-a-repo");
  TargetSpec empty = target(good + "-missing");
  empty.repo = repo_ + "-2";
  empty.commands.clear();
  std::string path = dir_.path() + "/bad.yaml";
  write_text(path, deploy_yaml({a, duplicate, empty}) + "      surprise: 1\n");
  auto r = run_process({DEPLOY_WORKER_PATH, "--config", path},
                       {{"KAFKA_BROKERS", test_brokers()}, {"DEPLOY_HOST", host_}});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  for (const std::string& expected :
       {std::string("deploy.targets[0] and deploy.targets[1]: both deploy"),
        "deploy.targets[1].dir: " + dir_.path() + "/not-a-repo not a git work tree",
        std::string("deploy.targets[2].commands: at least one command"),
        "deploy.targets[2].dir: " + good + "-missing is not a directory",
        std::string("deploy.targets[2].surprise: unknown key")}) {
    EXPECT_NE(r.err.find(expected), std::string::npos) << "missing: " << expected << "\n" << r.err;
  }
  // Only the problems: no startup line for a configuration that will never be used.
  EXPECT_EQ((r.out + r.err).find("deploy agent host="), std::string::npos) << r.out << r.err;
}

// ---- replay safety and first start -------------------------------------------------------------

TEST_F(DeployWorkerTest, ANewHostStartsAtTheEndDeployingTheNextPushNotHistory) {
  auto dir = repos_->clone("target");
  auto history = repos_->commit_and_push("released before this host existed");
  publish_push(*publisher_, topic_, push(history), "ev-history");
  const std::string group = "deploy-" + host_;
  auto worker = start({target(dir)}, {}, /*replay_history=*/false);
  wait_until_consuming(group, *worker);

  auto next = repos_->commit_and_push("the next release");
  publish_push(*publisher_, topic_, push(next, history), "ev-next");
  ASSERT_FALSE(wait_for_result(repo_, "ev-next", "success").empty()) << worker->log();
  auto results = deploy_results(repo_);
  ASSERT_EQ(results.size(), 1u) << "history was handled too\n" << worker->log();
  auto ran = read_recorded(recorded_);
  ASSERT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[0].sha, next);
  EXPECT_EQ(repos_->head(dir), next);
  EXPECT_EQ(worker->stop(), 0);
}

TEST_F(DeployWorkerTest, TheFirstStartRecipeDeploysOnlyTheCurrentTipOfHistory) {
  auto dir = repos_->clone("target");
  auto old = repos_->commit_and_push("old release");
  publish_push(*publisher_, topic_, push(old), "ev-old");
  auto tip = repos_->commit_and_push("current release");
  publish_push(*publisher_, topic_, push(tip, old), "ev-tip");
  auto worker = start({target(dir)});  // the README's recipe first, then the worker

  ASSERT_FALSE(wait_for_result(repo_, "ev-tip", "success").empty()) << worker->log();
  auto olds = results_for_event(deploy_results(repo_), "ev-old");
  ASSERT_EQ(olds.size(), 1u) << worker->log();
  EXPECT_EQ(olds[0]["status"], "skipped");
  // Superseded when both arrive in one batch, stale when the tip rule sees it alone.
  EXPECT_TRUE(olds[0]["reason"] == "superseded" || olds[0]["reason"] == "stale") << olds[0].raw;
  auto ran = read_recorded(recorded_);
  ASSERT_EQ(ran.size(), 2u) << "only the tip ran its commands";
  EXPECT_EQ(ran[0].sha, tip);
  EXPECT_EQ(worker->stop(), 0);
}

TEST_F(DeployWorkerTest, AnOldSignedPushPostedAgainIsStaleAndRollsNothingBack) {
  IngestdProcess ingestd;
  prefix_ = ingestd.topic("github").substr(0, ingestd.topic("github").size() - 6);
  topic_ = ingestd.topic("github");
  create_topics({topic_ + ".dlq"});
  auto dir = repos_->clone("target");
  auto base = repos_->head(dir);
  auto worker = start({target(dir)});

  auto good = repos_->commit_and_push("good release");
  const std::string captured = push_payload(push(good, base));
  auto r = ingestd.post_github(captured, "delivery-good");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer") << ingestd.log();
  ASSERT_FALSE(wait_for_result(repo_, "delivery-good", "success").empty()) << worker->log();
  auto newer = repos_->commit_and_push("newer release");
  r = ingestd.post_github(push_payload(push(newer, good)), "delivery-newer");
  ASSERT_TRUE(r && r->status == 200);
  ASSERT_FALSE(wait_for_result(repo_, "delivery-newer", "success").empty()) << worker->log();

  // An attacker who saw the first delivery posts it again, validly signed, under a new id,
  // with headers that try to pass it off as an operator's replay.
  auto replayed = ingestd.post(
      "github",
      {"Content-Type: application/json", "X-GitHub-Event: push", "X-GitHub-Delivery: delivery-attack",
       "X-Hub-Signature-256: " + github_signature(captured), "replayed-from: " + topic_ + "/0/0",
       "redrive-for-group: deploy-" + host_},
      captured);
  ASSERT_TRUE(replayed && replayed->status == 200);
  auto attack = wait_for_result(repo_, "delivery-attack", "skipped");
  ASSERT_EQ(attack.size(), 1u) << worker->log();
  EXPECT_EQ(attack[0]["reason"], "stale") << attack[0].raw;
  EXPECT_EQ(attack[0]["sha"], good);
  EXPECT_EQ(repos_->head(dir), newer) << "rolled back by a re-POSTed push";
  EXPECT_EQ(read_recorded(recorded_).size(), 4u) << "commands ran for the attack";
  EXPECT_EQ(worker->stop(), 0);
}

TEST_F(DeployWorkerTest, SigtermReachesACommandThatIgnoresItAsSigkill) {
  auto dir = repos_->clone("target");
  const std::string pid_file = dir_.path() + "/stubborn.pid";
  auto t = target(dir, {{recorder_, "start"},
                        {"/bin/sh", "-c", "trap '' TERM; echo $$ > " + pid_file +
                                              "; exec /bin/sleep 120"}});
  auto worker = start({t});
  auto sha = repos_->commit_and_push("a stubborn deploy");
  publish_push(*publisher_, topic_, push(sha), "ev-stubborn");
  ASSERT_TRUE(eventually_for(60s, [&] { return !read_lines(pid_file).empty(); })) << worker->log();
  const int stubborn = std::stoi(read_lines(pid_file).at(0));
  ASSERT_TRUE(process_alive(stubborn));

  const auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(worker->stop(), 0) << worker->log();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s) << "SPEC §5: exit within 10 s";
  EXPECT_TRUE(eventually_for(5s, [&] { return !process_alive(stubborn); }))
      << "a command that ignores SIGTERM outlived the worker";
  EXPECT_TRUE(deploy_results(repo_).empty()) << "an abandoned deploy has no result";
}

// ---- redrive and replay for one host (SPEC §5: redrive-for-group) --------------------------------
// These two need the runtime side (dlq-group on dead letters, skipping records whose
// redrive-for-group names another group), written on another branch.

TEST_F(DeployWorkerTest, ARedrivenDeadLetterIsDeployedByTheHostThatFailedItOnly) {
  auto dir_a = repos_->clone("host-a");
  auto dir_b = repos_->clone("host-b");
  git(dir_a, {"remote", "add", "flaky", dir_.path() + "/not-there-yet.git"});
  std::string host_a = "alpha-" + random_suffix(), host_b = "beta-" + random_suffix();
  auto target_a = target(dir_a);
  target_a.remote = "flaky";
  auto a = start({target_a}, {{"DEPLOY_HOST", host_a}, {"WORKER_MAX_ATTEMPTS", "2"}});
  auto b = start({target(dir_b)}, {{"DEPLOY_HOST", host_b}});
  auto sha = repos_->commit_and_push("host a cannot fetch this yet");
  publish_push(*publisher_, topic_, push(sha), "ev-1");

  // b deploys; a cannot fetch and dead-letters the push, naming its group.
  ASSERT_FALSE(wait_for_result(repo_, "ev-1", "success").empty()) << b->log();
  auto letters = read_topic(topic_ + ".dlq", 1, 90s);
  ASSERT_EQ(letters.size(), 1u) << a->log();
  EXPECT_EQ(headers_of(letters[0])["dlq-group"], "deploy-" + host_a);

  // The remote is back; the operator redrives the dead letter.
  git(dir_a, {"remote", "set-url", "flaky", repos_->origin()});
  auto redrive = run_process({INGESTCTL_PATH, "redrive", topic_ + ".dlq"},
                             {{"KAFKA_BROKERS", test_brokers()}});
  ASSERT_EQ(redrive.exit_code, 0) << redrive.out << redrive.err;
  ASSERT_TRUE(eventually_for(90s, [&] {
    for (const auto& r : results_for_event(deploy_results(repo_), "ev-1")) {
      if (r["host"] == host_a && r["status"] == "success") return true;
    }
    return false;
  })) << a->log();
  EXPECT_EQ(repos_->head(dir_a), sha);

  // b has consumed the redriven record too (its group is at the end) and did nothing with it.
  const auto ends = record_count(topic_);
  ASSERT_TRUE(eventually_for(60s, [&] { return committed_total("deploy-" + host_b, topic_, 3) == ends; }))
      << b->log();
  std::size_t b_results = 0;
  for (const auto& r : results_for_event(deploy_results(repo_), "ev-1")) b_results += r["host"] == host_b;
  EXPECT_EQ(b_results, 1u) << "host b handled a redrive meant for host a\n" << b->log();
  EXPECT_EQ(read_recorded(recorded_).size(), 4u) << "two commands on each host, once";
}

TEST_F(DeployWorkerTest, AReplayForOneGroupRollsBackThatHostOnly) {
  auto dir_a = repos_->clone("host-a");
  auto dir_b = repos_->clone("host-b");
  std::string host_a = "alpha-" + random_suffix(), host_b = "beta-" + random_suffix();
  auto a = start({target(dir_a)}, {{"DEPLOY_HOST", host_a}});
  auto b = start({target(dir_b)}, {{"DEPLOY_HOST", host_b}});
  auto good = repos_->commit_and_push("good");
  publish_push(*publisher_, topic_, push(good), "ev-good");
  auto count_success = [&](const std::string& event) {
    int n = 0;
    for (const auto& r : results_for_event(deploy_results(repo_), event)) n += r["status"] == "success";
    return n;
  };
  ASSERT_TRUE(eventually_for(90s, [&] { return count_success("ev-good") == 2; })) << a->log() << b->log();
  auto bad = repos_->commit_and_push("bad");
  publish_push(*publisher_, topic_, push(bad, good), "ev-bad");
  ASSERT_TRUE(eventually_for(90s, [&] { return count_success("ev-bad") == 2; })) << a->log() << b->log();

  auto replay = run_process({INGESTCTL_PATH, "replay", "--topic", topic_, "--event-id", "ev-good",
                             "--for-group", "deploy-" + host_b},
                            {{"KAFKA_BROKERS", test_brokers()}});
  ASSERT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  ASSERT_TRUE(eventually_for(90s, [&] { return repos_->head(dir_b) == good; })) << b->log();
  const auto ends = record_count(topic_);
  ASSERT_TRUE(eventually_for(60s, [&] { return committed_total("deploy-" + host_a, topic_, 3) == ends; }))
      << a->log();
  EXPECT_EQ(repos_->head(dir_a), bad) << "host a rolled back by a replay for host b";
  EXPECT_EQ(count_success("ev-good"), 3) << "the replay deployed on b only";
}

}  // namespace
}  // namespace wi::testing
