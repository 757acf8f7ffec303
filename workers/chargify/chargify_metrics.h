#pragma once
// chargify-worker's own metrics (next to the runtime's worker_*):
//   chargify_fulfilments_total{outcome}   every decision: sent | resent | ledger_hit |
//                                         unknown_product | invalid_email | malformed |
//                                         smtp_rejected | smtp_deferred | other_event
//   chargify_ledger_hits_total            signups already fulfilled (replays, duplicates)
//   chargify_smtp_seconds                 one SMTP exchange, whatever its outcome
//   chargify_events_total{event}          every event by type (known Chargify types, else
//                                         "other": label values never come from free text)

#include <string>

#include "common/metrics.h"

namespace wi::chargify {

class ChargifyMetrics {
 public:
  explicit ChargifyMetrics(metrics::Registry& registry);

  void count(const char* outcome);
  void ledger_hit();
  void smtp_seconds(double seconds);
  void event(const std::string& type);

 private:
  metrics::Family<metrics::Counter>& fulfilments_;
  metrics::Counter& ledger_hits_;
  metrics::Histogram& smtp_seconds_;
  metrics::Family<metrics::Counter>& events_;
};

}  // namespace wi::chargify
