// chargify-worker end to end: signed signups through the real ingestd, the real broker, the
// real worker binary and a real SMTP server; e-mails read back with Python's email package.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "common/codec.h"
#include "common/crypto.h"
#include "tests/system/chargify_fixture.h"

namespace wi::testing {
namespace {

using namespace std::chrono_literals;

std::string sha256_hex(const std::string& bytes) { return codec::hex_encode(crypto::sha256(bytes)); }

// A small binary "PDF" with every byte value in it.
std::string write_attachment(const TempDir& dir, const std::string& name) {
  std::string bytes = "%PDF-1.4\n";
  for (int i = 0; i < 3000; ++i) bytes += static_cast<char>((i * 7) % 256);
  std::ofstream(dir.path(name), std::ios::binary) << bytes;
  return bytes;
}

Signup signup_for(const std::string& tag, int n, const std::string& handle = "ebook") {
  Signup s;
  s.webhook_id = std::to_string(800000 + n);
  s.subscription = std::to_string(300000 + n);
  s.handle = handle;
  s.email = "customer-" + tag + "-" + std::to_string(n) + "@example.com";
  return s;
}

ProcessResult ingestctl(const std::vector<std::string>& args,
                        std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv = {INGESTCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  env.emplace("KAFKA_BROKERS", test_brokers());
  return run_process(argv, env, 90s);
}

class ChargifyWorkerSystem : public ::testing::Test {
 protected:
  struct Edge {
    SmtpRecorder& smtp;
    IngestdProcess& ingestd;
    const ChargifyTopics& topics;
  };
  // The SMTP recorder, ingestd, this test's topics and the test catalog (with guide.pdf).
  Edge start_edge() {
    smtp_ = std::make_unique<SmtpRecorder>();
    ingestd_ = std::make_unique<IngestdProcess>();
    topics_ = chargify_topics(ingestd_->topic(""), false);
    attachment_ = write_attachment(scratch_, "guide.pdf");
    yaml_ = catalog_yaml(scratch_.path("guide.pdf"));
    return {*smtp_, *ingestd_, topics_};
  }
  std::unique_ptr<ChargifyWorkerProcess> start_worker() {
    return std::make_unique<ChargifyWorkerProcess>(scratch_.path(), yaml_, topics_, *smtp_);
  }
  // Signs and posts `s` through ingestd; its HTTP status.
  int post(const Signup& s) { return post_chargify(*ingestd_, signup_body(s), s.webhook_id); }
  std::int64_t committed() { return committed_sum(topics_.group, topics_.input()); }

  TempDir scratch_{"wi-chargify"};
  std::unique_ptr<SmtpRecorder> smtp_;
  std::unique_ptr<IngestdProcess> ingestd_;
  ChargifyTopics topics_;
  std::string attachment_;
  std::string yaml_;
};

TEST_F(ChargifyWorkerSystem, SignedSignupThroughIngestdSendsOneCompleteEmail) {
  [[maybe_unused]] auto [smtp, ingestd, topics] = start_edge();
  auto worker_process = start_worker();
  auto& worker = *worker_process;
  Signup s = signup_for("one", 1);
  s.first_name = "José";
  ASSERT_EQ(post_chargify(ingestd, signup_body(s), s.webhook_id), 200);

  ASSERT_TRUE(eventually([&] { return smtp.count() >= 1; }, 60s)) << worker.log();
  // A valid configuration's startup line (WorkerParts::announce) is logged.
  EXPECT_NE(worker.log().find("catalog products="), std::string::npos) << worker.log();
  // Everything the record caused is done once its offset is committed.
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 1; }, 30s));
  auto recorded = smtp.messages();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].mail_from, "shop@example.com");
  EXPECT_EQ(recorded[0].rcpt_to, std::vector<std::string>{s.email});

  auto mails = smtp.parsed();
  ASSERT_EQ(mails.size(), 1u);
  const auto& m = mails[0];
  EXPECT_TRUE(m.defects.empty()) << ::testing::PrintToString(m.defects);
  EXPECT_EQ(m.from, kShopFrom);
  EXPECT_EQ(m.to_addresses, std::vector<std::string>{s.email});
  EXPECT_EQ(m.subject, "Your copy of The Été Book, José");
  EXPECT_TRUE(m.date_ok) << m.date;
  EXPECT_EQ(m.mime_version, "1.0");
  EXPECT_EQ(m.content_type, "multipart/mixed");
  EXPECT_EQ(m.text_charset, "utf-8");
  EXPECT_NE(m.text.find("Hello José Lovelace,\nsubscription " + s.subscription + " for " + s.email +
                        ".\n"),
            std::string::npos)
      << m.text;

  // The download link's token verifies with the operator's tool, for this subscription.
  const std::string token = line_after(m.text, "Download: https://files.example.com/d/");
  ASSERT_FALSE(token.empty()) << m.text;
  auto verified = ingestctl({"token", "verify", token}, {{"DOWNLOAD_LINK_SECRET", kLinkSecret}});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("subscription: " + s.subscription + "\n"), std::string::npos);
  EXPECT_NE(verified.out.find("product: ebook\n"), std::string::npos);
  auto forged = ingestctl({"token", "verify", token}, {{"DOWNLOAD_LINK_SECRET", "wrong"}});
  EXPECT_EQ(forged.exit_code, 1) << forged.out;

  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].filename, "guide.pdf");
  EXPECT_EQ(m.attachments[0].content_type, "application/pdf");
  EXPECT_EQ(m.attachments[0].size, static_cast<std::int64_t>(attachment_.size()));
  EXPECT_EQ(m.attachments[0].sha256, sha256_hex(attachment_));

  // The ledger recorded "sent" with the Message-ID the customer got.
  auto ledger = read_topic(topics.ledger, 2);
  ASSERT_EQ(ledger.size(), 2u);  // "sending", then "sent"
  EXPECT_EQ(ledger.back().key, s.subscription);
  simdjson::dom::parser parser;
  simdjson::dom::element entry;
  ASSERT_FALSE(parser.parse(ledger.back().value)["ebook"].get(entry)) << ledger.back().value;
  EXPECT_EQ(std::string_view(entry["status"]), "sent");
  EXPECT_EQ("<" + std::string(std::string_view(entry["message_id"])) + ">", m.message_id);
  EXPECT_EQ(std::string_view(entry["event_id"]), s.webhook_id);

  EXPECT_EQ(smtp.count(), 1u);
  EXPECT_EQ(worker.outcome_sample("sent"), 1);
  EXPECT_EQ(worker.stop(), 0) << worker.log();
}

