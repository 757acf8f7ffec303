#include "workers/deploy/deploy_handler.h"

#include <fmt/format.h>

#include "common/json_text.h"
#include "common/log.h"
#include "common/kafka/control_headers.h"
#include "common/topics.h"

namespace wi::deploy {

using worker::HandlerContext;
using worker::HandleResult;

namespace {

std::string header(const kafka::ConsumedRecord& record, std::string_view name) {
  const std::string* value = kafka::find_header(record.headers, name);
  return value ? *value : std::string();
}

// Payload text in a log line: quoted and escaped, so it cannot forge lines or fields.
std::string quoted(std::string_view text) {
  return json::quote(text);
}

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 12);
}

bool stopping(const HandlerContext& context) {
  return context.stopping && context.stopping();
}

}  // namespace

struct DeployHandler::Delivery {
  const kafka::ConsumedRecord& record;
  PushEvent push;
  std::string event_id;
};

DeployHandler::DeployHandler(const DeployConfig& config, Git& git, DeployLedger& ledger,
                             CommandRunner& runner, StatusReporter& statuses,
                             kafka::Publisher& results, const Clock& clock, HandlerOptions options)
    : config_(config),
      git_(git),
      ledger_(ledger),
      runner_(runner),
      statuses_(statuses),
      results_(results),
      clock_(clock),
      options_(options),
      log_(log::get("deploy-worker")) {}

DeployHandler::~DeployHandler() = default;

void DeployHandler::attach_metrics(metrics::Registry& registry) {
  metrics_ = std::make_unique<DeployMetrics>(registry);
  for (const auto& target : config_.targets) {
    if (target.git_dir.empty()) continue;
    if (auto last = ledger_.last(target.git_dir); last && last->succeeded) {
      metrics_->set_current(target.name(), last->commit);
    }
  }
}

HandleResult DeployHandler::handle(const kafka::ConsumedRecord& record, HandlerContext& context) {
  // Look-ahead entries at or before this record will not be needed again.
  for (auto it = seen_.begin(); it != seen_.end();) {
    const auto& [topic, partition, offset] = it->first;
    bool done = topic == record.topic && partition == record.partition && offset <= record.offset;
    it = done ? seen_.erase(it) : std::next(it);
  }
  if (seen_.size() > 4096) seen_.clear();

  const std::string event_id = worker::event_id_of(record);
  const std::string type = header(record, "event-type");
  if (type != "push") {
    if (type == "ping") {
      log_->info("ping event_id={}: hook is set up, nothing to deploy", quoted(event_id));
      return HandleResult::skipped("ping");
    }
    log_->info("event event_id={} type={}: not a push, nothing to deploy", quoted(event_id),
               quoted(type));
    return HandleResult::skipped(type.empty() ? "event without a type" : "not a push");
  }
  if (record.null_value) return HandleResult::skipped("empty record");
  auto push = parse_push_event(record.value, header(record, "content-type"));
  if (!push) {
    log_->warn("push event_id={} unreadable: {}", quoted(event_id), push.error().message);
    return HandleResult::dead_letter(push.error().message);
  }
  Delivery delivery{record, std::move(*push), event_id};
  std::vector<const Target*> targets;
  for (const auto& target : config_.targets) {
    if (matches(delivery.push, target)) targets.push_back(&target);
  }
  if (targets.empty()) {
    log_->info("push event_id={} repo={} ref={}: no matching target", quoted(event_id),
               quoted(delivery.push.repository), quoted(delivery.push.ref));
    return HandleResult::skipped("no matching target");
  }
  bool processed = false;
  std::string reason;
  for (const Target* target : targets) {
    auto outcome = handle_target(delivery, *target, context);
    if (outcome.outcome == worker::Outcome::kRetry ||
        outcome.outcome == worker::Outcome::kDeadLetter) {
      return outcome;  // targets already handled are live now: the retry skips them
    }
    processed = processed || outcome.outcome == worker::Outcome::kProcessed;
    reason = outcome.reason;
  }
  return processed ? HandleResult::processed() : HandleResult::skipped(reason);
}

