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

#include <cstddef>
#include <string>

#include "common/metrics.h"

namespace wi::dropbox {

// Registers the series above in the worker's registry (the one served on /metrics), which
// must outlive it. Thread-safe: the fan-out and poll stages count from their own threads.
class DropboxMetrics {
 public:
  explicit DropboxMetrics(metrics::Registry& registry);

  void poll(const char* outcome);
  void api_call(const char* endpoint, int status);  // status 0: no answer (network, timeout)
  void change(const std::string& tag);
  void coalesced();
  void rate_limit_wait(double seconds);
  void reset();
  void fanned_out(std::size_t accounts);
  void fan_out_rejected();

 private:
  metrics::Family<metrics::Counter>& polls_;
  metrics::Family<metrics::Counter>& api_calls_;
  metrics::Family<metrics::Counter>& changes_;
  metrics::Counter& coalesced_;
  metrics::Counter& rate_limit_wait_;
  metrics::Counter& resets_;
  metrics::Family<metrics::Counter>& fan_out_;
};

}  // namespace wi::dropbox
