#include "workers/deploy/deploy_config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/fakes/fake_git.h"
#include "workers/deploy/git_repo.h"

namespace wi::deploy {
namespace {

using Vars = std::map<std::string, std::string>;

std::vector<std::string> problems_of(config::Loader& loader) {
  try {
    loader.finish();
  } catch (const config::ConfigError& e) {
    return e.problems();
  }
  return {};
}

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string all(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

TEST(DeployConfig, ReadsTargetsWithDefaults) {
  auto loader = config::Loader::from_yaml_text(R"(
deploy:
  include_tags: true
  targets:
    - repo: acme/web
      branch: main
      dir: /srv/web/
      commands:
        - [make, install]
        - ["/bin/systemctl", restart, web]
      env: {APP_ENV: production}
    - repo: acme/api
      branch: release/v2
      dir: /srv/api
      remote: upstream
      timeout_s: 900
      tags: true
      commands: [[./deploy.sh]]
)",
                                               config::Environment(Vars{{"DEPLOY_HOST", "web-1"}}));
  auto c = load_deploy_config(
      loader, {{"PATH", "/usr/bin"}, {"GITHUB_TOKEN", "t"}, {"GITHUB_TOKEN_FILE", "/x"}});
  EXPECT_TRUE(problems_of(loader).empty()) << all(problems_of(loader));
  EXPECT_EQ(c.host, "web-1");
  EXPECT_EQ(c.source, "github");
  EXPECT_TRUE(c.include_tags);
  EXPECT_EQ(c.git_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.github_api_url, "https://api.github.com");
  EXPECT_FALSE(c.github_token.has_value()) << "GITHUB_TOKEN comes from the loader's environment";
  EXPECT_EQ(c.base_env, (std::map<std::string, std::string>{{"PATH", "/usr/bin"}}))
      << "the worker's own credentials are not passed to the commands";
  ASSERT_EQ(c.targets.size(), 2u);
  const auto& web = c.targets[0];
  EXPECT_EQ(web.name(), "acme/web@main");
  EXPECT_EQ(web.dir, "/srv/web");
  EXPECT_EQ(web.remote, "origin");
  EXPECT_EQ(web.timeout, std::chrono::seconds(120));
  EXPECT_FALSE(web.tags);
  EXPECT_EQ(web.commands, (std::vector<std::vector<std::string>>{
                              {"make", "install"}, {"/bin/systemctl", "restart", "web"}}));
  EXPECT_EQ(web.env.at("APP_ENV"), "production");
  const auto& api = c.targets[1];
  EXPECT_EQ(api.branch, "release/v2");
  EXPECT_EQ(api.remote, "upstream");
  EXPECT_EQ(api.timeout, std::chrono::seconds(900));
  EXPECT_TRUE(api.tags);
}

TEST(DeployConfig, EnvironmentSettingsAndTheToken) {
  auto loader = config::Loader::from_yaml_text(
      "deploy: {}\n", config::Environment(Vars{{"DEPLOY_HOST", "db-2"},
                                               {"GITHUB_TOKEN", "ghp_secret"},
                                               {"GITHUB_API_URL", "http://127.0.0.1:9/"},
                                               {"DEPLOY_SOURCE", "github-acme"},
                                               {"DEPLOY_GIT_TIMEOUT_S", "15"}}));
  auto c = load_deploy_config(loader, {});
  EXPECT_TRUE(problems_of(loader).empty()) << all(problems_of(loader));
  EXPECT_EQ(c.host, "db-2");
  EXPECT_EQ(c.source, "github-acme");
  EXPECT_EQ(c.git_timeout, std::chrono::seconds(15));
  EXPECT_EQ(c.github_api_url, "http://127.0.0.1:9/");
  ASSERT_TRUE(c.github_token.has_value());
  EXPECT_EQ(c.github_token->reveal(), "ghp_secret");
  EXPECT_EQ(loader.secrets().size(), 1u) << "registered for log redaction";
  EXPECT_TRUE(c.targets.empty());
}

TEST(DeployConfig, DefaultHostIsTheHostnameUnlessDeployHostIsSet) {
  EXPECT_EQ(default_host(config::Environment(Vars{{"DEPLOY_HOST", "web-9"}})), "web-9");
  EXPECT_EQ(default_host(config::Environment()), machine_hostname());
  EXPECT_FALSE(machine_hostname().empty());
}

TEST(DeployConfig, EveryProblemIsListedAtOnce) {
  auto loader =
      config::Loader::from_yaml_text(R"(
deploy:
  host: not-here
  targets:
    - repo: acme/web
      branch: main
      dir: /srv/web
      commands: []
    - repo: ACME/web
      branch: main
      dir: /srv/web
      commands: [[make], []]
      env: {DEPLOY_SHA: x, "bad name": y}
    - repo: nope
      branch: refs/heads/x
      dir: relative/path
      remote: --upload-pack=evil
      timeout_s: 0
      commands: [[ok]]
      colour: blue
    - {}
)",
                                     config::Environment(Vars{{"DEPLOY_HOST", "bad host!"}}));
  load_deploy_config(loader, {});
  auto problems = problems_of(loader);
  for (const char* expected :
       {"DEPLOY_HOST: 'bad host!'", "deploy.targets[0].commands: at least one command",
        "deploy.targets[1].commands[1]", "deploy.targets[1].env.DEPLOY_SHA",
        "deploy.targets[1].env.bad name", "deploy.targets[0] and deploy.targets[1]: both deploy",
        "deploy.targets[0] and deploy.targets[1]: both use dir /srv/web",
        "deploy.targets[2].repo: 'nope'", "deploy.targets[2].branch", "deploy.targets[2].dir",
        "deploy.targets[2].remote", "deploy.targets[2].timeout_s",
        "deploy.targets[2].colour: unknown key", "deploy.host: unknown key",
        "deploy.targets[3].repo: required", "deploy.targets[3].branch: required",
        "deploy.targets[3].dir: required"}) {
    EXPECT_TRUE(mentions(problems, expected)) << "missing: " << expected << "\n" << all(problems);
  }
}

TEST(DeployConfig, WorkTreesAreCheckedWithGit) {
  auto root = std::filesystem::temp_directory_path() / "wi-deploy-config-test";
  std::filesystem::create_directories(root / "good");
  std::filesystem::create_directories(root / "plain");
  auto loader = config::Loader::from_yaml_text(
      "deploy:\n  targets:\n"
      "    - {repo: a/good, branch: main, dir: " +
          (root / "good").string() +
          ", commands: [[x]]}\n"
          "    - {repo: a/plain, branch: main, dir: " +
          (root / "plain").string() +
          ", commands: [[x]]}\n"
          "    - {repo: a/gone, branch: main, dir: " +
          (root / "gone").string() + ", commands: [[x]]}\n",
      config::Environment());
  auto c = load_deploy_config(loader, {});
  fakes::FakeGit git;
  git.work_trees.emplace();
  git.work_trees->emplace((root / "good").string(),
                    WorkTree{(root / "good").string(), (root / "good/.git").string()});
  validate_work_trees(c, git, loader);
  auto problems = problems_of(loader);
  EXPECT_EQ(c.targets[0].git_dir, (root / "good/.git").string());
  EXPECT_TRUE(mentions(
      problems, "deploy.targets[1].dir: " + (root / "plain").string() + " not a git work tree"))
      << all(problems);
  EXPECT_TRUE(mentions(
      problems, "deploy.targets[2].dir: " + (root / "gone").string() + " is not a directory"))
      << all(problems);
  EXPECT_EQ(problems.size(), 2u) << all(problems);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace wi::deploy
