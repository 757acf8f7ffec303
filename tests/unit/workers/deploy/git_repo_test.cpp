// GitRepo against real git in temporary directories (fast, local, no network), and the
// FileDeployLedger next to it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "workers/deploy/deploy_ledger.h"
#include "workers/deploy/git_repo.h"

namespace wi::deploy {
namespace {

using namespace std::chrono_literals;

class DeployGitRepo : public ::testing::Test {
 protected:
  DeployGitRepo() : git_(runner_, env(), 30s) {
    char dir_template[] = "/tmp/wi-deploy-git-XXXXXX";
    root_ = ::mkdtemp(dir_template);
    origin_ = root_ + "/origin.git";
    work_ = root_ + "/work";
    target_ = root_ + "/target";
    run(root_, {"init", "--quiet", "--bare", "-b", "main", origin_});
    run(root_, {"clone", "--quiet", origin_, work_});
    first_ = commit("one");
    run(work_, {"push", "--quiet", "origin", "main"});
    run(root_, {"clone", "--quiet", origin_, target_});
  }
  ~DeployGitRepo() override { std::filesystem::remove_all(root_); }

  static std::map<std::string, std::string> env() {
    return {{"PATH", "/usr/bin:/bin"},
            {"HOME", "/nonexistent"},
            {"GIT_CONFIG_NOSYSTEM", "1"},
            {"GIT_DIR", "/somewhere/else"}};
  }

  std::string run(const std::string& dir, std::vector<std::string> args) {
    CommandSpec s;
    s.argv = {"git",
              "-c",
              "user.name=Test",
              "-c",
              "user.email=test@example.com",
              "-c",
              "init.defaultBranch=main"};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    s.cwd = dir;
    s.env = {"PATH=/usr/bin:/bin", "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1"};
    s.timeout = 30s;
    auto out = runner_.run(s);
    EXPECT_TRUE(out.ok()) << args.at(0) << ": " << out.output_tail;
    return out.output_tail;
  }
  std::string commit(const std::string& text) {
    std::ofstream(work_ + "/file.txt") << text << "\n";
    run(work_, {"add", "file.txt"});
    run(work_, {"commit", "--quiet", "-m", text});
    auto sha = run(work_, {"rev-parse", "HEAD"});
    return sha.substr(0, 40);
  }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  PosixCommandRunner runner_;
  GitRepo git_;
  std::string root_, origin_, work_, target_, first_;
};

TEST_F(DeployGitRepo, InspectFindsTheWorkTreeAndItsRemote) {
  auto tree = git_.inspect(target_, "origin");
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  EXPECT_EQ(tree->top_level, std::filesystem::canonical(target_).string());
  EXPECT_EQ(tree->git_dir, std::filesystem::canonical(target_).string() + "/.git");

  auto no_remote = git_.inspect(target_, "upstream");
  ASSERT_FALSE(no_remote.ok());
  EXPECT_NE(no_remote.error().message.find("remote 'upstream' is not configured"),
            std::string::npos);

  std::filesystem::create_directories(target_ + "/sub");
  auto sub = git_.inspect(target_ + "/sub", "origin");
  ASSERT_FALSE(sub.ok());
  EXPECT_NE(sub.error().message.find("not its top level"), std::string::npos);

  std::filesystem::create_directories(root_ + "/plain");
  auto plain = git_.inspect(root_ + "/plain", "origin");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().message.find("not a git work tree"), std::string::npos);
}

TEST_F(DeployGitRepo, FetchResolveAndCheckoutDetachedAndForced) {
  auto second = commit("two");
  run(work_, {"push", "--quiet", "origin", "main"});
  auto head = git_.head(target_);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, first_);
  auto before = git_.resolve_commit(target_, second);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value()) << "not fetched yet";

  ASSERT_TRUE(git_.fetch(target_, "origin", false, {}).ok());
  auto resolved = git_.resolve_commit(target_, second);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, second);

  std::ofstream(target_ + "/file.txt") << "local edit\n";  // forced away by the checkout
  ASSERT_TRUE(git_.checkout(target_, second).ok());
  EXPECT_EQ(*git_.head(target_), second);
  EXPECT_EQ(read(target_ + "/file.txt"), "two\n");
  EXPECT_EQ(run(target_, {"rev-parse", "--abbrev-ref", "HEAD"}), "HEAD\n") << "HEAD is detached";

  ASSERT_TRUE(git_.checkout(target_, first_).ok()) << "rollback";
  EXPECT_EQ(read(target_ + "/file.txt"), "one\n");
}

