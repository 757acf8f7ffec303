// ChargifyHandler's outcome table with a fake mailer and a real StateStore over a publisher
// that confirms at once: what is sent, what is skipped, retried or dead-lettered, and what the
// ledger says before and after each send.
#include "workers/chargify/chargify_handler.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/codec.h"
#include "common/download_token.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_mailer.h"
#include "tests/support/temp_dir.h"
#include "tests/fakes/fake_publisher.h"
#include "workers/runtime/state_store.h"

namespace wi::chargify {
namespace {

using worker::Outcome;

const std::string kLinkSecret = "link-secret";

struct SignupSpec {
  std::string webhook_id = "1001";
  std::string event = "signup_success";
  std::string subscription = "42";
  std::string handle = "ebook";
  std::string email = "ada@example.com";
  std::string first_name = "Ada";
  std::string last_name = "Lovelace";
};

std::string form_escape(const std::string& s) {
  return codec::percent_encode(s, false);
}

std::string signup_body(const SignupSpec& s) {
  return "id=" + s.webhook_id + "&event=" + s.event +
         "&payload[subscription][id]=" + s.subscription +
         "&payload%5Bsubscription%5D%5Bstate%5D=active"
         "&payload[subscription][customer][email]=" + form_escape(s.email) +
         "&payload[subscription][customer][first_name]=" + form_escape(s.first_name) +
         "&payload[subscription][customer][last_name]=" + form_escape(s.last_name) +
         "&payload[subscription][product][handle]=" + s.handle +
         "&payload[subscription][product][name]=Ignored+Name&payload[site][subdomain]=shop";
}

kafka::ConsumedRecord record_of(const std::string& body, std::optional<std::string> key,
                                const std::string& event_id = "1001") {
  kafka::ConsumedRecord r;
  r.topic = "webhooks.chargify";
  r.partition = 0;
  r.offset = 7;
  r.key = std::move(key);
  r.value = body;
  r.headers = {{"event-id", event_id}, {"content-type", "application/x-www-form-urlencoded"}};
  return r;
}

kafka::ConsumedRecord signup_record(const SignupSpec& s) {
  return record_of(signup_body(s), s.subscription, s.webhook_id);
}

// The decoded text of the message's first text/plain part (base64, as MimeMessage writes it).
std::string text_of(const std::string& message) {
  const std::string marker = "Content-Transfer-Encoding: base64\r\n\r\n";
  auto start = message.find(marker);
  if (start == std::string::npos) return "<no text part>";
  start += marker.size();
  auto end = message.find("\r\n--", start);
  std::string b64;
  for (char c : message.substr(start, end == std::string::npos ? end : end - start)) {
    if (c != '\r' && c != '\n') b64 += c;
  }
  return codec::base64_decode(b64).value_or("<not base64>");
}

std::string header_of(const std::string& message, const std::string& name) {
  auto pos = message.find("\r\n" + name + ": ");
  if (message.rfind(name + ": ", 0) == 0) pos = 0;
  else if (pos == std::string::npos) return "";
  else pos += 2;
  pos += name.size() + 2;
  return message.substr(pos, message.find("\r\n", pos) - pos);
}

class ChargifyHandlerTest : public ::testing::Test {
 protected:
  ChargifyHandlerTest() {
    std::ofstream(dir_.path("book.pdf")) << "%PDF-1.4 the book";
    auto loader = config::Loader::from_yaml_text(
        R"(
chargify:
  products:
    ebook:
      name: The Book
      subject: "Your copy of {{product_name}}, {{first_name}}"
      body: "Hello {{first_name}} {{last_name}} ({{email}}), subscription {{subscription_id}}.\nDownload: {{download_url}}\n"
      attachment: )" + dir_.path("book.pdf") + R"(
      download_url: "https://files.example.com/d/{{token}}"
    poster:
      name: Poster
      subject: Poster
      body: "Thanks"
)",
        config::Environment({{"SMTP_URL", "smtp://127.0.0.1:2525"},
                             {"SMTP_FROM", "Shop <shop@example.com>"},
                             {"DOWNLOAD_LINK_SECRET", kLinkSecret},
                             {"DOWNLOAD_LINK_TTL_S", "3600"}}));
    config_ = load_chargify_config(loader);
    loader.finish();
    new_process();
  }