bool DeployHandler::matches(const PushEvent& push, const Target& target) const {
  if (!iequals(push.repository, target.repo)) return false;
  if (auto branch = push.branch()) return *branch == target.branch;
  if (push.tag()) return target.tags || config_.include_tags;
  return false;
}

HandleResult DeployHandler::handle_target(const Delivery& delivery, const Target& target,
                                          HandlerContext& context) {
  const PushEvent& push = delivery.push;
  DeployResult r;
  r.repo = push.repository;
  r.ref = push.ref;
  r.sha = push.after;
  r.host = config_.host;
  r.event_id = delivery.event_id;
  r.target = target.name();
  r.before = push.before;
  r.pusher = push.pusher;
  r.started_at = clock_.now();

  if (push.deleted) {
    r.status = DeployStatus::kSkipped;
    r.reason = reason::kDeleted;
    return finish(r, HandleResult::skipped(reason::kDeleted));
  }
  if (!is_sha(push.after)) {
    r.status = DeployStatus::kFailure;
    r.reason = reason::kInvalidSha;
    r.detail = "the push's after is not a 40-hex commit id";
    return finish(r, HandleResult::processed());
  }
  if (auto newer = newer_push(target, context)) {
    r.status = DeployStatus::kSkipped;
    r.reason = reason::kSuperseded;
    r.superseded_by = *newer;
    r.detail = "a newer push for this target is waiting: " + *newer;
    return finish(r, HandleResult::skipped(reason::kSuperseded));
  }

  auto head = git_.head(target.dir);
  auto known = head ? git_.resolve_commit(target.dir, push.after)
                    : Result<std::optional<std::string>>(head.error());
  if (!known) {
    r.status = DeployStatus::kFailure;
    r.reason = reason::kGitFailed;
    r.detail = known.error().message;
    return finish(r, HandleResult::processed());
  }
  auto last = ledger_.last(target.git_dir);
  if (*known && *head && **head == **known && last && last->commit == **known) {
    r.commit = **known;
    r.status = DeployStatus::kSkipped;
    r.reason = last->succeeded ? reason::kAlreadyDeployed : reason::kAlreadyFailed;
    r.detail = last->succeeded ? "this commit is checked out and its deploy finished"
                               : "this commit is checked out and its deploy failed";
    return finish(r, HandleResult::skipped(r.reason));
  }
  return deploy(delivery, target, context, r);
}

