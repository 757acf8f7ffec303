#pragma once
// ChargifyHandler: chargify-worker's decision for each record of webhooks.chargify (SPEC §5).
//
//   empty record                              → skipped
//   body not a form, bad escape or brackets   → dead letter (malformed)
//   event other than signup_success           → skipped, counted (other_event)
//   signup_success:
//     no subscription id or product handle,
//     record key ≠ payload subscription id    → dead letter (malformed)
//     product handle not in the catalog       → skipped, counted (unknown_product)
//     e-mail missing or invalid               → dead letter (invalid_email)
//     ledger says "sent" for the product      → skipped, counted (ledger_hit)
//     else: ledger "sending" (acks=all) → SMTP → ledger "sent" (acks=all) → processed
//       SMTP 4xx, connection failure, a ledger write or attachment read failing → retry
//       SMTP 5xx → dead letter with the server's reply as the reason
//     ledger says "sending" (a process died mid-send) → sent again with the same Message-ID
//       (resent), so a mailbox that saw the first one can drop the second.
//
// The ledger lives in the partition's StateStore (HandlerContext::state), keyed by
// subscription id, the record's key, so it is co-partitioned with the input.
// Called on the runtime's single consumer thread.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/mailer.h"
#include "common/metrics.h"
#include "workers/chargify/chargify_config.h"
#include "workers/chargify/chargify_metrics.h"
#include "workers/chargify/fulfilment_ledger.h"
#include "workers/chargify/signup_event.h"
#include "workers/runtime/record_handler.h"

namespace spdlog {
class logger;
}

namespace wi::chargify {

class ChargifyHandler final : public worker::RecordHandler {
 public:
  // Random hex of `bytes` bytes (Message-IDs, MIME boundaries); tests pass a predictable one.
  using RandomHex = std::function<std::string(std::size_t bytes)>;

  // Everything is borrowed and must outlive the handler.
  ChargifyHandler(const ChargifyConfig& config, mail::Mailer& mailer, const Clock& clock,
                  RandomHex random_hex = {});
  ~ChargifyHandler() override;

  worker::HandleResult handle(const kafka::ConsumedRecord& record,
                              worker::HandlerContext& context) override;

  // Registers the chargify_* metrics in `registry` (which must outlive the handler).
  void attach_metrics(metrics::Registry& registry);

 private:
  worker::HandleResult fulfil(const Signup& signup, const Product& product,
                              const std::string& event_id, worker::HandlerContext& context);
  // The e-mail for `signup`; errors are retryable (an attachment that cannot be read now).
  Result<std::string> compose(const Signup& signup, const Product& product,
                              const std::string& message_id);
  void count(const char* outcome);

  const ChargifyConfig& config_;
  mail::Mailer& mailer_;
  const Clock& clock_;
  RandomHex random_hex_;
  std::unique_ptr<ChargifyMetrics> metrics_;
  std::shared_ptr<spdlog::logger> log_;
  // Accepted by the SMTP server, "sent" not yet in the ledger (its write failed): the retry
  // only writes the ledger. Key: subscription id + '\n' + product handle → Message-ID.
  std::map<std::string, std::string> unrecorded_;
};

}  // namespace wi::chargify