  // A fresh handler and state store restored from the ledger written so far: what a restart
  // (or another process taking the partition over) sees.
  void new_process() {
    handler_ = std::make_unique<ChargifyHandler>(config_, mailer_, clock_, [this](std::size_t n) {
      return fmt::format("{:0{}x}", ++ids_, n * 2);
    });
    registry_ = std::make_unique<metrics::Registry>();
    handler_->attach_metrics(*registry_);
    state_ = std::make_unique<worker::StateStore>(publisher_, "chargify.fulfilments", 0);
    for (const auto& r : publisher_.records()) {
      state_->apply(*r.key, r.tombstone ? std::nullopt : std::optional<std::string>(r.value));
    }
  }

  worker::HandleResult handle(const kafka::ConsumedRecord& record, int attempt = 1) {
    worker::HandlerContext context;
    context.attempt = attempt;
    context.state = state_.get();
    return handler_->handle(record, context);
  }

  double count(const std::string& outcome) {
    return registry_->counter("chargify_fulfilments_total", "", {"outcome"}).with({outcome}).value();
  }
  double ledger_hits() {
    return registry_->counter("chargify_ledger_hits_total", "").with({}).value();
  }
  LedgerValue ledger(const std::string& subscription) {
    auto stored = state_->get(subscription);
    if (!stored) return {};
    auto parsed = parse_ledger(*stored);
    EXPECT_TRUE(parsed.ok());
    return parsed.value_or({});
  }

  testing::TempDir dir_;
  ChargifyConfig config_;
  fakes::FakeMailer mailer_;
  fakes::FakeClock clock_;
  fakes::FakePublisher publisher_;
  int ids_ = 0;
  std::unique_ptr<metrics::Registry> registry_;
  std::unique_ptr<ChargifyHandler> handler_;
  std::unique_ptr<worker::StateStore> state_;
};

TEST_F(ChargifyHandlerTest, SignupSendsOneMailAndRecordsItInTheLedger) {
  std::vector<std::string> ledger_at_send;
  mailer_.on_send = [&](const mail::OutgoingMail&) {
    for (const auto& r : publisher_.records()) ledger_at_send.push_back(r.value);
  };
  auto result = handle(signup_record({}));
  EXPECT_EQ(result.outcome, Outcome::kProcessed) << result.reason;

  auto sent = mailer_.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].envelope_from, "shop@example.com");
  EXPECT_EQ(sent[0].recipients, std::vector<std::string>{"ada@example.com"});
  const std::string& m = sent[0].message;
  EXPECT_EQ(header_of(m, "Subject"), "Your copy of The Book, Ada");
  EXPECT_EQ(header_of(m, "To"), "\"Ada Lovelace\" <ada@example.com>");
  const std::string message_id = header_of(m, "Message-ID");
  EXPECT_EQ(message_id, "<00000000000000000000000000000001@example.com>");
  EXPECT_NE(m.find("filename=\"book.pdf\""), std::string::npos);
  EXPECT_NE(m.find(codec::base64_encode("%PDF-1.4 the book")), std::string::npos);

  // The body, with a download link whose token verifies for this subscription and product.
  std::string text = text_of(m);
  EXPECT_NE(text.find("Hello Ada Lovelace (ada@example.com), subscription 42.\r\n"),
            std::string::npos)
      << text;
  const std::string prefix = "Download: https://files.example.com/d/";
  auto at = text.find(prefix);
  ASSERT_NE(at, std::string::npos) << text;
  std::string token = text.substr(at + prefix.size(), text.find("\r\n", at) - at - prefix.size());
  auto claims = token::verify_download_token(token, kLinkSecret, clock_.now());
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->subscription_id, "42");
  EXPECT_EQ(claims->product_handle, "ebook");
  EXPECT_EQ(claims->expires_unix,
            std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch())
                    .count() + 3600);

  // "sending" was durable before the SMTP exchange; "sent" after it, with the Message-ID.
  ASSERT_EQ(ledger_at_send.size(), 1u);
  auto before = parse_ledger(ledger_at_send[0]);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->at("ebook").status, kStatusSending);
  ASSERT_EQ(publisher_.records().size(), 2u);
  EXPECT_EQ(publisher_.records()[1].key, "42");
  EXPECT_EQ(publisher_.records()[1].partition, 0);
  auto entry = ledger("42").at("ebook");
  EXPECT_EQ(entry.status, kStatusSent);
  EXPECT_EQ("<" + entry.message_id + ">", message_id);
  EXPECT_EQ(entry.event_id, "1001");
  EXPECT_EQ(entry.sent_at, format_rfc3339_ms(clock_.now()));
  EXPECT_EQ(count("sent"), 1);
}

