#include "workers/deploy/deploy_metrics.h"

namespace wi::deploy {

DeployMetrics::DeployMetrics(metrics::Registry& registry)
    : deploys_(registry.counter("deploys_total", "Deploy results by target and status",
                                {"target", "status"})),
      duration_(registry.histogram(
          "deploy_duration_seconds", "Time from fetch to the last command, for deploys that ran",
          {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}, {"target"})),
      current_(registry.gauge("deploy_current_info",
                              "1 for the commit of the target's last successful deploy",
                              {"target", "sha"})),
      status_reports_(registry.counter("deploy_status_reports_total",
                                       "GitHub commit statuses, by outcome", {"outcome"})) {
  status_reports_.with({"sent"});
  status_reports_.with({"failed"});
}

void DeployMetrics::count(const std::string& target, const char* status) {
  deploys_.with({target, status}).inc();
}

void DeployMetrics::observe_duration(const std::string& target, double seconds) {
  duration_.with({target}).observe(seconds);
}

void DeployMetrics::set_current(const std::string& target, const std::string& sha) {
  auto it = current_sha_.find(target);
  if (it != current_sha_.end()) {
    if (it->second == sha) return;
    current_.with({target, it->second}).set(0);
  }
  current_.with({target, sha}).set(1);
  current_sha_[target] = sha;
}

void DeployMetrics::status_report(bool sent) {
  status_reports_.with({sent ? "sent" : "failed"}).inc();
}

}  // namespace wi::deploy