TEST_F(ChargifyWorkerSystem, TripleDeliveryThenReplayStillSendsOneEmail) {
  [[maybe_unused]] auto [smtp, ingestd, topics] = start_edge();
  Signup s = signup_for("dup", 2);
  {
    ChargifyWorkerProcess worker(scratch_.path(), yaml_, topics, smtp);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(post_chargify(ingestd, signup_body(s), s.webhook_id), 200);
    ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 3; }, 60s))
        << worker.log();
    EXPECT_EQ(smtp.count(), 1u);
    EXPECT_EQ(worker.sample("chargify_ledger_hits_total"), 2);
    EXPECT_EQ(worker.outcome_sample("sent"), 1);
    ASSERT_EQ(worker.stop(), 0) << worker.log();
  }
  // The operator replays the topic for the group: every record is handled again.
  auto replay = ingestctl({"replay", "--group", topics.group, "--topic", topics.input(),
                           "--from-time", "-1h"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  ASSERT_EQ(committed_sum(topics.group, topics.input()), 0);
  ChargifyWorkerProcess again(scratch_.path(), yaml_, topics, smtp);
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 3; }, 60s))
      << again.log();
  EXPECT_EQ(again.sample("chargify_ledger_hits_total"), 3);
  EXPECT_EQ(again.outcome_sample("sent"), 0);
  EXPECT_EQ(smtp.count(), 1u);
  EXPECT_EQ(again.stop(), 0);
}

