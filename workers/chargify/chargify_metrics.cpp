#include "workers/chargify/chargify_metrics.h"

#include <set>

namespace wi::chargify {

namespace {

const std::set<std::string>& known_events() {
  static const std::set<std::string> names = {
      "signup_success",       "signup_failure",       "payment_success",
      "payment_failure",      "renewal_success",      "renewal_failure",
      "subscription_state_change", "subscription_product_change", "customer_update",
      "refund_success",       "expiring_card",        "test"};
  return names;
}

}  // namespace

ChargifyMetrics::ChargifyMetrics(metrics::Registry& registry)
    : fulfilments_(registry.counter("chargify_fulfilments_total",
                                    "signup_success decisions and other events, by outcome",
                                    {"outcome"})),
      ledger_hits_(registry
                       .counter("chargify_ledger_hits_total",
                                "Signups found already fulfilled in the ledger (nothing sent)")
                       .with({})),
      smtp_seconds_(registry
                        .histogram("chargify_smtp_seconds", "One SMTP exchange, any outcome",
                                   {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
                        .with({})),
      events_(registry.counter("chargify_events_total", "Chargify events by type", {"event"})) {
  for (const char* outcome : {"sent", "resent", "ledger_hit", "unknown_product", "invalid_email",
                              "malformed", "smtp_rejected", "smtp_deferred", "other_event"}) {
    fulfilments_.with({outcome});
  }
}

void ChargifyMetrics::count(const char* outcome) { fulfilments_.with({outcome}).inc(); }

void ChargifyMetrics::ledger_hit() { ledger_hits_.inc(); }

void ChargifyMetrics::smtp_seconds(double seconds) { smtp_seconds_.observe(seconds); }

void ChargifyMetrics::event(const std::string& type) {
  events_.with({known_events().count(type) ? type : std::string("other")}).inc();
}

}  // namespace wi::chargify
