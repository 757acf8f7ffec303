#pragma once
// AccountPoller: one record of dropbox.accounts → the account's new changes on
// dropbox.changes (SPEC §5 "dropbox-worker").
//
//   a later record for the same account waits in this batch → skipped (coalesced: that one
//     polls, and it starts after every change this one was about)
//   no token in the tokens file → dead letter "no_token"
//   cursor in the state store → list_folder/continue until has_more is false, every entry
//     emitted; no cursor → list_folder (path "", recursive, include_deleted), entries emitted
//     only with initial_sync: emit
//   then the new cursor is stored (durable), then the runtime commits the record.
//
// API answers (DropboxApi): 429 → wait Retry-After and repeat the same call, no attempt used;
// a wait beyond max_rate_limit_wait re-queues the account record with a dropbox-not-before
// header instead (the record is skipped; its copy waits for that time when it comes up), so
// a rate limit never uses up attempts or ends in a dead letter; 409 reset → a state write that
// drops the cursor and remembers the reset, then a full re-list that is emitted whatever
// initial_sync says; 401 → one token refresh, then dead letter "unauthorized"; 5xx, timeouts,
// transport errors and failed Kafka writes → retry (the runtime's backoff; the cursor was not
// stored, so the next attempt starts from the last stored one: duplicates, never a gap); other 4xx
// → dead letter. Called on the runtime's single consumer thread: one API call in flight per
// process.

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/kafka/publisher.h"
#include "workers/dropbox/call_pacer.h"
#include "workers/dropbox/dropbox_api.h"
#include "workers/dropbox/dropbox_config.h"
#include "workers/dropbox/dropbox_metrics.h"
#include "workers/dropbox/token_store.h"
#include "workers/runtime/record_handler.h"

namespace spdlog {
class logger;
}

namespace wi::dropbox {

struct PollerOptions {
  std::string changes_topic;
  InitialSync initial_sync = InitialSync::kSkip;
  std::chrono::seconds max_rate_limit_wait{120};
  // When a 429 names no Retry-After.
  std::chrono::seconds default_retry_after{5};
  std::chrono::milliseconds publish_timeout{30000};
  // A listing that keeps answering "reset" is retried later rather than looped on.
  int max_resets_per_poll = 3;
  // Where a record deferred by a long Retry-After goes back to (its own input topic).
  std::string accounts_topic = "dropbox.accounts";
};

class AccountPoller {
 public:
  // Everything is borrowed and must outlive the poller. `publisher` (acks=all) takes the
  // changes and re-queued account records.
  AccountPoller(PollerOptions options, DropboxApi& api, TokenStore& tokens, CallPacer& pacer,
                Waiter& waiter, kafka::Publisher& publisher, DropboxMetrics& metrics,
                const Clock& clock);

  worker::HandleResult handle(const kafka::ConsumedRecord& record, worker::HandlerContext& context);

 private:
  struct Poll;
  worker::HandleResult poll(Poll& p);
  Status emit(Poll& p, const ListPage& page);
  worker::HandleResult defer(const Poll& p, SystemTime not_before);
  worker::HandleResult finish(const char* outcome, worker::HandleResult result);

  PollerOptions options_;
  DropboxApi& api_;
  TokenStore& tokens_;
  CallPacer& pacer_;
  Waiter& waiter_;
  kafka::Publisher& publisher_;
  DropboxMetrics& metrics_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace wi::dropbox