TEST_F(ChargifyWorkerSystem, OtherEventsAndUnknownProductsSendNothingAndAreCommitted) {
  [[maybe_unused]] auto [smtp, ingestd, topics] = start_edge();
  auto worker_process = start_worker();
  auto& worker = *worker_process;
  Signup payment = signup_for("other", 3);
  payment.event = "payment_success";
  ASSERT_EQ(post_chargify(ingestd, signup_body(payment), payment.webhook_id), 200);
  const std::string test_event = "id=123456&event=test&payload[chargify]=testing";
  ASSERT_EQ(post_chargify(ingestd, test_event, "123456"), 200);
  Signup unknown = signup_for("other", 4, "not-in-the-catalog");
  ASSERT_EQ(post_chargify(ingestd, signup_body(unknown), unknown.webhook_id), 200);
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 3; }, 60s))
      << worker.log();
  EXPECT_EQ(smtp.count(), 0u);
  EXPECT_EQ(worker.outcome_sample("other_event"), 2);
  EXPECT_EQ(worker.outcome_sample("unknown_product"), 1);
  EXPECT_EQ(worker.sample("worker_records_total{worker=\"chargify\",outcome=\"skipped\"}"), 3);
  EXPECT_EQ(worker.sample("chargify_events_total{event=\"payment_success\"}"), 1);
  EXPECT_EQ(worker.sample("chargify_events_total{event=\"test\"}"), 1);
  EXPECT_EQ(worker.sample("chargify_events_total{event=\"signup_success\"}"), 1);
  // Every event type was a known one: no series for "other" was ever made.
  EXPECT_EQ(worker.sample("chargify_events_total{event=\"other\"}"), std::nullopt);
  EXPECT_EQ(record_count(topics.dlq()), 0);

  // A product without attachment or link, after them: only its e-mail arrives.
  Signup poster = signup_for("other", 5, "poster");
  ASSERT_EQ(post_chargify(ingestd, signup_body(poster), poster.webhook_id), 200);
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 4; }, 60s));
  auto mails = smtp.parsed();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].to_addresses, std::vector<std::string>{poster.email});
  EXPECT_EQ(mails[0].subject, "Your poster");
  EXPECT_EQ(mails[0].content_type, "text/plain");
  EXPECT_TRUE(mails[0].attachments.empty());
  EXPECT_TRUE(mails[0].defects.empty());
}

TEST_F(ChargifyWorkerSystem, SmtpDownIsRetriedAndDeliveredOnceItIsBack) {
  [[maybe_unused]] auto [smtp, ingestd, topics] = start_edge();
  auto worker_process = start_worker();
  auto& worker = *worker_process;
  smtp.fault(R"({"down": true})");
  Signup s = signup_for("down", 6);
  ASSERT_EQ(post_chargify(ingestd, signup_body(s), s.webhook_id), 200);
  ASSERT_TRUE(eventually([&] { return worker.outcome("smtp_deferred") >= 3; }, 60s))
      << worker.log();
  EXPECT_EQ(committed_sum(topics.group, topics.input()), 0);
  smtp.fault(R"({"down": false})");
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 1; }, 60s))
      << worker.log();
  auto recorded = smtp.messages();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].rcpt_to, std::vector<std::string>{s.email});
  EXPECT_EQ(worker.outcome_sample("sent"), 1);
  EXPECT_EQ(worker.outcome_sample("resent"), 0);  // a refused connection delivered nothing
  EXPECT_EQ(record_count(topics.dlq()), 0);
}

