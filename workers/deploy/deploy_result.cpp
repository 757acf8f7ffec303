#include "workers/deploy/deploy_result.h"

#include "common/json_text.h"

namespace wi::deploy {

const char* to_string(DeployStatus status) {
  switch (status) {
    case DeployStatus::kSuccess:
      return "success";
    case DeployStatus::kFailure:
      return "failure";
    case DeployStatus::kSkipped:
      return "skipped";
  }
  return "unknown";
}

namespace {

void field(std::string& out, const char* name, std::string_view value) {
  out += ',';
  json::append_string(out, name);
  out += ':';
  json::append_string(out, value);
}

}  // namespace

std::string to_json(const DeployResult& r) {
  std::string out = "{";
  json::append_string(out, "repo");
  out += ':';
  json::append_string(out, r.repo);
  field(out, "ref", r.ref);
  field(out, "sha", r.sha);
  field(out, "host", r.host);
  field(out, "status", to_string(r.status));
  field(out, "reason", r.reason);
  field(out, "detail", r.detail);
  out += ",\"steps\":[";
  for (std::size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    if (i) out += ',';
    out += "{\"argv\":[";
    for (std::size_t j = 0; j < s.argv.size(); ++j) {
      if (j) out += ',';
      json::append_string(out, s.argv[j]);
    }
    out += "],\"exit_code\":" + std::to_string(s.exit_code);
    out += ",\"timed_out\":";
    out += s.timed_out ? "true" : "false";
    out += ",\"duration_ms\":" + std::to_string(s.duration.count());
    field(out, "output_tail", s.output_tail);
    out += ",\"output_bytes\":" + std::to_string(s.output_bytes);
    out += '}';
  }
  out += ']';
  field(out, "started_at", format_rfc3339_ms(r.started_at));
  field(out, "finished_at", format_rfc3339_ms(r.finished_at));
  field(out, "event_id", r.event_id);
  field(out, "target", r.target);
  if (r.commit) field(out, "commit", *r.commit);
  field(out, "before", r.before);
  field(out, "pusher", r.pusher);
  if (r.superseded_by) field(out, "superseded_by", *r.superseded_by);
  out += '}';
  return out;
}

}  // namespace wi::deploy
