// `ingestctl token verify TOKEN`: checks a chargify-worker download token (SPEC §6) the way a
// file server does, for the operator of that file server.
#include <iostream>

#include "common/clock.h"
#include "common/download_token.h"
#include "ctl/command.h"

namespace wi::ctl {

namespace {

class TokenCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& parent) override {
    auto* cmd = parent.add_subcommand("token", "Download tokens of chargify-worker");
    cmd->require_subcommand(1);
    verify_ = cmd->add_subcommand("verify", "Check a download token's signature and expiry");
    verify_->footer(
        "Uses DOWNLOAD_LINK_SECRET (or DOWNLOAD_LINK_SECRET_FILE), the worker's secret.\n"
        "Prints the subscription id, product handle and expiry of a valid token.\n"
        "Exit codes: 0 valid, 1 not valid (bad signature, malformed, expired), 2 usage.");
    verify_->add_option("token", token_, "The token from a download link")->required();
    return cmd;
  }

  int run(const GlobalFlags& flags) override {
    load_config(flags);  // validates the file like every subcommand, sets up logging
    config::Loader secrets(std::nullopt, config::Environment::from_process());
    auto secret = secrets.secret("DOWNLOAD_LINK_SECRET");
    secrets.finish();
    if (!secret) {
      std::cerr << "ingestctl token verify: DOWNLOAD_LINK_SECRET is not set\n";
      return kExitUsage;
    }
    auto claims = token::verify_download_token(token_, secret->reveal(), SystemClock().now());
    if (!claims) {
      std::cout << "invalid: " << claims.error().message << "\n";
      return kExitFailure;
    }
    std::cout << "valid\nsubscription: " << claims->subscription_id
              << "\nproduct: " << claims->product_handle << "\nexpires: "
              << format_rfc3339_ms(SystemTime(std::chrono::seconds(claims->expires_unix)))
              << "\n";
    return kExitOk;
  }

 private:
  CLI::App* verify_ = nullptr;
  std::string token_;
};

}  // namespace

std::unique_ptr<Command> make_token_command() { return std::make_unique<TokenCommand>(); }

}  // namespace wi::ctl