TEST_F(ChargifyWorkerSystem, Smtp451IsRetriedWithBackoffThenDeliveredOnce) {
  start_edge();
  auto worker = start_worker();
  smtp_->fault(R"({"rcpt_code": 451, "count": 3})");
  Signup s = signup_for("defer", 10);
  ASSERT_EQ(post(s), 200);
  ASSERT_TRUE(eventually([&] { return committed() == 1; }, 60s)) << worker->log();
  auto recorded = smtp_->messages();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].rcpt_to, std::vector<std::string>{s.email});
  EXPECT_EQ(worker->outcome_sample("smtp_deferred"), 3);
  EXPECT_EQ(worker->sample("worker_records_total{worker=\"chargify\",outcome=\"retried\"}"), 3);
  EXPECT_EQ(worker->outcome_sample("sent"), 1);
  EXPECT_EQ(worker->outcome_sample("resent"), 0);  // a 451 reply delivered nothing
  EXPECT_EQ(record_count(topics_.dlq()), 0);
}

TEST_F(ChargifyWorkerSystem, Smtp550IsADeadLetterAndARedriveDeliversOnce) {
  [[maybe_unused]] auto [smtp, ingestd, topics] = start_edge();
  auto worker_process = start_worker();
  auto& worker = *worker_process;
  smtp.fault(R"({"rcpt_code": 550, "count": 1})");
  Signup s = signup_for("bounce", 7);
  ASSERT_EQ(post_chargify(ingestd, signup_body(s), s.webhook_id), 200);
  Signup bad = signup_for("bounce", 8);
  bad.email = "not-an-address";
  ASSERT_EQ(post_chargify(ingestd, signup_body(bad), bad.webhook_id), 200);
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 2; }, 60s))
      << worker.log();
  auto letters = read_topic(topics.dlq(), 2);
  ASSERT_EQ(letters.size(), 2u);
  std::map<std::string, std::string> reasons;  // event id → dlq-reason
  for (const auto& l : letters) reasons[spool_support::header(l, "event-id")] = spool_support::header(l, "dlq-reason");
  EXPECT_EQ(reasons[s.webhook_id], "smtp: rejected: 550 5.0.0 smtp-recorder fault: injected 550");
  EXPECT_EQ(reasons[bad.webhook_id], "e-mail address has no '@'");
  EXPECT_EQ(smtp.count(), 0u);
  EXPECT_EQ(worker.outcome_sample("smtp_rejected"), 1);
  EXPECT_EQ(worker.outcome_sample("invalid_email"), 1);

  // The mailbox works again: a redrive delivers the first once; the bad address is dead again.
  auto redrive = ingestctl({"redrive", topics.dlq()});
  ASSERT_EQ(redrive.exit_code, 0) << redrive.out << redrive.err;
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 4; }, 60s))
      << worker.log();
  auto recorded = smtp.messages();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].rcpt_to, std::vector<std::string>{s.email});
  EXPECT_EQ(record_count(topics.dlq()), 3);
  EXPECT_EQ(worker.outcome_sample("sent"), 1);
}

TEST_F(ChargifyWorkerSystem, SampleSignupSentWithIngestctlIsDeliveredWithTheDemoCatalog) {
  [[maybe_unused]] auto [smtp, ingestd, topics] = start_edge();
  std::ifstream in(std::string(PROJECT_DEMO_CONFIG));
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(yaml.find("chargify:"), std::string::npos);
  ChargifyWorkerProcess worker(scratch_.path(), yaml, topics, smtp);
  auto sent = ingestctl({"send", "chargify", "--file", CHARGIFY_SAMPLE_SIGNUP, "--url",
                         "http://127.0.0.1:" + std::to_string(ingestd.port()) + "/webhooks/chargify"},
                        {{"CHARGIFY_SHARED_KEY", kChargifySecret}});
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 1; }, 60s))
      << worker.log();
  auto mails = smtp.parsed();
  ASSERT_EQ(mails.size(), 1u) << worker.log();
  EXPECT_EQ(mails[0].to_addresses, std::vector<std::string>{"ada@example.com"});
  EXPECT_EQ(mails[0].subject, "Your copy of The Basic E-Book");
  EXPECT_TRUE(mails[0].defects.empty());
  const std::string token = line_after(mails[0].text, "http://127.0.0.1:8090/downloads/");
  auto verified = ingestctl({"token", "verify", token}, {{"DOWNLOAD_LINK_SECRET", kLinkSecret}});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("product: ebook-basic\n"), std::string::npos);
}

