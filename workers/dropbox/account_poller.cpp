#include "workers/dropbox/account_poller.h"

#include <fmt/format.h>

#include <charconv>

#include "common/json_text.h"
#include "common/log.h"
#include "workers/dropbox/cursor_state.h"
#include "workers/dropbox/fan_out.h"
#include "workers/dropbox/notification.h"
#include "workers/runtime/state_store.h"

namespace wi::dropbox {

using worker::event_id_of;
using worker::HandleResult;

namespace {

constexpr const char* kNotBefore = "dropbox-not-before";

// The time a deferred account record may be polled again (header dropbox-not-before, unix ms).
std::optional<SystemTime> not_before_of(const kafka::ConsumedRecord& record) {
  const std::string* value = kafka::find_header(record.headers, kNotBefore);
  if (!value) return std::nullopt;
  std::int64_t ms = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), ms);
  if (ec != std::errc() || end != value->data() + value->size()) return std::nullopt;
  return SystemTime(std::chrono::milliseconds(ms));
}

}  // namespace

struct AccountPoller::Poll {
  const kafka::ConsumedRecord& record;
  worker::HandlerContext& context;
  std::string account;
  std::string event_id;
  std::size_t pages = 0;
  std::size_t emitted = 0;
  int resets = 0;
  std::chrono::milliseconds rate_waited{0};  // 429 waits in this handle() call

  bool stopping() const { return context.stopping && context.stopping(); }
};

AccountPoller::AccountPoller(PollerOptions options, DropboxApi& api, TokenStore& tokens,
                             CallPacer& pacer, Waiter& waiter, kafka::Publisher& publisher,
                             DropboxMetrics& metrics, const Clock& clock)
    : options_(std::move(options)),
      api_(api),
      tokens_(tokens),
      pacer_(pacer),
      waiter_(waiter),
      publisher_(publisher),
      metrics_(metrics),
      clock_(clock),
      log_(log::get("dropbox-worker")) {}

HandleResult AccountPoller::handle(const kafka::ConsumedRecord& record,
                                   worker::HandlerContext& context) {
  Poll p{record, context, record.key.value_or(""), event_id_of(record)};
  if (!is_account_id(p.account)) {
    return finish("invalid", HandleResult::dead_letter("record key is not an account id"));
  }
  for (const auto& later : context.later_in_partition) {
    if (later.key == p.account) {
      metrics_.coalesced();
      log_->debug("account={} event_id={}: coalesced into offset {}", p.account,
                  json::quote(p.event_id), later.offset);
      return finish("coalesced", HandleResult::skipped("coalesced"));
    }
  }
  // A record deferred by a long Retry-After: wait (within the budget) until its time.
  if (auto not_before = not_before_of(record); not_before && *not_before > clock_.now()) {
    auto remaining = std::chrono::ceil<std::chrono::milliseconds>(*not_before - clock_.now());
    auto wait = std::min<std::chrono::milliseconds>(remaining, options_.max_rate_limit_wait);
    log_->info("account={}: deferred by a rate limit, waiting {} ms", p.account, wait.count());
    if (!waiter_.wait(wait, [&p] { return p.stopping(); })) return HandleResult::retry("stopping");
    p.rate_waited += wait;
    metrics_.rate_limit_wait(std::chrono::duration<double>(wait).count());
    if (clock_.now() < *not_before) return defer(p, *not_before);
  }
  return poll(p);
}

HandleResult AccountPoller::defer(const Poll& p, SystemTime not_before) {
  // Waiting longer in the handler would hold the partition past max.poll.interval.ms, and
  // the runtime's retries would use up attempts and end in a dead letter, which a 429 must
  // never be. So the record goes back to the end of its partition, marked with its time.
  kafka::OutgoingRecord again;
  again.topic = options_.accounts_topic;
  again.key = p.account;
  again.value = p.record.value;
  for (const auto& h : p.record.headers) {
    if (h.name != kNotBefore) again.headers.push_back(h);
  }
  again.headers.push_back({kNotBefore, std::to_string(to_unix_ms(not_before))});
  if (auto d = kafka::publish_and_wait(publisher_, std::move(again), options_.publish_timeout);
      !d) {
    return finish("retry", HandleResult::retry("deferral not published: " + d.error().message));
  }
  log_->info("account={} event_id={}: rate limited until {}; the account record is re-queued",
             p.account, json::quote(p.event_id), format_rfc3339_ms(not_before));
  return finish("deferred", HandleResult::skipped("rate limited: deferred"));
}

