#include "workers/dropbox/dropbox_metrics.h"

namespace wi::dropbox {

DropboxMetrics::DropboxMetrics() : own_(std::make_unique<metrics::Registry>()) {
  bind(*own_);
}

void DropboxMetrics::attach(metrics::Registry& registry) {
  bind(registry);
  own_.reset();
}

void DropboxMetrics::bind(metrics::Registry& r) {
  polls_ = &r.counter("dropbox_polls_total", "Account polls, by outcome", {"outcome"});
  api_calls_ = &r.counter("dropbox_api_calls_total", "Dropbox API calls, by endpoint and status",
                          {"endpoint", "status"});
  changes_ = &r.counter("dropbox_changes_total", "Change records emitted, by entry tag", {"tag"});
  coalesced_ = &r.counter("dropbox_coalesced_total",
                          "Account records skipped because a later one in the batch polls")
                    .with({});
  rate_limit_wait_ = &r.counter("dropbox_rate_limit_wait_seconds_total",
                                "Seconds spent waiting for Dropbox's Retry-After")
                          .with({});
  resets_ = &r.counter("dropbox_resets_total", "Expired cursors (409 reset) that forced a re-list")
                 .with({});
  fan_out_ = &r.counter("dropbox_fanout_accounts_total",
                        "Accounts fanned out from notifications (rejected: whole notification)",
                        {"outcome"});
  for (const char* outcome : {"ok", "coalesced", "no_token", "unauthorized", "deferred", "retry",
                              "api_error", "invalid"}) {
    polls_->with({outcome});
  }
  for (const char* tag : {"file", "folder", "deleted"}) changes_->with({tag});
  fan_out_->with({"published"});
  fan_out_->with({"rejected"});
}

void DropboxMetrics::poll(const char* outcome) {
  polls_->with({outcome}).inc();
}

void DropboxMetrics::api_call(const char* endpoint, int status) {
  api_calls_->with({endpoint, status > 0 ? std::to_string(status) : std::string("error")}).inc();
}

void DropboxMetrics::change(const std::string& tag) {
  bool known = tag == "file" || tag == "folder" || tag == "deleted";
  changes_->with({known ? tag : std::string("other")}).inc();
}

void DropboxMetrics::coalesced() {
  coalesced_->inc();
}
void DropboxMetrics::rate_limit_wait(double seconds) {
  rate_limit_wait_->inc(seconds);
}
void DropboxMetrics::reset() {
  resets_->inc();
}
void DropboxMetrics::fanned_out(std::size_t accounts) {
  fan_out_->with({"published"}).inc(static_cast<double>(accounts));
}
void DropboxMetrics::fan_out_rejected() {
  fan_out_->with({"rejected"}).inc();
}

double DropboxMetrics::value(const std::string& family,
                             std::initializer_list<std::string_view> labels) const {
  if (family == "dropbox_polls_total") return polls_->with(labels).value();
  if (family == "dropbox_api_calls_total") return api_calls_->with(labels).value();
  if (family == "dropbox_changes_total") return changes_->with(labels).value();
  if (family == "dropbox_fanout_accounts_total") return fan_out_->with(labels).value();
  if (family == "dropbox_coalesced_total") return coalesced_->value();
  if (family == "dropbox_rate_limit_wait_seconds_total") return rate_limit_wait_->value();
  if (family == "dropbox_resets_total") return resets_->value();
  return -1;
}

}  // namespace wi::dropbox