TEST_F(ChargifyWorkerSystem, StartTlsIsUsedWhenOfferedAndTheCertificateIsVerified) {
  // A certificate for 127.0.0.1 that only SMTP_CA_FILE vouches for.
  auto made = run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", scratch_.path("key.pem"), "-out", scratch_.path("cert.pem"),
                           "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                           "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  SmtpRecorder smtp({"--tls-cert", scratch_.path("cert.pem"), "--tls-key", scratch_.path("key.pem")});
  auto topics = chargify_topics(unique_name("chg") + ".", true);
  write_attachment(scratch_, "guide.pdf");
  const std::string yaml = catalog_yaml(scratch_.path("guide.pdf"));
  auto publisher = test_publisher();
  Signup s = signup_for("tls", 9);
  publish_signup(*publisher, topics.input(), s);
  ASSERT_TRUE(publisher->flush(30s).ok());

  // Without the CA the certificate does not verify: retried, never sent in clear text.
  {
    ChargifyWorkerProcess untrusting(scratch_.path(), yaml, topics, smtp);
    ASSERT_TRUE(eventually([&] { return untrusting.outcome("smtp_deferred") >= 2; }, 60s))
        << untrusting.log();
    EXPECT_EQ(smtp.count(), 0u);
    EXPECT_EQ(untrusting.stop(), 0);
  }
  ChargifyWorkerProcess worker(scratch_.path(), yaml, topics, smtp,
                               {{"SMTP_CA_FILE", scratch_.path("cert.pem")}});
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 1; }, 60s))
      << worker.log();
  auto recorded = smtp.messages();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_TRUE(recorded[0].tls);
  EXPECT_EQ(recorded[0].rcpt_to, std::vector<std::string>{s.email});
}

TEST_F(ChargifyWorkerSystem, SmtpsUrlSpeaksTlsFromTheFirstByte) {
  auto made = run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", scratch_.path("key.pem"), "-out", scratch_.path("cert.pem"),
                           "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                           "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  SmtpRecorder smtp({"--tls-cert", scratch_.path("cert.pem"), "--tls-key",
                     scratch_.path("key.pem"), "--smtps"});
  auto topics = chargify_topics(unique_name("chg") + ".", true);
  write_attachment(scratch_, "guide.pdf");
  auto publisher = test_publisher();
  Signup s = signup_for("smtps", 11);
  publish_signup(*publisher, topics.input(), s);
  ASSERT_TRUE(publisher->flush(30s).ok());
  std::string url = smtp.smtp_url();
  url.replace(0, std::string("smtp://").size(), "smtps://");
  ChargifyWorkerProcess worker(scratch_.path(), catalog_yaml(scratch_.path("guide.pdf")), topics,
                               smtp, {{"SMTP_URL", url}, {"SMTP_CA_FILE", scratch_.path("cert.pem")}});
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == 1; }, 60s))
      << worker.log();
  auto recorded = smtp.messages();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_TRUE(recorded[0].tls);
  EXPECT_EQ(worker.outcome_sample("sent"), 1);
}

