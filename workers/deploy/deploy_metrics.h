#pragma once
// deploy-worker's own metrics (next to the runtime's worker_*):
//   deploys_total{target,status}          every result, by status (success|failure|skipped)
//   deploy_duration_seconds{target}        fetch + checkout + commands, for deploys that ran
//   deploy_current_info{target,sha}        1 for the commit of the last successful deploy,
//                                          0 for the commits it replaced
//   deploy_status_reports_total{outcome}   commit statuses sent|failed
// Label values come from the configuration (target names) and from git (commit ids), never
// from free payload text.

#include <map>
#include <string>

#include "common/metrics.h"

namespace wi::deploy {

class DeployMetrics {
 public:
  explicit DeployMetrics(metrics::Registry& registry);

  void count(const std::string& target, const char* status);
  void observe_duration(const std::string& target, double seconds);
  // Marks `sha` as the target's deployed commit (the previous one drops to 0).
  void set_current(const std::string& target, const std::string& sha);
  void status_report(bool sent);

 private:
  metrics::Family<metrics::Counter>& deploys_;
  metrics::Family<metrics::Histogram>& duration_;
  metrics::Family<metrics::Gauge>& current_;
  metrics::Family<metrics::Counter>& status_reports_;
  std::map<std::string, std::string> current_sha_;  // handler thread only
};

}  // namespace wi::deploy