HandleResult AccountPoller::poll(Poll& p) {
  worker::StateStore* state = p.context.state;
  if (state == nullptr) return finish("retry", HandleResult::retry("no state store"));
  auto stopping = [&p] { return p.stopping(); };
  auto token_failure = [&](const Error& error) {
    if (error.code == ErrorCode::kNotFound) {
      return finish("no_token", HandleResult::dead_letter("no_token"));
    }
    if (!error.retryable) {
      log_->warn("account={}: {}", p.account, error.message);
      return finish("unauthorized", HandleResult::dead_letter("unauthorized"));
    }
    return finish("retry", HandleResult::retry(error.message));
  };

  auto token = tokens_.access_token(p.account);
  if (!token) return token_failure(token.error());
  CursorState stored;
  if (auto value = state->get(p.account)) stored = parse_cursor_state(*value);
  std::optional<std::string> cursor = stored.cursor;
  // Changes since a cursor are always emitted; a first listing only when configured, or when
  // it replaces a cursor Dropbox reset (its changes would be lost otherwise).
  bool emitting =
      cursor.has_value() || stored.relist_pending || options_.initial_sync == InitialSync::kEmit;
  bool refreshed = false;

  while (true) {
    if (!pacer_.acquire(stopping)) return HandleResult::retry("stopping");
    ApiAnswer answer =
        cursor ? api_.list_folder_continue(*token, *cursor) : api_.list_folder(*token);
    switch (answer.kind) {
      case ApiAnswer::Kind::kOk:
        ++p.pages;
        if (emitting) {
          if (auto s = emit(p, answer.page); !s) {
            return finish("retry",
                          HandleResult::retry("changes not published: " + s.error().message));
          }
        }
        cursor = std::move(answer.page.cursor);
        if (!answer.page.has_more) break;
        continue;
      case ApiAnswer::Kind::kRateLimited: {
        auto wait = answer.retry_after.value_or(options_.default_retry_after);
        if (p.rate_waited + wait > options_.max_rate_limit_wait) {
          return defer(p, clock_.now() + wait);
        }
        log_->info("account={}: rate limited ({}), waiting {} s", p.account, answer.detail,
                   wait.count());
        if (!waiter_.wait(wait, stopping)) return HandleResult::retry("stopping");
        p.rate_waited += wait;
        metrics_.rate_limit_wait(static_cast<double>(wait.count()));
        continue;
      }
      case ApiAnswer::Kind::kReset: {
        metrics_.reset();
        if (++p.resets > options_.max_resets_per_poll) {
          return finish("retry", HandleResult::retry("cursor reset again and again"));
        }
        log_->warn(
            "account={} event_id={}: cursor reset by Dropbox; listing again from scratch "
            "and emitting every entry",
            p.account, json::quote(p.event_id));
        CursorState dropped{std::nullopt, true};
        if (auto s = state->put(
                p.account, cursor_state_json(dropped, p.event_id, format_rfc3339_ms(clock_.now())));
            !s) {
          return finish("retry", HandleResult::retry(s.error().message));
        }
        cursor.reset();
        emitting = true;
        continue;
      }
      case ApiAnswer::Kind::kUnauthorized:
        if (!refreshed && tokens_.invalidate(p.account)) {
          refreshed = true;
          log_->info("account={}: access token refused ({}), refreshing it", p.account,
                     answer.detail);
          token = tokens_.access_token(p.account);
          if (!token) return token_failure(token.error());
          continue;
        }
        if (refreshed) {
          log_->warn("account={}: {}: the access token was refused again after a token refresh",
                     p.account, answer.detail);
        } else {
          log_->warn(
              "account={}: {}: the access token was refused and cannot be refreshed (a "
              "fixed token, no refresh token configured)",
              p.account, answer.detail);
        }
        return finish("unauthorized", HandleResult::dead_letter("unauthorized"));
      case ApiAnswer::Kind::kTransient:
      case ApiAnswer::Kind::kBadAnswer:
        return finish("retry", HandleResult::retry(answer.detail));
      case ApiAnswer::Kind::kRejected:
        return finish("api_error", HandleResult::dead_letter("dropbox api: " + answer.detail));
    }
    break;
  }

  CursorState next{cursor, false};
  if (auto s = state->put(p.account,
                          cursor_state_json(next, p.event_id, format_rfc3339_ms(clock_.now())));
      !s) {
    return finish("retry", HandleResult::retry(s.error().message));
  }
  log_->info("account={} event_id={} polled: pages={} changes={}{}", p.account,
             json::quote(p.event_id), p.pages, p.emitted,
             emitting ? "" : " (first listing, initial_sync: skip)");
  return finish("ok", HandleResult::processed());
}

Status AccountPoller::emit(Poll& p, const ListPage& page) {
  std::vector<kafka::OutgoingRecord> records;
  records.reserve(page.entries.size());
  for (const auto& entry : page.entries) {
    kafka::OutgoingRecord r;
    r.topic = options_.changes_topic;
    r.key = p.account;
    r.value = change_json(p.account, entry, p.event_id);
    r.headers = {{"event-id", p.event_id}, {"content-type", "application/json"}};
    records.push_back(std::move(r));
  }
  auto published =
      kafka::publish_all_and_wait(publisher_, std::move(records), options_.publish_timeout);
  if (!published) return published;
  for (const auto& entry : page.entries) metrics_.change(entry.tag);
  p.emitted += page.entries.size();
  return {};
}

HandleResult AccountPoller::finish(const char* outcome, HandleResult result) {
  metrics_.poll(outcome);
  return result;
}

}  // namespace wi::dropbox
