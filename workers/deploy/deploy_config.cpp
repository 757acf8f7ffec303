#include "workers/deploy/deploy_config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "workers/deploy/git_repo.h"
#include "workers/deploy/push_event.h"
#include "workers/deploy/status_reporter.h"

extern char** environ;

namespace wi::deploy {

namespace {

bool host_name_ok(const std::string& host) {
  return !host.empty() && host.size() <= 64 && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

bool env_name_ok(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

config::Path child(config::Path path, std::string key) {
  path.push_back(std::move(key));
  return path;
}

// Unknown keys are errors (SPEC §2). The runtime marks the whole `deploy:` section as
// known for every worker, so this section checks its own keys.
void check_keys(config::Loader& loader, const config::Path& path,
                const std::set<std::string>& known) {
  for (const auto& key : loader.keys(path)) {
    if (!known.count(key)) loader.problem(config::to_string(child(path, key)) + ": unknown key");
  }
}

Target load_target(config::Loader& loader, std::size_t index) {
  const config::Path base = {"deploy", "targets", std::to_string(index)};
  const std::string where = config::to_string(base);
  check_keys(loader, base,
             {"repo", "branch", "dir", "remote", "commands", "timeout_s", "env", "tags"});
  Target t;
  t.repo = loader.string(child(base, "repo"), "", "");
  if (t.repo.empty()) {
    loader.problem(where + ".repo: required (owner/name)");
  } else if (!is_repo_name(t.repo)) {
    loader.problem(fmt::format("{}.repo: '{}' is not owner/name", where, t.repo));
  }
  t.branch = loader.string(child(base, "branch"), "", "");
  if (t.branch.empty()) {
    loader.problem(where + ".branch: required");
  } else if (t.branch.rfind("refs/", 0) == 0) {
    loader.problem(fmt::format("{}.branch: '{}' is a ref; give the branch name", where, t.branch));
  }
  t.dir = loader.string(child(base, "dir"), "", "");
  if (t.dir.empty()) {
    loader.problem(where + ".dir: required");
  } else if (t.dir.front() != '/') {
    loader.problem(fmt::format("{}.dir: '{}' must be an absolute path", where, t.dir));
  } else {
    t.dir = std::filesystem::path(t.dir).lexically_normal().string();
    if (t.dir.size() > 1 && t.dir.back() == '/') t.dir.pop_back();
  }
  t.remote = loader.string(child(base, "remote"), "", t.remote);
  if (t.remote.empty() || t.remote.front() == '-') {
    loader.problem(fmt::format("{}.remote: '{}' is not a remote name", where, t.remote));
  }

  const auto commands = child(base, "commands");
  std::size_t count = loader.list_size(commands);
  if (count == 0) {
    loader.problem(where + ".commands: at least one command (an argv list) is required");
  }
  for (std::size_t j = 0; j < count; ++j) {
    auto path = child(commands, std::to_string(j));
    auto argv = loader.string_list(path);
    if (argv.empty() || argv.front().empty()) {
      loader.problem(config::to_string(path) +
                     ": a command is a non-empty argv list, e.g. [make, install]");
      continue;
    }
    t.commands.push_back(std::move(argv));
  }
  t.timeout = std::chrono::seconds(
      loader.integer(child(base, "timeout_s"), "", t.timeout.count(), 1, 24 * 3600));
  t.env = loader.string_map(child(base, "env"));
  for (const auto& [name, value] : t.env) {
    loader.add_secret(value);  // tokens, passwords: scrubbed from logs like env secrets
    if (!env_name_ok(name)) {
      loader.problem(fmt::format("{}.env.{}: not a valid variable name", where, name));
    } else if (name.rfind("DEPLOY_", 0) == 0) {
      loader.problem(
          fmt::format("{}.env.{}: DEPLOY_* variables are set by the worker", where, name));
    }
  }
  t.tags = loader.boolean(child(base, "tags"), "", false);
  return t;
}

}  // namespace

std::string machine_hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

std::string default_host(const config::Environment& env) {
  return env.get("DEPLOY_HOST").value_or(machine_hostname());
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

DeployConfig load_deploy_config(config::Loader& loader,
                                std::map<std::string, std::string> base_env) {
  DeployConfig c;
  c.host = loader.string({}, "DEPLOY_HOST", machine_hostname());
  if (!host_name_ok(c.host)) {
    loader.problem(
        fmt::format("DEPLOY_HOST: '{}' must be 1 to 64 letters, digits, '.', '_' or '-'", c.host));
  }
  check_keys(loader, {"deploy"},
             {"source", "include_tags", "git_timeout_s", "github_api_url", "targets"});
  c.source = loader.string({"deploy", "source"}, "DEPLOY_SOURCE", c.source);
  if (!host_name_ok(c.source)) {
    loader.problem(fmt::format("DEPLOY_SOURCE: '{}' is not a source name", c.source));
  }
  c.include_tags = loader.boolean({"deploy", "include_tags"}, "DEPLOY_INCLUDE_TAGS", false);
  c.git_timeout = std::chrono::seconds(loader.integer(
      {"deploy", "git_timeout_s"}, "DEPLOY_GIT_TIMEOUT_S", c.git_timeout.count(), 1, 3600));
  c.github_api_url =
      loader.string({"deploy", "github_api_url"}, "GITHUB_API_URL", c.github_api_url);
  if (c.github_api_url.rfind("https://", 0) != 0 && c.github_api_url.rfind("http://", 0) != 0) {
    loader.problem(fmt::format("GITHUB_API_URL: '{}' is not an http(s) URL", c.github_api_url));
  }
  c.github_token = loader.secret("GITHUB_TOKEN");
  // The commands run code from the repository: they get the worker's environment, but not
  // the worker's own credentials.
  base_env.erase("GITHUB_TOKEN");
  base_env.erase("GITHUB_TOKEN_FILE");
  c.base_env = std::move(base_env);

  std::size_t count = loader.list_size({"deploy", "targets"});
  for (std::size_t i = 0; i < count; ++i) c.targets.push_back(load_target(loader, i));
  for (std::size_t i = 0; i < c.targets.size(); ++i) {
    for (std::size_t j = i + 1; j < c.targets.size(); ++j) {
      const auto &a = c.targets[i], &b = c.targets[j];
      if (!a.repo.empty() && iequals(a.repo, b.repo) && a.branch == b.branch) {
        loader.problem(fmt::format("deploy.targets[{}] and deploy.targets[{}]: both deploy {}", i,
                                   j, a.name()));
      }
      if (!a.dir.empty() && a.dir == b.dir) {
        loader.problem(
            fmt::format("deploy.targets[{}] and deploy.targets[{}]: both use dir {}", i, j, a.dir));
      }
    }
  }
  // Every key was checked above; the loader's own unknown-key pass must not report them twice.
  if (loader.has({"deploy"})) loader.ignore({"deploy"});
  return c;
}

void validate_work_trees(DeployConfig& config, Git& git, config::Loader& loader) {
  for (std::size_t i = 0; i < config.targets.size(); ++i) {
    auto& t = config.targets[i];
    if (t.dir.empty() || t.dir.front() != '/') continue;  // already reported
    std::error_code ec;
    if (!std::filesystem::is_directory(t.dir, ec)) {
      loader.problem(fmt::format("deploy.targets[{}].dir: {} is not a directory", i, t.dir));
      continue;
    }
    auto tree = git.inspect(t.dir, t.remote);
    if (!tree) {
      loader.problem(fmt::format("deploy.targets[{}].dir: {} {}", i, t.dir, tree.error().message));
      continue;
    }
    t.git_dir = tree->git_dir;
  }
}

}  // namespace wi::deploy
