#pragma once
// dropbox-worker's own metrics (next to the runtime's worker_*):
//   dropbox_polls_total{outcome}                 account polls: ok|coalesced|no_token|invalid|
//                                                unauthorized|deferred|retry|api_error
//   dropbox_api_calls_total{endpoint,status}     list_folder|list_folder_continue|oauth_token,
//                                                by HTTP status ("error": no answer)
//   dropbox_changes_total{tag}                   change records emitted (file|folder|deleted|other)
//   dropbox_coalesced_total                      account records skipped for a later duplicate
//   dropbox_rate_limit_wait_seconds_total        time spent waiting on 429 Retry-After
//   dropbox_resets_total                         expired cursors (409 reset) → full re-list
//   dropbox_fanout_accounts_total{outcome}       accounts fanned out from notifications
// Label values are fixed words or HTTP statuses: never an account id or a token.

#include <memory>
#include <string>

#include "common/metrics.h"

namespace wi::dropbox {

// Counts into a private registry until attach() moves counting to the worker's registry (the
// handler is built before the registry it serves from is handed over). Not thread-safe
// against attach(); every count() is (metrics::Counter).
class DropboxMetrics {
 public:
  DropboxMetrics();
  void attach(metrics::Registry& registry);

  void poll(const char* outcome);
  void api_call(const char* endpoint, int status);  // status 0: no answer (network, timeout)
  void change(const std::string& tag);
  void coalesced();
  void rate_limit_wait(double seconds);
  void reset();
  void fanned_out(std::size_t accounts);
  void fan_out_rejected();

  // For tests: the value of one series.
  double value(const std::string& family, std::initializer_list<std::string_view> labels) const;

 private:
  void bind(metrics::Registry& registry);

  std::unique_ptr<metrics::Registry> own_;
  metrics::Family<metrics::Counter>* polls_ = nullptr;
  metrics::Family<metrics::Counter>* api_calls_ = nullptr;
  metrics::Family<metrics::Counter>* changes_ = nullptr;
  metrics::Counter* coalesced_ = nullptr;
  metrics::Counter* rate_limit_wait_ = nullptr;
  metrics::Counter* resets_ = nullptr;
  metrics::Family<metrics::Counter>* fan_out_ = nullptr;
};

}  // namespace wi::dropbox
