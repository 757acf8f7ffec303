#pragma once
// deploy-worker as a real process: real git repositories in a temporary directory (a bare
// "origin", an author's clone that commits and pushes, target clones the worker deploys),
// GitHub-format push events on a per-test webhook topic, results read back from the shared
// github.deploys topic (filtered by the test's unique repository name).

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/json_text.h"
#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_consumer.h"
#include "common/kafka/rdkafka_publisher.h"
#include "common/topics.h"
#include "tests/support/eventually.h"
#include "tests/support/kafka_env.h"
#include "tests/support/process.h"
#include "tests/support/raw_http.h"

namespace wi::testing {

inline const std::string kDeploysTopic = "github.deploys";
inline const std::string kZeroSha = "0000000000000000000000000000000000000000";

// github.deploys is shared by every test (and by `ingestctl topics create` in other tests):
// create it exactly as the default layout does, so nobody sees a topic that "differs".
inline void ensure_deploys_topic() {
  auto admin = kafka::RdKafkaAdmin::create(test_client("wi-deploy-test-admin"));
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  for (const auto& spec : topics::all_topics(topics::Layout{})) {
    if (spec.name != kDeploysTopic) continue;
    auto created = (*admin)->create_topics({spec}, std::chrono::seconds(30));
    ASSERT_TRUE(created.ok()) << created.error().message;
    return;
  }
  FAIL() << kDeploysTopic << " is not in the topic layout";
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

inline void write_text(const std::string& path, const std::string& text, int mode = 0644) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  ::chmod(path.c_str(), mode);
}

// eventually() with the limit first, which reads better around the long lambdas here.
template <typename F>
bool eventually_for(std::chrono::milliseconds limit, F done) {
  return eventually(std::move(done), limit, std::chrono::milliseconds(100));
}

// A live process (not a zombie).
inline bool process_alive(int pid) {
  auto stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] != 'Z' &&
         stat[paren + 2] != 'X';
}

// ---- git ----------------------------------------------------------------------------------