TEST_F(ChargifyHandlerTest, DuplicateDeliveryAndSecondSignupSendNothing) {
  ASSERT_EQ(handle(signup_record({})).outcome, Outcome::kProcessed);
  auto again = handle(signup_record({}));
  EXPECT_EQ(again.outcome, Outcome::kSkipped);
  SignupSpec other_webhook;
  other_webhook.webhook_id = "2002";  // a second signup_success for the same subscription+product
  EXPECT_EQ(handle(signup_record(other_webhook)).outcome, Outcome::kSkipped);
  EXPECT_EQ(mailer_.sent().size(), 1u);
  EXPECT_EQ(ledger_hits(), 2);
  EXPECT_EQ(count("ledger_hit"), 2);
}

TEST_F(ChargifyHandlerTest, ReplayAfterRestartSendsNothing) {
  ASSERT_EQ(handle(signup_record({})).outcome, Outcome::kProcessed);
  new_process();  // the ledger comes back from the changelog
  EXPECT_EQ(handle(signup_record({})).outcome, Outcome::kSkipped);
  EXPECT_EQ(mailer_.sent().size(), 1u);
  EXPECT_EQ(ledger_hits(), 1);
}

TEST_F(ChargifyHandlerTest, AnotherProductOfTheSameSubscriptionIsFulfilledToo) {
  ASSERT_EQ(handle(signup_record({})).outcome, Outcome::kProcessed);
  SignupSpec poster;
  poster.webhook_id = "1002";
  poster.handle = "poster";
  ASSERT_EQ(handle(signup_record(poster)).outcome, Outcome::kProcessed);
  EXPECT_EQ(mailer_.sent().size(), 2u);
  auto l = ledger("42");
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(l.at("ebook").status, kStatusSent);
  EXPECT_EQ(l.at("poster").status, kStatusSent);
}

TEST_F(ChargifyHandlerTest, OtherEventsAreCountedAndSkipped) {
  SignupSpec payment;
  payment.event = "payment_success";
  EXPECT_EQ(handle(signup_record(payment)).outcome, Outcome::kSkipped);
  EXPECT_EQ(handle(record_of("id=123456&event=test&payload[chargify]=testing", "123456")).outcome,
            Outcome::kSkipped);
  EXPECT_EQ(mailer_.attempts(), 0);
  EXPECT_TRUE(publisher_.records().empty());
  EXPECT_EQ(count("other_event"), 2);
  EXPECT_EQ(registry_->counter("chargify_events_total", "", {"event"}).with({"test"}).value(), 1);
}

TEST_F(ChargifyHandlerTest, UnknownProductIsSkippedAndCounted) {
  SignupSpec s;
  s.handle = "not-in-catalog";
  auto r = handle(signup_record(s));
  EXPECT_EQ(r.outcome, Outcome::kSkipped);
  EXPECT_EQ(r.reason, "unknown product");
  EXPECT_EQ(mailer_.attempts(), 0);
  EXPECT_EQ(count("unknown_product"), 1);
}

