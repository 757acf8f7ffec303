#include "workers/chargify/chargify_handler.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/codec.h"
#include "common/crypto.h"
#include "common/download_token.h"
#include "common/json_text.h"
#include "common/log.h"
#include "workers/chargify/email_address.h"
#include "workers/chargify/form_tree.h"
#include "workers/chargify/mime_message.h"
#include "workers/runtime/state_store.h"

namespace wi::chargify {

using worker::HandlerContext;
using worker::HandleResult;

namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::unavailable("cannot read attachment " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Error::unavailable("cannot read attachment " + path);
  return buffer.str();
}

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? "localhost" : address.substr(at + 1);
}

}  // namespace

ChargifyHandler::ChargifyHandler(const ChargifyConfig& config, mail::Mailer& mailer,
                                 const Clock& clock, RandomHex random_hex)
    : config_(config),
      mailer_(mailer),
      clock_(clock),
      random_hex_(random_hex ? std::move(random_hex)
                             : RandomHex([](std::size_t n) {
                                 return codec::hex_encode(crypto::random_bytes(n));
                               })),
      log_(log::get("chargify-worker")) {}

ChargifyHandler::~ChargifyHandler() = default;

void ChargifyHandler::attach_metrics(metrics::Registry& registry) {
  metrics_ = std::make_unique<ChargifyMetrics>(registry);
}

void ChargifyHandler::count(const char* outcome) {
  if (metrics_) metrics_->count(outcome);
}

// Payload text in a log line goes through json::quote, so it cannot forge lines or fields.
HandleResult ChargifyHandler::handle(const kafka::ConsumedRecord& record,
                                     HandlerContext& context) {
  const std::string event_id = worker::event_id_of(record);
  if (record.null_value) return HandleResult::skipped("empty record");
  auto form = FormTree::parse(record.value);
  if (!form) {
    count("malformed");
    log_->warn("event_id={} unreadable: {}", json::quote(event_id), form.error().message);
    return HandleResult::dead_letter("malformed form body: " + form.error().message);
  }
  auto event = form->value({"event"});
  if (!event || event->empty()) {
    count("malformed");
    return HandleResult::dead_letter("malformed form body: missing form field event");
  }
  if (metrics_) metrics_->event(*event);
  if (*event != "signup_success") {
    count("other_event");
    log_->info("event_id={} event={}: nothing to fulfil", json::quote(event_id), json::quote(*event));
    return HandleResult::skipped("not a signup_success");
  }
  auto signup = read_signup(*form);
  if (!signup) {
    count("malformed");
    log_->warn("signup event_id={} unusable: {}", json::quote(event_id), signup.error().message);
    return HandleResult::dead_letter(signup.error().message);
  }
  // The ledger is found by the record's partition: a record keyed otherwise than by its
  // subscription could land where that subscription's ledger entry is not.
  if (!record.key || *record.key != signup->subscription_id) {
    count("malformed");
    log_->warn("signup event_id={}: record key is not payload[subscription][id]",
               json::quote(event_id));
    return HandleResult::dead_letter("record key does not match payload[subscription][id]");
  }
  auto product = config_.products.find(signup->product_handle);
  if (product == config_.products.end()) {
    count("unknown_product");
    log_->info("signup event_id={} subscription={} product={}: not in the catalog, skipped",
               json::quote(event_id), signup->subscription_id, json::quote(signup->product_handle));
    return HandleResult::skipped("unknown product");
  }
  auto address = validate_email(signup->email);
  if (!address) {
    count("invalid_email");
    log_->warn("signup event_id={} subscription={}: {}", json::quote(event_id),
               signup->subscription_id, address.error().message);
    return HandleResult::dead_letter(address.error().message);
  }
  signup->email = *address;
  return fulfil(*signup, product->second, event_id, context);
}