TEST_F(DeployGitRepo, AnUnreachableRemoteIsARetryableFetchError) {
  run(target_, {"remote", "add", "gone", root_ + "/no-such-repo.git"});
  auto fetched = git_.fetch(target_, "gone", false, {});
  ASSERT_FALSE(fetched.ok());
  EXPECT_TRUE(fetched.error().retryable);
  EXPECT_NE(fetched.error().message.find("git fetch gone"), std::string::npos);
  // What git said went wrong, not the last line of its advice ("and the repository exists.").
  const std::string said =
      "fatal: '" + root_ + "/no-such-repo.git' does not appear to be a git repository";
  EXPECT_NE(fetched.error().message.find("exit 128: " + said), std::string::npos)
      << fetched.error().message;
  EXPECT_EQ(fetched.error().message.find("repository exists"), std::string::npos)
      << fetched.error().message;
}

TEST(DeployGitErrorSummary, PrefersTheFirstFatalOrErrorLine) {
  const std::string fetch_failed =
      "fatal: '/x/nonexistent.git' does not appear to be a git repository\n"
      "fatal: Could not read from remote repository.\n"
      "\n"
      "Please make sure you have the correct access rights\n"
      "and the repository exists.\n";
  EXPECT_EQ(git_error_summary(fetch_failed),
            "fatal: '/x/nonexistent.git' does not appear to be a git repository");
  EXPECT_EQ(git_error_summary("hint: something first\n  error: pathspec 'x' did not match\r\n"
                              "fatal: later\n"),
            "error: pathspec 'x' did not match");
  EXPECT_EQ(git_error_summary("warning: a warning\nfatal: the reason  \n"), "fatal: the reason");
}

TEST(DeployGitErrorSummary, ElseTheFirstNonEmptyLineTrimmed) {
  EXPECT_EQ(git_error_summary("\n  \t\n  usage: git rev-parse --verify  \r\nmore usage\n"),
            "usage: git rev-parse --verify");
  EXPECT_EQ(git_error_summary(""), "no output");
  EXPECT_EQ(git_error_summary(" \n\r\n\t\n"), "no output");
}

TEST(DeployGitErrorSummary, IsBoundedAndNeverTheWholeOutput) {
  const std::string long_line = "fatal: " + std::string(1000, 'x');
  auto summary = git_error_summary(long_line + "\nsecond\n");
  EXPECT_EQ(summary, long_line.substr(0, 300) + "...");
  // A cut never splits a UTF-8 character: "é" is 2 bytes, the 300th byte would be its first.
  const std::string accented = "fatal: " + std::string(292, 'a') + "\xC3\xA9\xC3\xA9";
  EXPECT_EQ(git_error_summary(accented), "fatal: " + std::string(292, 'a') + "...");
  EXPECT_EQ(git_error_summary("fatal: short\n" + std::string(5000, 'y')), "fatal: short");
}

TEST_F(DeployGitRepo, AnnotatedTagsArePeeledToTheirCommit) {
  auto tagged = commit("tagged");
  run(work_, {"tag", "-a", "-m", "release", "v1"});
  auto tag_object = run(work_, {"rev-parse", "v1"}).substr(0, 40);
  ASSERT_NE(tag_object, tagged);
  run(work_, {"push", "--quiet", "origin", "main", "v1"});
  ASSERT_TRUE(git_.fetch(target_, "origin", true, {}).ok());
  auto resolved = git_.resolve_commit(target_, tag_object);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, tagged);
}