// SPEC §5: a stopping worker exits 0 within 10 s. An SMTP exchange stuck on a server that
// never answers would otherwise hold it for SMTP_TIMEOUT_S (30 s by default); it is abandoned
// instead, and the record stays uncommitted for whoever owns the partition next.
TEST_F(ChargifyWorkerSystem, SigtermDuringAHungSmtpExchangeExitsWithinTenSeconds) {
  [[maybe_unused]] auto [smtp, ingestd, topics] = start_edge();
  HungSmtpServer hung;
  ChargifyWorkerProcess worker(scratch_.path(), yaml_, topics, smtp, {{"SMTP_URL", hung.url()}});
  ASSERT_EQ(post(signup_for("hung", 1)), 200);
  ASSERT_TRUE(eventually([&] { return hung.waiting() >= 1; }, 60s)) << worker.log();

  const auto signalled = std::chrono::steady_clock::now();
  worker.process().signal(SIGTERM);
  EXPECT_EQ(worker.process().wait(10s), 0) << "not stopped within 10 s\n" << worker.log();
  const auto took = std::chrono::steady_clock::now() - signalled;
  EXPECT_LT(took, 10s);
  EXPECT_NE(worker.log().find("smtp: abandoned because the worker is stopping"),
            std::string::npos)
      << worker.log();
  EXPECT_EQ(committed(), 0) << "the abandoned record must be handled again";
  std::cout << "stopped in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms with an SMTP exchange hung\n";
}

TEST_F(ChargifyWorkerSystem, BadCatalogStopsStartupListingEveryProblem) {
  SmtpRecorder smtp;
  const std::string yaml =
      "chargify:\n  products:\n    ebook:\n      name: E\n      subject: \"Hi {{frist_name}}\"\n"
      "      body: b\n      attachment: /nonexistent/guide.pdf\n";
  std::ofstream(scratch_.path("bad.yaml")) << yaml;
  auto r = run_process({CHARGIFY_WORKER_PATH, "--config", scratch_.path("bad.yaml")},
                       {{"KAFKA_BROKERS", test_brokers()}, {"SMTP_URL", smtp.smtp_url()},
                        {"SMTP_FROM", kShopFrom}, {"WORKER_METRICS_LISTEN", "127.0.0.1:0"}},
                       30s);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("chargify.products.ebook.subject: unknown placeholder {{frist_name}}"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("chargify.products.ebook.attachment: cannot read /nonexistent/guide.pdf"),
            std::string::npos)
      << r.err;
  // Only the problems: no startup line for a catalog that will never be used.
  EXPECT_EQ((r.out + r.err).find("catalog products="), std::string::npos) << r.out << r.err;
}

// ---- crashes and scale --------------------------------------------------------------------

// Who got what: recipient → the Message-IDs of the e-mails they received.
std::map<std::string, std::vector<std::string>> mails_by_recipient(const SmtpRecorder& smtp) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& m : smtp.parsed()) {
    EXPECT_TRUE(m.defects.empty()) << m.file;
    EXPECT_EQ(m.to_addresses.size(), 1u) << m.file;
    if (!m.to_addresses.empty()) out[m.to_addresses[0]].push_back(m.message_id);
  }
  return out;
}