inline std::string git(const std::string& dir, const std::vector<std::string>& args,
                       bool must_succeed = true) {
  std::vector<std::string> argv = {"/usr/bin/git",
                                   "-C",
                                   dir,
                                   "-c",
                                   "user.name=Deploy Test",
                                   "-c",
                                   "user.email=deploy-test@example.com"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_process(argv, {{"GIT_CONFIG_NOSYSTEM", "1"}, {"GIT_TERMINAL_PROMPT", "0"}});
  if (must_succeed) {
    EXPECT_EQ(r.exit_code, 0) << "git " << args.at(0) << ": " << r.err;
  }
  return r.out;
}

// origin (bare), an author's clone, and deploy targets cloned from origin.
class GitRepos {
 public:
  explicit GitRepos(std::string root) : root_(std::move(root)) {
    origin_ = root_ + "/origin.git";
    author_ = root_ + "/author";
    git(root_, {"init", "--quiet", "--bare", "-b", "main", origin_});
    git(root_, {"clone", "--quiet", origin_, author_});
    commit_and_push("initial commit");  // so that every clone has a HEAD
  }

  // A new commit on the author's HEAD (changing `app.txt`), pushed to `branch`; its sha.
  std::string commit_and_push(const std::string& message, const std::string& branch = "main",
                              const std::string& extra_file = "") {
    write_text(author_ + "/app.txt", message + "\n" + std::to_string(++commits_) + "\n");
    git(author_, {"add", "app.txt"});
    if (!extra_file.empty()) {
      write_text(author_ + "/" + extra_file, "x\n");
      git(author_, {"add", "--", extra_file});
    }
    git(author_, {"commit", "--quiet", "-m", message});
    git(author_, {"push", "--quiet", "origin", "HEAD:refs/heads/" + branch});
    return head(author_);
  }

  std::string clone(const std::string& name) {
    std::string dir = root_ + "/" + name;
    git(root_, {"clone", "--quiet", origin_, dir});
    return dir;
  }

  std::string head(const std::string& dir) {
    auto out = git(dir, {"rev-parse", "HEAD"}, false);
    return out.substr(0, 40);
  }

  const std::string& origin() const { return origin_; }
  const std::string& root() const { return root_; }

 private:
  std::string root_, origin_, author_;
  int commits_ = 0;
};

// ---- GitHub push events ----------------------------------------------------------------

struct Push {
  std::string repo;
  std::string ref = "refs/heads/main";
  std::string before = kZeroSha;
  std::string after;
  bool deleted = false;
  std::string pusher = "octocat";
  std::string message = "a change";
};

// A push payload shaped like GitHub's (the fields a deploy agent reads, and the usual others).
inline std::string push_payload(const Push& p) {
  auto q = [](const std::string& s) { return json::quote(s); };
  auto slash = p.repo.find('/');
  std::string commit =
      R"({"id":)" + q(p.after) + R"(,"tree_id":)" + q(p.after) + R"(,"distinct":true,"message":)" +
      q(p.message) + R"(,"timestamp":"2026-11-27T01:35:50Z","author":{"name":)" + q(p.pusher) +
      R"(,"email":"o@example.com"},"added":[],"removed":[],"modified":["app.txt"]})";
  std::ostringstream out;
  out << R"({"ref":)" << q(p.ref) << R"(,"before":)" << q(p.before) << R"(,"after":)" << q(p.after)
      << R"(,"created":)" << (p.before == kZeroSha ? "true" : "false") << R"(,"deleted":)"
      << (p.deleted ? "true" : "false")
      << R"(,"forced":false,"base_ref":null,"compare":"https://github.com/)" << p.repo
      << R"(/compare","commits":)" << (p.deleted ? "[]" : "[" + commit + "]")
      << R"(,"head_commit":)" << (p.deleted ? "null" : commit) << R"(,"pusher":{"name":)"
      << q(p.pusher) << R"(,"email":"o@example.com"},"repository":{"id":1,"name":)"
      << q(p.repo.substr(slash + 1)) << R"(,"full_name":)" << q(p.repo)
      << R"(,"clone_url":"https://github.com/)" << p.repo << R"(.git","ssh_url":"git@github.com:)"
      << p.repo
      << R"(.git","default_branch":"main","created_at":1700000000,"pushed_at":1700000100})"
      << R"(,"sender":{"login":)" << q(p.pusher) << "}}";
  return out.str();
}

// Publishes one webhook record as ingestd would (headers, key = repository).
inline void publish_event(kafka::Publisher& publisher, const std::string& topic,
                          const std::string& key, const std::string& event_id,
                          const std::string& event_type, const std::string& body) {
  kafka::OutgoingRecord record;
  record.topic = topic;
  record.key = key;
  record.value = body;
  record.headers = {{"source", "github"},
                    {"event-id", event_id},
                    {"event-type", event_type},
                    {"received-at", format_rfc3339_ms(std::chrono::system_clock::now())},
                    {"content-type", "application/json"}};
  auto d = kafka::publish_and_wait(publisher, std::move(record), std::chrono::seconds(30));
  ASSERT_TRUE(d.ok()) << d.error().message;
}

inline void publish_push(kafka::Publisher& publisher, const std::string& topic, const Push& p,
                         const std::string& event_id) {
  publish_event(publisher, topic, p.repo, event_id, "push", push_payload(p));
}

// ---- results on github.deploys ----------------------------------------------------------

struct Step {
  std::vector<std::string> argv;
  std::int64_t exit_code = 0;
  bool timed_out = false;
  std::string output_tail;
};

struct DeployRecord {
  std::map<std::string, std::string> fields;  // every string field
  std::vector<Step> steps;
  std::string raw;
  std::string operator[](const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? "" : it->second;
  }
};