TEST_F(DeployGitRepo, ShasAreCheckedBeforeGitSeesThem) {
  EXPECT_FALSE(git_.resolve_commit(target_, "--output=/tmp/x").ok());
  EXPECT_FALSE(git_.resolve_commit(target_, "HEAD").ok());
  EXPECT_FALSE(git_.checkout(target_, "main").ok());
  EXPECT_FALSE(git_.checkout(target_, "-f").ok());
}

TEST_F(DeployGitRepo, TheLedgerLivesInTheGitDirAndSurvivesReopening) {
  auto git_dir = git_.inspect(target_, "origin")->git_dir;
  FileDeployLedger ledger;
  EXPECT_FALSE(ledger.last(git_dir).has_value());
  ASSERT_TRUE(ledger.finish(git_dir, {first_, true}).ok());
  EXPECT_EQ(FileDeployLedger().last(git_dir), (LedgerEntry{first_, true}));
  ASSERT_TRUE(ledger.begin(git_dir).ok());
  EXPECT_FALSE(ledger.last(git_dir).has_value()) << "in progress: nothing finished";
  ASSERT_TRUE(ledger.finish(git_dir, {first_, false}).ok());
  EXPECT_EQ(ledger.last(git_dir), (LedgerEntry{first_, false}));
  EXPECT_EQ(ledger.group_file(git_dir), git_dir + "/deploy-worker/running");
  EXPECT_TRUE(std::filesystem::is_directory(git_dir + "/deploy-worker"));
  // The ledger does not show up as a change in the work tree.
  EXPECT_EQ(run(target_, {"status", "--porcelain"}), "");
}

TEST_F(DeployGitRepo, RemoteRefIsTheFetchedTipOfABranchOrATag) {
  auto second = commit("two");
  run(work_, {"tag", "-a", "-m", "release", "v1"});
  auto tag_object = run(work_, {"rev-parse", "v1"}).substr(0, 40);
  run(work_, {"push", "--quiet", "origin", "main", "v1"});

  auto before = git_.remote_ref(target_, "origin", "refs/heads/main");
  ASSERT_TRUE(before.ok()) << before.error().message;
  EXPECT_EQ(*before, first_) << "not fetched yet: the clone's view";
  ASSERT_TRUE(git_.fetch(target_, "origin", true, {}).ok());
  EXPECT_EQ(*git_.remote_ref(target_, "origin", "refs/heads/main"), second);
  EXPECT_EQ(*git_.remote_ref(target_, "origin", "refs/tags/v1"), tag_object)
      << "a tag reads as the tag object, as GitHub's `after` does";
  EXPECT_EQ(*git_.remote_ref(target_, "origin", "refs/heads/nope"), std::nullopt);
  // Payload text that would be a pattern or an option to git matches nothing.
  EXPECT_EQ(*git_.remote_ref(target_, "origin", "refs/heads/*"), std::nullopt);
  EXPECT_EQ(*git_.remote_ref(target_, "origin", "refs/tags/--help"), std::nullopt);
  EXPECT_EQ(*git_.remote_ref(target_, "origin", "main"), std::nullopt);
}

TEST_F(DeployGitRepo, TheTipIsFetchedEvenInASingleBranchClone) {
  // A clone made with --single-branch of another branch only fetches that branch by its own
  // refspec; the deploy's fetch still brings main's tip.
  run(work_, {"push", "--quiet", "origin", "main:other"});
  const std::string narrow = root_ + "/narrow";
  run(root_, {"clone", "--quiet", "--single-branch", "--branch", "other", origin_, narrow});
  auto second = commit("two");
  run(work_, {"push", "--quiet", "origin", "main"});
  ASSERT_TRUE(git_.fetch(narrow, "origin", false, {}).ok());
  EXPECT_EQ(*git_.remote_ref(narrow, "origin", "refs/heads/main"), second);
}

}  // namespace
}  // namespace wi::deploy
