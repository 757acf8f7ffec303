#pragma once
// deploy-worker's settings (SPEC §5 "deploy-worker"): YAML `deploy:` plus the environment.
//
//   deploy:
//     source: github            # DEPLOY_SOURCE: consumes webhooks.<source>
//     include_tags: false       # DEPLOY_INCLUDE_TAGS: tag pushes deploy every target of the repo
//     git_timeout_s: 60         # DEPLOY_GIT_TIMEOUT_S: per git command (fetch, checkout, ...)
//     github_api_url: https://api.github.com   # GITHUB_API_URL
//     targets:
//       - repo: acme/web
//         branch: main
//         dir: /srv/web         # absolute; the top of a git work tree
//         remote: origin        # default origin
//         commands: [[make, install], [systemctl, restart, web]]
//         timeout_s: 120        # per command
//         env: {RAILS_ENV: production}
//         tags: false           # this target also deploys tag pushes
//
// DEPLOY_HOST (environment only: a YAML file is shared by every host) names this host;
// default: the machine's hostname. GITHUB_TOKEN (or GITHUB_TOKEN_FILE) turns on commit
// statuses.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/secret.h"

namespace wi::deploy {

class Git;

struct Target {
  std::string repo;    // "owner/name"
  std::string branch;  // "main"
  std::string dir;     // absolute path of the work tree's top level
  std::string remote = "origin";
  std::vector<std::vector<std::string>> commands;
  std::chrono::seconds timeout{120};
  std::map<std::string, std::string> env;
  bool tags = false;
  // Filled in by validate_work_trees(): the repository's git directory (absolute), where the
  // agent keeps its ledger.
  std::string git_dir;

  // "owner/name@branch": the target's name in logs and metric labels.
  std::string name() const { return repo + "@" + branch; }
};

struct DeployConfig {
  std::string host;
  std::string source = "github";
  bool include_tags = false;
  std::chrono::seconds git_timeout{60};
  std::string github_api_url = "https://api.github.com";
  std::optional<Secret> github_token;
  std::vector<Target> targets;
  // The environment the commands inherit (the worker's own, minus its secrets), captured
  // once at startup.
  std::map<std::string, std::string> base_env;
};

// This machine's hostname ("localhost" if it has none).
std::string machine_hostname();

// DEPLOY_HOST from `env`, else the hostname: known before the YAML is read, because the
// default consumer group (deploy-<host>) is fixed before the worker's config is loaded.
std::string default_host(const config::Environment& env);

// Reads and checks every setting; each problem goes to the loader (reported all at once by
// Loader::finish()). `base_env` is the worker's environment for the commands.
DeployConfig load_deploy_config(config::Loader& loader,
                                std::map<std::string, std::string> base_env);

// Checks each target's dir with git: a work tree's top level with the configured remote.
// Sets Target::git_dir. Problems go to the loader.
void validate_work_trees(DeployConfig& config, Git& git, config::Loader& loader);

// The process environment (for base_env): read once at startup, like the Loader's snapshot.
std::map<std::string, std::string> process_environment();

}  // namespace wi::deploy