HandleResult ChargifyHandler::fulfil(const Signup& signup, const Product& product,
                                     const std::string& event_id, HandlerContext& context) {
  if (context.state == nullptr) {
    return HandleResult::retry("no ledger for this partition (state store not restored)");
  }
  worker::StateStore& state = *context.state;
  const std::string& key = signup.subscription_id;
  LedgerValue ledger;
  if (auto stored = state.get(key)) {
    auto parsed = parse_ledger(*stored);
    if (!parsed) {
      count("malformed");
      return HandleResult::dead_letter("ledger record for the subscription: " +
                                       parsed.error().message);
    }
    ledger = std::move(*parsed);
  }
  auto write_sent = [&](const std::string& message_id) -> HandleResult {
    ledger[product.handle] = {kStatusSent, message_id, event_id, format_rfc3339_ms(clock_.now())};
    const std::string pending_key = key + "\n" + product.handle;
    if (auto written = state.put(key, to_json(ledger)); !written) {
      unrecorded_[pending_key] = message_id;
      return HandleResult::retry("ledger write after sending: " + written.error().message);
    }
    unrecorded_.erase(pending_key);
    return HandleResult::processed();
  };

  if (auto it = unrecorded_.find(key + "\n" + product.handle); it != unrecorded_.end()) {
    return write_sent(it->second);  // sent by this process, only the ledger is missing
  }
  auto entry = ledger.find(product.handle);
  if (entry != ledger.end() && entry->second.status == kStatusSent) {
    count("ledger_hit");
    if (metrics_) metrics_->ledger_hit();
    log_->info("signup event_id={} subscription={} product={}: already fulfilled by {} ({})",
               json::quote(event_id), key, product.handle, json::quote(entry->second.event_id),
               json::quote(entry->second.message_id));
    return HandleResult::skipped("already fulfilled");
  }
  const bool resend = entry != ledger.end();  // "sending": a previous attempt's fate is unknown
  std::string message_id;
  message_id = resend ? entry->second.message_id
                      : random_hex_(16) + "@" + domain_of(config_.from_address);
  // Composed before "sending" is written: a failure here has sent nothing.
  auto message = compose(signup, product, message_id);
  if (!message) return HandleResult::from(message.error());
  if (!resend) {
    ledger[product.handle] = {kStatusSending, message_id, event_id, ""};
    if (auto written = state.put(key, to_json(ledger)); !written) {
      return HandleResult::retry("ledger write before sending: " + written.error().message);
    }
  }
  mail::OutgoingMail mail{config_.from_address, {signup.email}, std::move(*message)};
  const auto started = clock_.steady_now();
  // A stopping worker abandons a slow exchange instead of waiting out SMTP_TIMEOUT_S: the
  // record is retried by whoever owns the partition next (the "sending" entry makes that a
  // resend with the same Message-ID).
  auto sent = mailer_.send(mail, context.stopping);
  if (metrics_) {
    metrics_->smtp_seconds(std::chrono::duration<double>(clock_.steady_now() - started).count());
  }
  if (!sent) {
    if (sent.definitely_not_sent()) {
      // The server refused it: nothing to deduplicate later, the next try starts afresh.
      ledger.erase(product.handle);
      auto cleared = ledger.empty() ? state.erase(key) : state.put(key, to_json(ledger));
      if (!cleared) {
        log_->warn("subscription={}: ledger not cleared after a refusal: {}", key,
                   cleared.error().message);
      }
    }
    const bool permanent = !sent.error().retryable;
    count(permanent ? "smtp_rejected" : "smtp_deferred");
    log_->warn("signup event_id={} subscription={} product={} message_id={} attempt={}: {}",
               json::quote(event_id), key, product.handle, json::quote(message_id), context.attempt,
               sent.error().message);
    return permanent ? HandleResult::dead_letter(sent.error().message)
                     : HandleResult::retry(sent.error().message);
  }
  auto outcome = write_sent(message_id);
  count(resend ? "resent" : "sent");
  if (resend) {
    log_->warn(
        "signup event_id={} subscription={} product={}: sent again with message_id={} (an "
        "earlier attempt did not complete, by a crash, a stop or a timeout, and may have been "
        "delivered; the same Message-ID lets mail clients show one)",
        json::quote(event_id), key, product.handle, json::quote(message_id));
  } else {
    log_->info("signup event_id={} subscription={} product={}: sent message_id={}",
               json::quote(event_id), key, product.handle, json::quote(message_id));
  }
  return outcome;
}

Result<std::string> ChargifyHandler::compose(const Signup& signup, const Product& product,
                                             const std::string& message_id) {
  std::map<std::string, std::string> values = {
      {"first_name", signup.first_name},      {"last_name", signup.last_name},
      {"email", signup.email},                {"product_name", product.name},
      {"subscription_id", signup.subscription_id}};
  if (product.download_url) {
    const auto expires = clock_.now() + config_.download_link_ttl;
    token::DownloadClaims claims{
        signup.subscription_id, product.handle,
        std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count()};
    auto token = token::make_download_token(
        claims, config_.download_link_secret ? config_.download_link_secret->reveal() : "");
    if (!token) return token.error();
    values["download_url"] = product.download_url->render({{"token", *token},
                                                           {"subscription_id", signup.subscription_id},
                                                           {"product_handle", product.handle}});
  }
  MailContent content;
  content.from = config_.smtp_from;
  content.to_address = signup.email;
  content.to_name = signup.first_name.empty() ? signup.last_name
                    : signup.last_name.empty() ? signup.first_name
                                               : signup.first_name + " " + signup.last_name;
  content.subject = product.subject.render(values);
  content.text = product.body.render(values);
  content.message_id = message_id;
  content.date = clock_.now();
  if (product.attachment) {
    auto bytes = read_file(*product.attachment);
    if (!bytes) return bytes.error();
    std::string name = std::filesystem::path(*product.attachment).filename().string();
    content.attachment = Attachment{name, content_type_for(name), std::move(*bytes)};
  }
  return build_mime_message(content, random_hex_(12));
}

}  // namespace wi::chargify