HandleResult DeployHandler::deploy(const Delivery& delivery, const Target& target,
                                   HandlerContext& context, DeployResult& r) {
  const PushEvent& push = delivery.push;
  const std::string replayed = header(delivery.record, kafka::control_headers::kReplayedFrom);
  log_->info("deploying event_id={} target={} after={}{}{} attempt={}", quoted(r.event_id),
             r.target, push.after,
             replayed.empty() ? "" : " replayed-from=", replayed.empty() ? "" : quoted(replayed),
             context.attempt);
  const auto started = clock_.steady_now();
  auto seconds = [&] {
    return std::chrono::duration<double>(clock_.steady_now() - started).count();
  };

  if (auto fetched =
          git_.fetch(target.dir, target.remote, push.tag().has_value(), context.stopping);
      !fetched) {
    const auto& message = fetched.error().message;
    if (stopping(context)) return HandleResult::retry("stopping during git fetch");
    if (context.attempt < options_.max_attempts) {
      log_->warn("event_id={} target={}: {} (attempt {} of {})", quoted(r.event_id), r.target,
                 message, context.attempt, options_.max_attempts);
      return HandleResult::retry(message);
    }
    // The last attempt: say so on github.deploys and GitHub before the dead letter.
    r.status = DeployStatus::kFailure;
    r.reason = reason::kFetchFailed;
    r.detail = message;
    report_status(r, push.after, "error", "git fetch failed on " + config_.host);
    if (metrics_) metrics_->observe_duration(r.target, seconds());
    return finish(r, HandleResult::retry(message));
  }

  // The tip rule (SPEC §5): GitHub's signature has no timestamp, so a captured push can be
  // POSTed again later. Without `replayed-from` (which only `ingestctl replay` writes and
  // ingestd never forwards) a push deploys only while it is still the tip of its ref.
  if (replayed.empty()) {
    auto tip = git_.remote_ref(target.dir, target.remote, push.ref);
    if (!tip) {
      r.status = DeployStatus::kFailure;
      r.reason = reason::kGitFailed;
      r.detail = tip.error().message;
      return finish(r, HandleResult::processed());
    }
    if (!*tip || **tip != push.after) {
      r.status = DeployStatus::kSkipped;
      r.reason = reason::kStale;
      r.detail = *tip ? fmt::format("{} is at {} on {}, not at this push's commit; only the tip "
                                    "deploys unless the push is replayed with ingestctl replay",
                                    push.ref, short_sha(**tip), target.remote)
                      : fmt::format("{} is not on {} after the fetch", push.ref, target.remote);
      return finish(r, HandleResult::skipped(reason::kStale));
    }
  }

  auto fail = [&](const char* why, std::string detail, const std::string& sha) {
    r.status = DeployStatus::kFailure;
    r.reason = why;
    r.detail = std::move(detail);
    report_status(r, sha, "failure", r.detail);
    if (metrics_) metrics_->observe_duration(r.target, seconds());
    return finish(r, HandleResult::processed());
  };
  auto commit = git_.resolve_commit(target.dir, push.after);
  if (!commit) return fail(reason::kGitFailed, commit.error().message, push.after);
  if (!*commit) {
    return fail(reason::kCommitNotFound,
                fmt::format("commit {} is not in remote {} after fetching", short_sha(push.after),
                            target.remote),
                push.after);
  }
  const std::string sha = **commit;
  r.commit = sha;
  report_status(r, sha, "pending", fmt::format("Deploying {} on {}", short_sha(sha), config_.host));
  if (auto begun = ledger_.begin(target.git_dir); !begun) {
    return fail(reason::kGitFailed, begun.error().message, sha);
  }
  if (auto checked_out = git_.checkout(target.dir, sha); !checked_out) {
    return fail(reason::kCheckoutFailed, checked_out.error().message, sha);
  }

  const std::map<std::string, std::string> deploy_env = {
      {"DEPLOY_REPO", push.repository},
      {"DEPLOY_REF", push.ref},
      {"DEPLOY_SHA", sha},
      {"DEPLOY_BEFORE", push.before},
      {"DEPLOY_PUSHER", push.pusher},
      {"DEPLOY_HOST", config_.host},
      {"DEPLOY_EVENT_ID", r.event_id},
      {"DEPLOY_TARGET", r.target},
  };
  const auto env = make_environment(config_.base_env, {&target.env, &deploy_env});
  r.status = DeployStatus::kSuccess;
  r.reason = reason::kDeployed;
  const std::size_t n = target.commands.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto& argv = target.commands[i];
    if (stopping(context)) return HandleResult::retry("stopping: deploy abandoned between steps");
    CommandSpec spec;
    spec.argv = argv;
    spec.cwd = target.dir;
    spec.env = env;
    spec.timeout = target.timeout;
    spec.output_limit = options_.output_limit;
    spec.stopping = context.stopping;
    spec.group_file = ledger_.group_file(target.git_dir);
    auto out = runner_.run(spec);
    if (out.interrupted) {
      log_->warn(
          "event_id={} target={}: stopping, step {} of {} interrupted; the push will be "
          "handled again",
          quoted(r.event_id), r.target, i + 1, n);
      return HandleResult::retry("stopping: deploy abandoned during a step");
    }
    r.steps.push_back(
        {argv, out.exit_code, out.timed_out, out.duration, out.output_tail, out.output_bytes});
    if (!out.ok()) {
      r.status = DeployStatus::kFailure;
      r.reason = out.timed_out ? reason::kCommandTimedOut : reason::kCommandFailed;
      r.detail = out.timed_out ? fmt::format("step {} of {} ({}) ran over {} s and was killed",
                                             i + 1, n, argv[0], target.timeout.count())
                               : fmt::format("step {} of {} ({}) exited with {}", i + 1, n, argv[0],
                                             out.exit_code);
      break;
    }
  }
  const bool ok = r.status == DeployStatus::kSuccess;
  if (auto written = ledger_.finish(target.git_dir, {sha, ok}); !written) {
    // The deploy happened; without the entry a redelivery would run it once more.
    log_->error("target={}: ledger not written: {}", r.target, written.error().message);
  }
  if (metrics_) {
    metrics_->observe_duration(r.target, seconds());
    if (ok) metrics_->set_current(r.target, sha);
  }
  report_status(r, sha, ok ? "success" : "failure",
                ok ? fmt::format("Deployed on {} in {:.1f} s", config_.host, seconds()) : r.detail);
  return finish(r, HandleResult::processed());
}

