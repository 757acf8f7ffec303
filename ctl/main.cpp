// ingestctl: operator commands (SPEC §6). Exit codes: 0 ok, 1 failure, 2 usage or config.
#include <iostream>
#include <vector>

#include "ctl/command.h"

int main(int argc, char** argv) {
  using namespace wi::ctl;
  CLI::App app{"ingestctl: operate webhook-ingest (topics, tail, replay, redrive, send, bench, token)"};
  app.require_subcommand(1);
  // `ingestctl topics create --config X` as well as `ingestctl --config X topics create`: a
  // subcommand hands the options it does not know to this level (inherited by the subcommands
  // added below).
  app.fallthrough();
  GlobalFlags flags;
  app.add_option("--config", flags.config_file, "YAML config file (default: $INGEST_CONFIG)");

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(make_topics_command());
  commands.push_back(make_tail_command());
  commands.push_back(make_replay_command());
  commands.push_back(make_redrive_command());
  commands.push_back(make_send_command());
  commands.push_back(make_bench_command());
  commands.push_back(make_token_command());
  std::vector<std::pair<CLI::App*, Command*>> registered;
  for (auto& c : commands) registered.emplace_back(c->add_to(app), c.get());

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a misspelt command as "A subcommand is required": name it instead.
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && app.get_subcommands().empty() &&
        !app.remaining().empty() && !app.remaining().front().starts_with("-")) {
      std::cerr << "ingestctl: unknown command '" << app.remaining().front()
                << "' (commands: topics, tail, replay, redrive, send, bench, token; see --help)\n";
      return kExitUsage;
    }
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  try {
    for (auto& [sub, command] : registered) {
      if (sub->parsed()) return command->run(flags);
    }
  } catch (const wi::config::ConfigError& e) {
    std::cerr << "ingestctl: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "ingestctl: " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitUsage;
}
