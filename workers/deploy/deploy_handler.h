#pragma once
// DeployHandler: deploy-worker's decision for each record of webhooks.github (SPEC §5).
//
//   ping, other events            → logged, committed (skipped), no result
//   push matching no target       → logged, committed (skipped), no result
//   push matching a target:
//     deletion                    → result skipped/deleted
//     newer push for the target
//       waiting in the batch      → result skipped/superseded (the newest one deploys)
//     `after` checked out and its
//       deploy finished here      → result skipped/already_deployed (or already_failed)
//     else: fetch (failure → retry with backoff; on the last attempt a failure/fetch_failed
//       result, then the runtime dead-letters); without a `replayed-from` header, `after`
//       must be the ref's tip on the remote now (else result skipped/stale: the tip rule,
//       so a re-POSTed old push cannot roll back); resolve `after` (missing → failure), check
//       out detached and forced, run the commands in order (first failure stops: failure)
//     → result success|failure on github.deploys, commit statuses when configured.
//
// Idempotency is "is `after` live in the dir" (checked out and finished, see DeployLedger),
// never the event id: replaying an older push deploys the older commit (a rollback).
// Called on the runtime's single consumer thread.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "common/clock.h"
#include "common/kafka/publisher.h"
#include "common/metrics.h"
#include "workers/deploy/command_runner.h"
#include "workers/deploy/deploy_config.h"
#include "workers/deploy/deploy_ledger.h"
#include "workers/deploy/deploy_metrics.h"
#include "workers/deploy/deploy_result.h"
#include "workers/deploy/git_repo.h"
#include "workers/deploy/push_event.h"
#include "workers/deploy/status_reporter.h"
#include "workers/runtime/record_handler.h"

namespace spdlog {
class logger;
}

namespace wi::deploy {

struct HandlerOptions {
  int max_attempts = 5;  // the runtime's: on the last one a fetch failure gets its result
  std::size_t output_limit = 4096;
  std::chrono::milliseconds publish_timeout{30000};
};

class DeployHandler final : public worker::RecordHandler {
 public:
  // Everything is borrowed and must outlive the handler. `config.targets[*].git_dir` must be
  // set (validate_work_trees).
  DeployHandler(const DeployConfig& config, Git& git, DeployLedger& ledger, CommandRunner& runner,
                StatusReporter& statuses, kafka::Publisher& results, const Clock& clock,
                HandlerOptions options = {});
  ~DeployHandler() override;

  worker::HandleResult handle(const kafka::ConsumedRecord& record,
                              worker::HandlerContext& context) override;

  // Registers the deploy metrics in `registry` (which must outlive the handler) and sets
  // each target's deployed commit from its ledger. Without it, nothing is measured.
  void attach_metrics(metrics::Registry& registry);

 private:
  struct Delivery;  // one push and where it came from

  worker::HandleResult handle_target(const Delivery& delivery, const Target& target,
                                     worker::HandlerContext& context);
  worker::HandleResult deploy(const Delivery& delivery, const Target& target,
                              worker::HandlerContext& context, DeployResult& result);
  // The event id of the newest later push that would deploy `target`, if any.
  std::optional<std::string> newer_push(const Target& target, worker::HandlerContext& context);
  const PushEvent* lookahead(const kafka::ConsumedRecord& record);
  bool matches(const PushEvent& push, const Target& target) const;
  // Publishes the result (and counts it); a failed publish is a retry of the record.
  worker::HandleResult finish(DeployResult& result, worker::HandleResult outcome);
  void report_status(const DeployResult& result, const std::string& sha, const std::string& state,
                     const std::string& description);

  const DeployConfig& config_;
  Git& git_;
  DeployLedger& ledger_;
  CommandRunner& runner_;
  StatusReporter& statuses_;
  kafka::Publisher& results_;
  const Clock& clock_;
  HandlerOptions options_;
  std::unique_ptr<DeployMetrics> metrics_;
  std::shared_ptr<spdlog::logger> log_;
  // Parsed pushes seen while looking ahead, by (topic, partition, offset): a batch of n
  // pushes for one repo is parsed n times, not n² times.
  std::map<std::tuple<std::string, std::int32_t, std::int64_t>, std::optional<PushEvent>> seen_;
};

}  // namespace wi::deploy
