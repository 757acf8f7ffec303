#include "workers/deploy/deploy_ledger.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "workers/deploy/push_event.h"

namespace wi::deploy {

namespace {

std::string state_dir(const std::string& git_dir) {
  return git_dir + "/deploy-worker";
}
std::string last_file(const std::string& git_dir) {
  return state_dir(git_dir) + "/last";
}

Status sync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Error::internal(fmt::format("open {}: {}", path, std::strerror(errno)));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return Error::internal(fmt::format("fsync {}: {}", path, std::strerror(saved)));
  return {};
}

}  // namespace

std::optional<LedgerEntry> FileDeployLedger::last(const std::string& git_dir) {
  std::ifstream in(last_file(git_dir));
  std::string commit, status;
  if (!(in >> commit >> status) || !is_sha(commit)) return std::nullopt;
  if (status != "success" && status != "failure") return std::nullopt;
  return LedgerEntry{commit, status == "success"};
}

Status FileDeployLedger::begin(const std::string& git_dir) {
  std::error_code ec;
  std::filesystem::remove(last_file(git_dir), ec);
  if (ec) return Error::internal(fmt::format("remove {}: {}", last_file(git_dir), ec.message()));
  if (!std::filesystem::exists(state_dir(git_dir), ec)) return {};
  return sync_path(state_dir(git_dir), O_RDONLY | O_DIRECTORY);  // the removal is durable
}

Status FileDeployLedger::finish(const std::string& git_dir, const LedgerEntry& entry) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir(git_dir), ec);
  if (ec) return Error::internal(fmt::format("create {}: {}", state_dir(git_dir), ec.message()));
  std::string tmp = last_file(git_dir) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << entry.commit << " " << (entry.succeeded ? "success" : "failure") << "\n";
    out.flush();
    if (!out) return Error::internal(fmt::format("write {}", tmp));
  }
  if (auto s = sync_path(tmp, O_RDONLY); !s) return s;
  if (std::rename(tmp.c_str(), last_file(git_dir).c_str()) != 0) {
    return Error::internal(fmt::format("rename {}: {}", tmp, std::strerror(errno)));
  }
  return sync_path(state_dir(git_dir), O_RDONLY | O_DIRECTORY);
}

std::string FileDeployLedger::group_file(const std::string& git_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir(git_dir), ec);
  return state_dir(git_dir) + "/running";
}

}  // namespace wi::deploy
