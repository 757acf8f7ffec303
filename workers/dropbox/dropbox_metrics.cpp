#include "workers/dropbox/dropbox_metrics.h"

namespace wi::dropbox {

DropboxMetrics::DropboxMetrics(metrics::Registry& registry)
    : polls_(registry.counter("dropbox_polls_total", "Account polls, by outcome", {"outcome"})),
      api_calls_(registry.counter("dropbox_api_calls_total",
                                  "Dropbox API calls, by endpoint and status",
                                  {"endpoint", "status"})),
      changes_(registry.counter("dropbox_changes_total", "Change records emitted, by entry tag",
                                {"tag"})),
      coalesced_(registry
                     .counter("dropbox_coalesced_total",
                              "Account records skipped because a later one in the batch polls")
                     .with({})),
      rate_limit_wait_(registry
                           .counter("dropbox_rate_limit_wait_seconds_total",
                                    "Seconds spent waiting for Dropbox's Retry-After")
                           .with({})),
      resets_(
          registry
              .counter("dropbox_resets_total", "Expired cursors (409 reset) that forced a re-list")
              .with({})),
      fan_out_(registry.counter(
          "dropbox_fanout_accounts_total",
          "Accounts fanned out from notifications (rejected: whole notification)", {"outcome"})) {
  for (const char* outcome : {"ok", "coalesced", "no_token", "unauthorized", "deferred", "retry",
                              "api_error", "invalid"}) {
    polls_.with({outcome});
  }
  for (const char* tag : {"file", "folder", "deleted"}) changes_.with({tag});
  fan_out_.with({"published"});
  fan_out_.with({"rejected"});
}

void DropboxMetrics::poll(const char* outcome) {
  polls_.with({outcome}).inc();
}

void DropboxMetrics::api_call(const char* endpoint, int status) {
  api_calls_.with({endpoint, status > 0 ? std::to_string(status) : std::string("error")}).inc();
}

void DropboxMetrics::change(const std::string& tag) {
  bool known = tag == "file" || tag == "folder" || tag == "deleted";
  changes_.with({known ? tag : std::string("other")}).inc();
}

void DropboxMetrics::coalesced() {
  coalesced_.inc();
}

void DropboxMetrics::rate_limit_wait(double seconds) {
  rate_limit_wait_.inc(seconds);
}

void DropboxMetrics::reset() {
  resets_.inc();
}

void DropboxMetrics::fanned_out(std::size_t accounts) {
  fan_out_.with({"published"}).inc(static_cast<double>(accounts));
}

void DropboxMetrics::fan_out_rejected() {
  fan_out_.with({"rejected"}).inc();
}

}  // namespace wi::dropbox