TEST_F(ChargifyWorkerSystem, KillNineDuringABatchEveryCustomerGetsTheProduct) {
  SmtpRecorder smtp;
  auto topics = chargify_topics(unique_name("chg") + ".", true);
  write_attachment(scratch_, "guide.pdf");
  const std::string yaml = catalog_yaml(scratch_.path("guide.pdf"));
  constexpr int kSignups = 200;
  auto publisher = test_publisher();
  std::vector<Signup> signups;
  for (int i = 0; i < kSignups; ++i) {
    signups.push_back(signup_for("kill", i));
    publish_signup(*publisher, topics.input(), signups.back());
  }
  ASSERT_TRUE(publisher->flush(30s).ok());

  // Kill -9 at two random points of the batch, each time starting a fresh process.
  std::mt19937 rng(std::random_device{}());
  std::vector<std::size_t> kill_at = {std::uniform_int_distribution<std::size_t>(10, 70)(rng),
                                      std::uniform_int_distribution<std::size_t>(90, 150)(rng)};
  auto worker = std::make_unique<ChargifyWorkerProcess>(scratch_.path(), yaml, topics, smtp);
  int kills = 0;
  for (auto threshold : kill_at) {
    ASSERT_TRUE(eventually([&] { return smtp.count() >= threshold; }, 60s))
        << "stalled before " << threshold << " e-mails:\n" << worker->log();
    worker->kill_hard();
    ++kills;
    worker = std::make_unique<ChargifyWorkerProcess>(scratch_.path(), yaml, topics, smtp);
  }
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == kSignups; },
                         90s))
      << worker->log();

  auto got = mails_by_recipient(smtp);
  int duplicates = 0;
  for (const auto& s : signups) {
    auto found = got.find(s.email);  // find, not []: the size check below must see only mail
    ASSERT_TRUE(found != got.end()) << s.email << " never got the product";
    const auto& ids = found->second;
    if (ids.size() > 1) {
      // Only inside the documented window: the same message again, with its Message-ID.
      duplicates += static_cast<int>(ids.size()) - 1;
      EXPECT_TRUE(std::all_of(ids.begin(), ids.end(), [&](auto& id) { return id == ids[0]; }))
          << s.email << " got different messages";
    }
  }
  EXPECT_EQ(got.size(), static_cast<std::size_t>(kSignups));
  // One record is in flight at a time, so each crash can leave at most one unrecorded send.
  EXPECT_LE(duplicates, kills);
  RecordProperty("kills", kills);
  RecordProperty("duplicates", duplicates);
  std::cout << "[ chargify ] kill -9 at " << kill_at[0] << " and " << kill_at[1] << " e-mails: "
            << smtp.count() << " e-mails for " << kSignups << " signups, " << duplicates
            << " duplicate(s) inside the crash window\n";
  EXPECT_EQ(worker->stop(), 0);
}

TEST_F(ChargifyWorkerSystem, TwoProcessesSplit500SignupsAndFulfilEachOnce) {
  SmtpRecorder smtp;
  auto topics = chargify_topics(unique_name("chg") + ".", true);
  write_attachment(scratch_, "guide.pdf");
  const std::string yaml = catalog_yaml(scratch_.path("guide.pdf"));
  ChargifyWorkerProcess a(scratch_.path(), yaml, topics, smtp);
  ChargifyWorkerProcess b(scratch_.path(), yaml, topics, smtp);
  const std::string assigned = "worker_assigned_partitions{worker=\"chargify\"}";
  ASSERT_TRUE(eventually([&] { return a.metric(assigned) + b.metric(assigned) == 3 &&
                                      a.metric(assigned) > 0 && b.metric(assigned) > 0; },
                         60s))
      << a.log() << b.log();

  constexpr int kSignups = 500;
  auto publisher = test_publisher();
  std::vector<Signup> signups;
  for (int i = 0; i < kSignups; ++i) {
    signups.push_back(signup_for("pair", i));
    publish_signup(*publisher, topics.input(), signups.back());
  }
  ASSERT_TRUE(publisher->flush(30s).ok());
  ASSERT_TRUE(eventually([&] { return committed_sum(topics.group, topics.input()) == kSignups; },
                         120s))
      << a.log() << b.log();

  auto recorded = smtp.messages();
  EXPECT_EQ(recorded.size(), static_cast<std::size_t>(kSignups));
  std::map<std::string, int> per_recipient;
  for (const auto& m : recorded) {
    for (const auto& r : m.rcpt_to) ++per_recipient[r];
  }
  for (const auto& s : signups) EXPECT_EQ(per_recipient[s.email], 1) << s.email;
  const double sent_a = a.outcome_sample("sent").value();  // absent: bad_optional_access
  const double sent_b = b.outcome_sample("sent").value();
  EXPECT_GT(sent_a, 0);
  EXPECT_GT(sent_b, 0);
  EXPECT_EQ(sent_a + sent_b, kSignups);
  std::cout << "[ chargify ] split: " << sent_a << " + " << sent_b << "\n";
}

}  // namespace
}  // namespace wi::testing