std::optional<std::string> DeployHandler::newer_push(const Target& target,
                                                     HandlerContext& context) {
  std::optional<std::string> newest;
  for (const auto& later : context.later_in_partition) {
    if (header(later, "event-type") != "push") continue;
    // The record key is the repository (ingestd): most other repos' pushes need no parsing.
    if (later.key && !iequals(*later.key, target.repo)) continue;
    const PushEvent* push = lookahead(later);
    if (!push || push->deleted || !is_sha(push->after) || !matches(*push, target)) continue;
    std::string id = header(later, "event-id");
    newest = id.empty() ? fmt::format("{}/{}@{}", later.topic, later.partition, later.offset) : id;
  }
  return newest;
}

const PushEvent* DeployHandler::lookahead(const kafka::ConsumedRecord& record) {
  auto key = std::make_tuple(record.topic, record.partition, record.offset);
  auto it = seen_.find(key);
  if (it == seen_.end()) {
    auto push = parse_push_event(record.value, header(record, "content-type"));
    it = seen_.emplace(key, push ? std::optional<PushEvent>(std::move(*push)) : std::nullopt).first;
  }
  return it->second ? &*it->second : nullptr;
}

HandleResult DeployHandler::finish(DeployResult& r, HandleResult outcome) {
  r.finished_at = clock_.now();
  kafka::OutgoingRecord record;
  record.topic = topics::kGithubDeploys;
  record.key = r.repo;
  record.value = to_json(r);
  record.headers = {
      {"event-id", r.event_id}, {"content-type", "application/json"}, {"deploy-host", r.host}};
  auto delivered = kafka::publish_and_wait(results_, std::move(record), options_.publish_timeout);
  log_->info("result event_id={} target={} status={} reason={} sha={}{}", quoted(r.event_id),
             r.target, to_string(r.status), r.reason, short_sha(r.sha),
             r.detail.empty() ? "" : " detail=" + quoted(r.detail));
  if (!delivered) {
    log_->warn("result for event_id={} not published: {}", quoted(r.event_id),
               delivered.error().message);
    return HandleResult::retry("result not published: " + delivered.error().message);
  }
  if (metrics_) metrics_->count(r.target, to_string(r.status));
  return outcome;
}

void DeployHandler::report_status(const DeployResult& r, const std::string& sha,
                                  const std::string& state, const std::string& description) {
  if (!statuses_.enabled()) return;
  bool sent = statuses_.report(r.repo, sha, state, description);
  if (metrics_) metrics_->status_report(sent);
}

}  // namespace wi::deploy