TEST_F(ChargifyHandlerTest, MissingOrInvalidEmailIsADeadLetter) {
  SignupSpec missing;
  missing.email = "";
  auto r = handle(signup_record(missing));
  EXPECT_EQ(r.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(r.reason, "e-mail address is empty");
  SignupSpec invalid;
  invalid.email = "ada@example";
  EXPECT_EQ(handle(signup_record(invalid)).outcome, Outcome::kDeadLetter);
  EXPECT_EQ(mailer_.attempts(), 0);
  EXPECT_TRUE(publisher_.records().empty());
  EXPECT_EQ(count("invalid_email"), 2);
}

TEST_F(ChargifyHandlerTest, MalformedRecordsAreDeadLetters) {
  auto bad_escape = handle(record_of("id=1&event=signup_success&payload[x]=%G1", "1"));
  EXPECT_EQ(bad_escape.outcome, Outcome::kDeadLetter);
  EXPECT_NE(bad_escape.reason.find("malformed form body"), std::string::npos);
  EXPECT_EQ(handle(record_of("id=1&event=signup_success&payload[subscription=1", "1")).outcome,
            Outcome::kDeadLetter);
  EXPECT_EQ(handle(record_of("id=1&payload[a]=b", "1")).reason,
            "malformed form body: missing form field event");
  auto no_subscription = handle(record_of("id=1&event=signup_success", "1"));
  EXPECT_EQ(no_subscription.reason, "missing payload[subscription][id]");
  SignupSpec s;
  auto wrong_key = handle(record_of(signup_body(s), std::string("43")));
  EXPECT_EQ(wrong_key.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(wrong_key.reason, "record key does not match payload[subscription][id]");
  EXPECT_EQ(mailer_.attempts(), 0);
  EXPECT_EQ(count("malformed"), 5);
}

TEST_F(ChargifyHandlerTest, TemporaryRefusalRetriesAndTheRetryStartsAfresh) {
  mailer_.reject_next(1, 451, "4.3.0 try again later");
  auto first = handle(signup_record({}));
  EXPECT_EQ(first.outcome, Outcome::kRetry);
  EXPECT_NE(first.reason.find("451 4.3.0 try again later"), std::string::npos);
  EXPECT_TRUE(ledger("42").empty()) << "a refused message leaves nothing to deduplicate";
  EXPECT_EQ(count("smtp_deferred"), 1);

  EXPECT_EQ(handle(signup_record({}), 2).outcome, Outcome::kProcessed);
  ASSERT_EQ(mailer_.sent().size(), 1u);
  EXPECT_EQ(count("sent"), 1);
  EXPECT_EQ(count("resent"), 0);
}

TEST_F(ChargifyHandlerTest, NoServerRetriesAndTheRetryIsNotADuplicate) {
  mailer_.refuse_next(2);
  EXPECT_EQ(handle(signup_record({})).outcome, Outcome::kRetry);
  EXPECT_EQ(handle(signup_record({}), 2).outcome, Outcome::kRetry);
  EXPECT_TRUE(ledger("42").empty());
  EXPECT_EQ(handle(signup_record({}), 3).outcome, Outcome::kProcessed);
  EXPECT_EQ(mailer_.sent().size(), 1u);
  EXPECT_EQ(count("smtp_deferred"), 2);
  EXPECT_EQ(count("sent"), 1);
  EXPECT_EQ(count("resent"), 0);
}

TEST_F(ChargifyHandlerTest, PermanentRefusalIsADeadLetterWithTheServerReply) {
  mailer_.reject_next(1, 550, "5.1.1 mailbox unavailable");
  auto r = handle(signup_record({}));
  EXPECT_EQ(r.outcome, Outcome::kDeadLetter);
  EXPECT_EQ(r.reason, "smtp: rejected: 550 5.1.1 mailbox unavailable");
  EXPECT_TRUE(ledger("42").empty());
  EXPECT_EQ(count("smtp_rejected"), 1);
  // A redrive after the mailbox is fixed sends it once.
  EXPECT_EQ(handle(signup_record({})).outcome, Outcome::kProcessed);
  EXPECT_EQ(mailer_.sent().size(), 1u);
}

TEST_F(ChargifyHandlerTest, DroppedConnectionRetriesWithTheSameMessageId) {
  mailer_.drop_next(1, /*deliver_anyway=*/true);  // the server took it, the reply was lost
  EXPECT_EQ(handle(signup_record({})).outcome, Outcome::kRetry);
  EXPECT_EQ(ledger("42").at("ebook").status, kStatusSending);
  EXPECT_EQ(handle(signup_record({}), 2).outcome, Outcome::kProcessed);
  auto sent = mailer_.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(header_of(sent[0].message, "Message-ID"), header_of(sent[1].message, "Message-ID"));
  EXPECT_EQ(count("resent"), 1);
  EXPECT_EQ(ledger("42").at("ebook").status, kStatusSent);
}

TEST_F(ChargifyHandlerTest, CrashBetweenSendAndLedgerResendsWithTheSameMessageId) {
  // The process "dies" inside the SMTP exchange, after the server accepted the message.
  mailer_.on_send = [&](const mail::OutgoingMail&) { throw std::runtime_error("killed"); };
  EXPECT_THROW(handle(signup_record({})), std::runtime_error);
  mailer_.on_send = nullptr;
  const auto sending = ledger("42").at("ebook");
  ASSERT_EQ(sending.status, kStatusSending);

  new_process();
  EXPECT_EQ(handle(signup_record({})).outcome, Outcome::kProcessed);
  auto sent = mailer_.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(header_of(sent[0].message, "Message-ID"), "<" + sending.message_id + ">");
  EXPECT_EQ(count("resent"), 1);
  EXPECT_EQ(ledger("42").at("ebook").status, kStatusSent);
}

TEST_F(ChargifyHandlerTest, LedgerWriteBeforeSendingFailsThenNothingIsSent) {
  publisher_.fail_next(1);
  auto r = handle(signup_record({}));
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_NE(r.reason.find("ledger write before sending"), std::string::npos);
  EXPECT_EQ(mailer_.attempts(), 0);
}

TEST_F(ChargifyHandlerTest, LedgerWriteAfterSendingFailsThenTheRetryOnlyWritesTheLedger) {
  mailer_.on_send = [&](const mail::OutgoingMail&) { publisher_.fail_next(1); };
  auto r = handle(signup_record({}));
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_NE(r.reason.find("ledger write after sending"), std::string::npos);
  mailer_.on_send = nullptr;
  EXPECT_EQ(handle(signup_record({}), 2).outcome, Outcome::kProcessed);
  EXPECT_EQ(mailer_.attempts(), 1);
  EXPECT_EQ(ledger("42").at("ebook").status, kStatusSent);
}

TEST_F(ChargifyHandlerTest, UnreadableAttachmentRetriesWithoutSendingOrWriting) {
  std::filesystem::remove(dir_.path("book.pdf"));
  auto r = handle(signup_record({}));
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_NE(r.reason.find("cannot read attachment"), std::string::npos);
  EXPECT_EQ(mailer_.attempts(), 0);
  EXPECT_TRUE(publisher_.records().empty());
}

TEST_F(ChargifyHandlerTest, WithoutAStateStoreItRetries) {
  worker::HandlerContext context;
  EXPECT_EQ(handler_->handle(signup_record({}), context).outcome, Outcome::kRetry);
  EXPECT_EQ(mailer_.attempts(), 0);
}

TEST_F(ChargifyHandlerTest, CorruptLedgerValueIsADeadLetter) {
  state_->apply("42", std::string("not json"));
  EXPECT_EQ(handle(signup_record({})).outcome, Outcome::kDeadLetter);
  EXPECT_EQ(mailer_.attempts(), 0);
}

TEST_F(ChargifyHandlerTest, CustomerValuesCannotInjectHeaders) {
  SignupSpec s;
  s.first_name = "Eve\r\nBcc: victim@example.com";
  ASSERT_EQ(handle(signup_record(s)).outcome, Outcome::kProcessed);
  auto sent = mailer_.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message.find("\r\nBcc:"), std::string::npos);
  EXPECT_EQ(sent[0].recipients, std::vector<std::string>{"ada@example.com"});
}

TEST_F(ChargifyHandlerTest, EmptyRecordIsSkipped) {
  auto r = record_of("", std::string("42"));
  r.null_value = true;
  EXPECT_EQ(handle(r).outcome, Outcome::kSkipped);
}

}  // namespace
}  // namespace wi::chargify
