#pragma once
// What every ingestctl subcommand shares: the global flags, config loading, exit codes and
// the Kafka clients built from the common configuration.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "common/config.h"
#include "common/kafka/rdkafka_admin.h"
#include "common/kafka/rdkafka_consumer.h"
#include "common/kafka/rdkafka_publisher.h"
#include "common/topics.h"

namespace wi::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct GlobalFlags {
  std::optional<std::string> config_file;
};

// Config as ingestctl needs it. Sections that only other binaries read are left to them.
struct CtlConfig {
  config::CommonConfig common;
  topics::Layout layout;
};

// Loads the configuration (file, then environment) and sets up logging. Throws
// config::ConfigError.
CtlConfig load_config(const GlobalFlags& flags);

kafka::ClientOptions client_options(const CtlConfig& config);

// A subcommand: registers its flags on `app`, then runs when selected.
class Command {
 public:
  virtual ~Command() = default;
  virtual CLI::App* add_to(CLI::App& parent) = 0;
  virtual int run(const GlobalFlags& flags) = 0;
};

std::unique_ptr<Command> make_topics_command();
std::unique_ptr<Command> make_tail_command();
std::unique_ptr<Command> make_replay_command();
std::unique_ptr<Command> make_redrive_command();
std::unique_ptr<Command> make_send_command();
std::unique_ptr<Command> make_bench_command();
std::unique_ptr<Command> make_token_command();

}  // namespace wi::ctl