// Every result on github.deploys whose key is `repo`, in order.
inline std::vector<DeployRecord> deploy_results(const std::string& repo) {
  std::vector<DeployRecord> out;
  simdjson::dom::parser parser;
  for (const auto& record : read_topic(kDeploysTopic, 0, std::chrono::seconds(15))) {
    if (record.key != repo) continue;
    DeployRecord r;
    r.raw = record.value;
    simdjson::dom::object doc;
    if (parser.parse(record.value).get(doc)) {
      ADD_FAILURE() << "not JSON: " << record.value;
      continue;
    }
    for (auto [key, value] : doc) {
      std::string_view text;
      if (!value.get(text)) r.fields[std::string(key)] = std::string(text);
    }
    simdjson::dom::array steps;
    if (!doc["steps"].get(steps)) {
      for (auto s : steps) {
        Step step;
        for (auto a : s["argv"]) step.argv.emplace_back(std::string_view(a));
        step.exit_code = int64_t(s["exit_code"]);
        step.timed_out = bool(s["timed_out"]);
        step.output_tail = std::string(std::string_view(s["output_tail"]));
        r.steps.push_back(std::move(step));
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

inline std::vector<DeployRecord> results_for_event(const std::vector<DeployRecord>& all,
                                                   const std::string& event_id) {
  std::vector<DeployRecord> out;
  for (const auto& r : all) {
    if (r["event_id"] == event_id) out.push_back(r);
  }
  return out;
}

// Waits until `repo` has a result for `event_id` with `status`; returns every result for it.
inline std::vector<DeployRecord> wait_for_result(
    const std::string& repo, const std::string& event_id, const std::string& status,
    std::chrono::milliseconds limit = std::chrono::seconds(90)) {
  std::vector<DeployRecord> found;
  eventually_for(limit, [&] {
    found = results_for_event(deploy_results(repo), event_id);
    for (const auto& r : found) {
      if (r["status"] == status) return true;
    }
    return false;
  });
  return found;
}

// ---- the worker ----------------------------------------------------------------------------

struct TargetSpec {
  std::string repo;
  std::string branch = "main";
  std::string dir;
  std::string remote = "origin";
  std::vector<std::vector<std::string>> commands;
  int timeout_s = 30;
  std::map<std::string, std::string> env;
};

inline std::string deploy_yaml(const std::vector<TargetSpec>& targets) {
  auto q = [](const std::string& s) { return json::quote(s); };  // JSON strings are YAML
  std::ostringstream out;
  out << "deploy:\n  targets:\n";
  for (const auto& t : targets) {
    out << "    - repo: " << q(t.repo) << "\n      branch: " << q(t.branch)
        << "\n      dir: " << q(t.dir) << "\n      remote: " << q(t.remote)
        << "\n      timeout_s: " << t.timeout_s << "\n      commands:\n";
    for (const auto& argv : t.commands) {
      out << "        - [";
      for (std::size_t i = 0; i < argv.size(); ++i) out << (i ? ", " : "") << q(argv[i]);
      out << "]\n";
    }
    if (!t.env.empty()) {
      out << "      env:\n";
      for (const auto& [k, v] : t.env) out << "        " << k << ": " << q(v) << "\n";
    }
  }
  return out.str();
}

// A script the targets run to prove what ran, where and with which environment. It appends
// one line per run to $RECORD_FILE: label|DEPLOY_SHA|DEPLOY_REF|DEPLOY_REPO|DEPLOY_BEFORE|
// DEPLOY_PUSHER|HEAD|cwd. Values are printed with printf '%s' — never evaluated.
inline std::string write_recorder(const std::string& dir) {
  std::string path = dir + "/record.sh";
  write_text(path,
             "#!/bin/sh\n"
             "printf '%s|%s|%s|%s|%s|%s|%s|%s\\n' \"$1\" \"$DEPLOY_SHA\" \"$DEPLOY_REF\" "
             "\"$DEPLOY_REPO\" \"$DEPLOY_BEFORE\" \"$DEPLOY_PUSHER\" "
             "\"$(git rev-parse HEAD)\" \"$(pwd)\" >> \"$RECORD_FILE\"\n",
             0755);
  return path;
}

struct Recorded {
  std::string label, sha, ref, repo, before, pusher, head, cwd;
};

inline std::vector<Recorded> read_recorded(const std::string& path) {
  std::vector<Recorded> out;
  for (const auto& line : read_lines(path)) {
    std::vector<std::string> f;
    std::stringstream in(line);
    for (std::string part; std::getline(in, part, '|');) f.push_back(part);
    f.resize(8);
    out.push_back({f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]});
  }
  return out;
}

class DeployWorkerProcess {
 public:
  // `scratch` holds the config file and the log; `env` adds to / overrides the defaults.
  DeployWorkerProcess(const std::string& scratch, const std::string& yaml,
                      std::map<std::string, std::string> env)
      : metrics_port_(free_port()) {
    std::string tag = std::to_string(metrics_port_);
    config_path_ = scratch + "/deploy-" + tag + ".yaml";
    write_text(config_path_, yaml);
    std::map<std::string, std::string> all = {
        {"KAFKA_BROKERS", test_brokers()},
        {"WORKER_METRICS_LISTEN", "127.0.0.1:" + tag},
        {"WORKER_BACKOFF_INITIAL_MS", "100"},
        {"WORKER_BACKOFF_MAX_MS", "400"},
        {"LOG_LEVEL", "debug"},
        {"GIT_CONFIG_NOSYSTEM", "1"},
    };
    for (auto& [k, v] : env) all[k] = v;
    process_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{DEPLOY_WORKER_PATH, "--config", config_path_}, all,
        scratch + "/deploy-worker-" + tag + ".log");
  }

  BackgroundProcess& process() { return *process_; }
  std::string log() const { return process_->log(); }
  std::string metrics() const { return metrics_text(metrics_port_); }
  // SIGTERM, then the exit code (or -1 when it did not exit in time).
  int stop() {
    process_->signal(SIGTERM);
    return process_->wait(std::chrono::seconds(15));
  }

 private:
  std::uint16_t metrics_port_;
  std::string config_path_;
  std::unique_ptr<BackgroundProcess> process_;
};

// A deploy group without committed offsets starts at the end of the topic (a new host deploys
// the next push, not history). The README's recipe for deploying what is already there at
// first start: `ingestctl replay --group G --topic T --from-time ...` before the worker runs.
// Runs that recipe (from an hour ago: every record of a per-test topic) when `group` has no
// committed offset on `topic` yet; fails the test when ingestctl does.
inline void replay_history_for_new_group(const std::string& group, const std::string& topic,
                                         int partitions = 3) {
  auto committed = committed_offsets(group, topic, partitions);
  for (const auto& [partition, offset] : committed) {
    if (offset != kafka::Consumer::kOffsetInvalid) return;  // not new
  }
  auto r = run_process({INGESTCTL_PATH, "replay", "--group", group, "--topic", topic,
                        "--from-time", "-1h"},
                       {{"KAFKA_BROKERS", test_brokers()}}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << "ingestctl replay: " << r.out << r.err;
}

// Committed offsets of `group` on every partition of `topic`.
inline std::int64_t committed_total(const std::string& group, const std::string& topic,
                                    int partitions) {
  kafka::ConsumerOptions options;
  options.client = test_client("wi-deploy-test-committed");
  options.group_id = group;
  auto consumer = kafka::RdKafkaConsumer::create(options);
  if (!consumer) return -1;
  std::vector<kafka::TopicPartition> tps;
  for (int p = 0; p < partitions; ++p) tps.push_back({topic, p});
  auto committed = (*consumer)->committed(tps, std::chrono::seconds(10));
  std::int64_t total = 0;
  if (committed) {
    for (const auto& c : *committed) total += std::max<std::int64_t>(c.offset, 0);
  }
  (*consumer)->close();
  return committed ? total : -1;
}

}  // namespace wi::testing
