#pragma once
// chargify-worker as a real process: a real ingestd (or records published as ingestd does),
// the real broker, and a real SMTP server (tests/standins/smtp_recorder.py on Debian's
// python3-aiosmtpd) whose messages are read back with Python's `email` package
// (tests/system/chargify_mail_reader.py), never matched as text.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/codec.h"
#include "common/json_text.h"
#include "common/kafka/rdkafka_consumer.h"
#include "common/kafka/rdkafka_publisher.h"
#include "tests/support/kafka_env.h"
#include "tests/support/process.h"
#include "tests/support/raw_http.h"
#include "tests/support/temp_dir.h"
#include "tests/system/ingestd_fixture.h"
#include "tests/system/spool_support.h"
#include "tests/system/test_worker_fixture.h"

namespace wi::testing {

inline const std::string kLinkSecret = "download-link-secret-for-tests";
inline const std::string kShopFrom = "Demo Shop <shop@example.com>";

// ---- the SMTP server ------------------------------------------------------------------------

struct RecordedMail {
  std::string id;
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string received_at;
  std::int64_t size = 0;
  bool tls = false;  // the client used STARTTLS
};

// What Python's email package reads in one stored message.
struct ParsedMail {
  std::string file, from, to, subject, message_id, date, mime_version, content_type, text,
      text_charset;
  std::vector<std::string> to_addresses;
  bool date_ok = false;
  struct File {
    std::string filename, content_type, sha256;
    std::int64_t size = 0;
  };
  std::vector<File> attachments;
  std::vector<std::string> defects;
};

class SmtpRecorder {
 public:
  // `extra_args`: e.g. {"--tls-cert", cert, "--tls-key", key} to offer STARTTLS.
  explicit SmtpRecorder(const std::vector<std::string>& extra_args = {}) {
    mail_dir_ = dir_.path("mail");
    std::vector<std::string> argv = {"/usr/bin/python3", SMTP_RECORDER, "--dir", mail_dir_};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<BackgroundProcess>(argv, std::map<std::string, std::string>{},
                                                   dir_.path("recorder.log"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline && process_->running()) {
      std::istringstream log(process_->log());
      for (std::string line; std::getline(log, line);) {
        if (line.rfind("{\"smtp_port\"", 0) != 0) continue;
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        if (parser.parse(line).get(doc)) continue;
        smtp_port_ = static_cast<std::uint16_t>(int64_t(doc["smtp_port"]));
        http_port_ = static_cast<std::uint16_t>(int64_t(doc["http_port"]));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "the SMTP recorder did not start; its log:\n" << process_->log();
    throw std::runtime_error("smtp recorder did not start");
  }
  ~SmtpRecorder() {
    if (process_->running()) {
      process_->signal(SIGTERM);
      process_->wait(std::chrono::seconds(10));
    }
  }

  std::string smtp_url() const { return "smtp://127.0.0.1:" + std::to_string(smtp_port_); }
  std::uint16_t http_port() const { return http_port_; }
  BackgroundProcess& process() { return *process_; }
  const std::string& mail_dir() const { return mail_dir_; }

  // GET /messages; fails the test when the recorder does not answer.
  std::vector<RecordedMail> messages() const {
    auto r = http_request(http_port_, "GET", "/messages");
    if (!r || r->status != 200) {
      ADD_FAILURE() << "GET /messages failed";
      return {};
    }
    std::vector<RecordedMail> out;
    simdjson::dom::parser parser;
    simdjson::dom::array list;
    if (parser.parse(r->body).get(list)) {
      ADD_FAILURE() << "GET /messages is not a JSON array: " << r->body;
      return {};
    }
    for (auto m : list) {
      RecordedMail mail;
      mail.id = std::string(std::string_view(m["id"]));
      mail.mail_from = std::string(std::string_view(m["mail_from"]));
      for (auto rcpt : m["rcpt_to"]) mail.rcpt_to.emplace_back(std::string_view(rcpt));
      mail.received_at = std::string(std::string_view(m["received_at"]));
      mail.size = int64_t(m["size"]);
      mail.tls = bool(m["tls"]);
      out.push_back(std::move(mail));
    }
    return out;
  }
  std::size_t count() const { return messages().size(); }

  // POST /faults with a JSON body, e.g. {"rcpt_code":550,"count":1} or {"down":true}.
  void fault(const std::string& json) {
    auto r = http_request(http_port_, "POST", "/faults", {"Content-Type: application/json"}, json);
    ASSERT_TRUE(r && r->status == 200) << "POST /faults " << json;
  }

  // Every stored message, read by Python's email package, in arrival order.
  std::vector<ParsedMail> parsed() const {
    std::vector<std::string> argv = {"/usr/bin/python3", CHARGIFY_MAIL_READER};
    for (const auto& m : messages()) argv.push_back(mail_dir_ + "/" + m.id + ".eml");
    if (argv.size() == 2) return {};
    auto r = run_process(argv, {}, std::chrono::seconds(60));
    if (r.exit_code != 0) {
      ADD_FAILURE() << "mail reader failed: " << r.err;
      return {};
    }
    return parse_mails(r.out);
  }

 private:
  static std::vector<ParsedMail> parse_mails(const std::string& json) {
    std::vector<ParsedMail> out;
    simdjson::dom::parser parser;
    simdjson::dom::array list;
    if (parser.parse(json).get(list)) {
      ADD_FAILURE() << "mail reader output is not JSON";
      return out;
    }
    auto text = [](simdjson::dom::element e, const char* name) {
      return std::string(std::string_view(e[name]));
    };
    for (auto m : list) {
      ParsedMail p;
      p.file = text(m, "file");
      p.from = text(m, "from");
      p.to = text(m, "to");
      p.subject = text(m, "subject");
      p.message_id = text(m, "message_id");
      p.date = text(m, "date");
      p.mime_version = text(m, "mime_version");
      p.content_type = text(m, "content_type");
      p.text = text(m, "text");
      p.text_charset = text(m, "text_charset");
      p.date_ok = bool(m["date_ok"]);
      for (auto a : m["to_addresses"]) p.to_addresses.emplace_back(std::string_view(a));
      for (auto d : m["defects"]) p.defects.emplace_back(std::string_view(d));
      for (auto a : m["attachments"]) {
        p.attachments.push_back({text(a, "filename"), text(a, "content_type"), text(a, "sha256"),
                                 int64_t(a["size"])});
      }
      out.push_back(std::move(p));
    }
    return out;
  }

  TempDir dir_{"wi-smtp"};
  std::string mail_dir_;
  std::unique_ptr<BackgroundProcess> process_;
  std::uint16_t smtp_port_ = 0;
  std::uint16_t http_port_ = 0;
};

// ---- signups ------------------------------------------------------------------------------

struct Signup {
  std::string webhook_id;
  std::string subscription;
  std::string event = "signup_success";
  std::string handle = "ebook";
  std::string email;
  std::string first_name = "Ada";
  std::string last_name = "Lovelace";
};

// A form value as Chargify writes it (a space as '+').
inline std::string form_escape(const std::string& s) {
  return codec::percent_encode(s, true);
}

// A Chargify signup body as Chargify sends it (brackets raw, some percent-encoded).
inline std::string signup_body(const Signup& s) {
  return "id=" + s.webhook_id + "&event=" + s.event +
         "&payload[subscription][id]=" + s.subscription +
         "&payload%5Bsubscription%5D%5Bstate%5D=active" +
         "&payload[subscription][customer][email]=" + form_escape(s.email) +
         "&payload[subscription][customer][first_name]=" + form_escape(s.first_name) +
         "&payload[subscription][customer][last_name]=" + form_escape(s.last_name) +
         "&payload[subscription][product][handle]=" + s.handle +
         "&payload[subscription][product][name]=Name+From+Chargify" +
         "&payload[site][subdomain]=test-shop&payload[event_id]=" + s.webhook_id;
}

// Signs and POSTs the body to ingestd like Chargify does; the HTTP status.
inline int post_chargify(IngestdProcess& ingestd, const std::string& body,
                         const std::string& webhook_id) {
  auto r = ingestd.post("chargify",
                        {"Content-Type: application/x-www-form-urlencoded",
                         "X-Chargify-Webhook-Signature-Hmac-Sha-256: " +
                             hex_hmac(kChargifySecret, body),
                         "X-Chargify-Webhook-Id: " + webhook_id},
                        body);
  return r ? r->status : -1;
}

// Publishes the record ingestd would publish for `s` (for bulk tests that do not need the edge).
inline void publish_signup(kafka::Publisher& publisher, const std::string& topic, const Signup& s) {
  kafka::OutgoingRecord record;
  record.topic = topic;
  record.key = s.subscription;
  record.value = signup_body(s);
  record.headers = {{"source", "chargify"},
                    {"event-id", s.webhook_id},
                    {"event-type", s.event},
                    {"received-at", format_rfc3339_ms(std::chrono::system_clock::now())},
                    {"content-type", "application/x-www-form-urlencoded"}};
  publisher.publish(std::move(record), [](Result<kafka::Delivery> d) {
    if (!d) ADD_FAILURE() << "publish: " << d.error().message;
  });
}

// ---- the worker -----------------------------------------------------------------------------

// Topics of one test: ingestd's prefix, the ledger and the dead letters, all 3 partitions.
struct ChargifyTopics {
  std::string prefix;  // "wh-...-." as IngestdProcess uses, or our own
  std::string input() const { return prefix + "chargify"; }
  std::string dlq() const { return input() + ".dlq"; }
  std::string ledger;
  std::string group;
};

inline ChargifyTopics chargify_topics(const std::string& prefix, bool create_input) {
  ChargifyTopics t;
  t.prefix = prefix;
  t.ledger = unique_name("chargify-ledger");
  t.group = unique_name("chargify-group");
  std::vector<std::string> names = {t.dlq(), t.ledger};
  if (create_input) names.push_back(t.input());
  create_topics(names, 3);
  // Wait until every partition has a leader: the worker's state restore does not retry a
  // NOT_LEADER answer from a topic created a moment ago (it exits 1).
  for (const auto& name : names) EXPECT_EQ(record_count(name), 0) << name;
  return t;
}

// A catalog with an attachment and a download link (ebook) and a plain product (poster).
inline std::string catalog_yaml(const std::string& attachment) {
  return "chargify:\n"
         "  products:\n"
         "    ebook:\n"
         "      name: \"The Été Book\"\n"
         "      subject: \"Your copy of {{product_name}}, {{first_name}}\"\n"
         "      body: \"Hello {{first_name}} {{last_name}},\\nsubscription {{subscription_id}} "
         "for {{email}}.\\nDownload: {{download_url}}\\n\"\n"
         "      attachment: " + json::quote(attachment) + "\n"
         "      download_url: \"https://files.example.com/d/{{token}}\"\n"
         "    poster:\n"
         "      name: Poster\n"
         "      subject: Your poster\n"
         "      body: \"Thanks {{first_name}}\"\n"
         // One killed process must not hold its partitions for long.
         "kafka:\n"
         "  properties:\n"
         "    session.timeout.ms: \"6000\"\n"
         "    heartbeat.interval.ms: \"500\"\n";
}

// An SMTP server that hangs: it greets, takes the client's first command and never answers
// (a relay stuck behind a full disk, say). One connection at a time, until destroyed.
class HungSmtpServer {
 public:
  HungSmtpServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("HungSmtpServer: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HungSmtpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
    for (int c : clients_) ::close(c);
  }
  HungSmtpServer(const HungSmtpServer&) = delete;
  HungSmtpServer& operator=(const HungSmtpServer&) = delete;

  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  // Clients whose first command arrived: an exchange is under way and waiting for a reply.
  int waiting() const { return waiting_.load(); }

 private:
  void serve() {
    while (!stop_) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      clients_.push_back(c);
      static constexpr char kGreeting[] = "220 hung.example ESMTP\r\n";
      if (::send(c, kGreeting, sizeof kGreeting - 1, MSG_NOSIGNAL) < 0) continue;
      char buf[512];
      if (::recv(c, buf, sizeof buf, 0) > 0) ++waiting_;  // EHLO, never answered
    }
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> waiting_{0};
  std::vector<int> clients_;
  std::thread thread_;
};

class ChargifyWorkerProcess {
 public:
  ChargifyWorkerProcess(const std::string& scratch, const std::string& yaml,
                        const ChargifyTopics& topics, const SmtpRecorder& smtp,
                        std::map<std::string, std::string> env = {})
      : metrics_port_(free_port()) {
    std::string tag = std::to_string(metrics_port_);
    config_path_ = scratch + "/chargify-" + tag + ".yaml";
    std::ofstream(config_path_) << yaml;
    std::map<std::string, std::string> all = {
        {"KAFKA_BROKERS", test_brokers()},
        {"TOPIC_PREFIX", topics.prefix},
        {"KAFKA_GROUP", topics.group},
        {"CHARGIFY_LEDGER_TOPIC", topics.ledger},
        {"SMTP_URL", smtp.smtp_url()},
        {"SMTP_FROM", kShopFrom},
        {"DOWNLOAD_LINK_SECRET", kLinkSecret},
        {"WORKER_METRICS_LISTEN", "127.0.0.1:" + tag},
        {"WORKER_BACKOFF_INITIAL_MS", "100"},
        {"WORKER_BACKOFF_MAX_MS", "500"},
        {"WORKER_MAX_ATTEMPTS", "1000"},
        {"LOG_LEVEL", "info"},
    };
    for (auto& [k, v] : env) all[k] = v;
    process_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{CHARGIFY_WORKER_PATH, "--config", config_path_}, all,
        scratch + "/chargify-worker-" + tag + ".log");
  }

  BackgroundProcess& process() { return *process_; }
  std::string log() const { return process_->log(); }
  std::uint16_t metrics_port() const { return metrics_port_; }
  // For polling (eventually): a sample such as chargify_fulfilments_total{outcome="sent"}; 0
  // when absent or unreachable (a process that is not up yet has done nothing).
  double metric(const std::string& sample) const {
    try {
      return spool_support::metric(metrics_port_, sample).value_or(0);
    } catch (const std::exception&) {
      return 0;
    }
  }
  double outcome(const std::string& name) const { return metric(outcome_series(name)); }

  // For assertions: the sample as the running worker serves it, nullopt when it has no such
  // series, so EXPECT_EQ(sample(x), 0) holds only for a series that exists and is 0. Throws
  // when /metrics does not answer 200 (the test fails rather than reading a 0).
  std::optional<double> sample(const std::string& series) const {
    auto response = http_request(metrics_port_, "GET", "/metrics");
    if (!response || response->status != 200) {
      throw std::runtime_error("chargify-worker's /metrics did not answer; its log:\n" + log());
    }
    return spool_support::sample_of(response->body, series);
  }
  std::optional<double> outcome_sample(const std::string& name) const {
    return sample(outcome_series(name));
  }
  int stop() {
    process_->signal(SIGTERM);
    return process_->wait(std::chrono::seconds(15));
  }
  void kill_hard() {
    process_->signal(SIGKILL);
    process_->wait(std::chrono::seconds(10));
  }

 private:
  static std::string outcome_series(const std::string& name) {
    return "chargify_fulfilments_total{outcome=\"" + name + "\"}";
  }

  std::uint16_t metrics_port_;
  std::string config_path_;
  std::unique_ptr<BackgroundProcess> process_;
};

// Sum of the group's committed offsets on every partition of `topic`.
inline std::int64_t committed_sum(const std::string& group, const std::string& topic) {
  std::int64_t total = 0;
  for (const auto& [p, offset] : committed_offsets(group, topic, 3)) {
    total += std::max<std::int64_t>(offset, 0);
  }
  return total;
}

// The text after `prefix` up to the end of its line.
inline std::string line_after(const std::string& text, const std::string& prefix) {
  auto at = text.find(prefix);
  if (at == std::string::npos) return "";
  at += prefix.size();
  auto end = text.find_first_of("\r\n", at);
  return text.substr(at, end == std::string::npos ? end : end - at);
}

}  // namespace wi::testing
