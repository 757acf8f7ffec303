// `ingestctl topics create`: creates every topic of SPEC §4, idempotently.
#include <iostream>

#include <fmt/format.h>

#include "ctl/command.h"

namespace wi::ctl {

namespace {

class TopicsCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& parent) override {
    auto* topics = parent.add_subcommand("topics", "Manage the system's Kafka topics");
    topics->require_subcommand(1);
    create_ = topics->add_subcommand(
        "create", "Create every topic (webhooks.<source>, worker topics, .dlq topics); "
                  "existing topics are left as they are");
    create_->add_option("--timeout", timeout_s_, "Seconds to wait for the brokers")
        ->default_val(30);
    return topics;
  }

  int run(const GlobalFlags& flags) override {
    auto config = load_config(flags);
    auto admin = kafka::RdKafkaAdmin::create(client_options(config));
    if (!admin) {
      std::cerr << "ingestctl: " << admin.error().message << "\n";
      return kExitFailure;
    }
    auto specs = topics::all_topics(config.layout);
    auto timeout = std::chrono::seconds(timeout_s_);
    auto outcomes = (*admin)->create_topics(specs, timeout);
    if (!outcomes) {
      std::cerr << "ingestctl: " << outcomes.error().message << "\n";
      return kExitFailure;
    }
    int mismatches = 0;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const auto& spec = specs[i];
      if ((*outcomes)[i] == kafka::CreateOutcome::kCreated) {
        std::cout << fmt::format("created {} (partitions={}, replication={}{})\n", spec.name,
                                 spec.partitions, spec.replication,
                                 spec.config.count("cleanup.policy")
                                     ? ", cleanup.policy=" + spec.config.at("cleanup.policy")
                                     : "");
        continue;
      }
      // Existing topics are never altered; say where they differ so an operator can act.
      auto info = (*admin)->describe_topic(spec.name, timeout);
      if (!info) {
        std::cerr << "ingestctl: " << info.error().message << "\n";
        return kExitFailure;
      }
      std::string notes;
      if (info->partitions != spec.partitions) {
        notes += fmt::format(" partitions={} (configured {})", info->partitions, spec.partitions);
      }
      for (const auto& [key, want] : spec.config) {
        auto it = info->config.find(key);
        if (it == info->config.end() || it->second != want) {
          notes += fmt::format(" {}={} (configured {})", key,
                               it == info->config.end() ? "?" : it->second, want);
        }
      }
      if (!notes.empty()) ++mismatches;
      std::cout << fmt::format("exists  {}{}\n", spec.name,
                               notes.empty() ? "" : " — differs:" + notes);
    }
    if (mismatches > 0) {
      std::cerr << fmt::format(
          "ingestctl: {} existing topic(s) differ from the configuration; they were left "
          "unchanged\n",
          mismatches);
    }
    return kExitOk;
  }

 private:
  CLI::App* create_ = nullptr;
  int timeout_s_ = 30;
};

}  // namespace

std::unique_ptr<Command> make_topics_command() { return std::make_unique<TopicsCommand>(); }

}  // namespace wi::ctl
