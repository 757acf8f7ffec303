#pragma once
// A real ingestd process against the real test broker, with its own topic prefix, port and
// secrets. Shared by the ingestd system tests.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/codec.h"
#include "common/crypto.h"
#include "tests/support/kafka_env.h"
#include "tests/support/process.h"
#include "tests/support/raw_http.h"

namespace wi::testing {

inline const std::string kGithubSecret = "It's a Secret to Everybody";
inline const std::string kDropboxSecret = "the_secret_dropbox";
inline const std::string kChargifySecret = "chargify-shared-key-123";

inline std::string github_signature(const std::string& body, const std::string& secret = kGithubSecret) {
  return "sha256=" + codec::hex_encode(crypto::hmac_sha256(secret, body));
}
inline std::string hex_hmac(const std::string& secret, const std::string& body) {
  return codec::hex_encode(crypto::hmac_sha256(secret, body));
}

class IngestdProcess {
 public:
  // Starts ingestd with the three built-in sources and waits until /healthz answers.
  // `create_topics`: create webhooks.<prefix><source> first (false to test a broker without).
  // `extra_sources`: sources configured in YAML whose topics must exist too.
  explicit IngestdProcess(std::map<std::string, std::string> extra_env = {},
                          bool create_topics_first = true,
                          const std::vector<std::string>& extra_sources = {}, bool tls = false)
      : prefix_(unique_name("wh") + "."), port_(free_port()) {
    if (create_topics_first) {
      std::vector<std::string> topics = {topic("github"), topic("dropbox"), topic("chargify")};
      for (const auto& s : extra_sources) topics.push_back(topic(s));
      create_topics(topics);
    }
    std::map<std::string, std::string> env = {
        {"KAFKA_BROKERS", test_brokers()},
        {"INGEST_LISTEN", "127.0.0.1:" + std::to_string(port_)},
        {"TOPIC_PREFIX", prefix_},
        {"GITHUB_WEBHOOK_SECRET", kGithubSecret},
        {"DROPBOX_APP_SECRET", kDropboxSecret},
        {"CHARGIFY_SHARED_KEY", kChargifySecret},
        {"LOG_LEVEL", "info"},
    };
    for (auto& [k, v] : extra_env) env[k] = v;
    process_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{INGESTD_PATH}, env,
                                                   dir_.path() + "/ingestd.log");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!process_->running()) break;
      if (tls) {
        auto r = run_process({"/usr/bin/curl", "-sk", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}",
                              "https://127.0.0.1:" + std::to_string(port_) + "/healthz"});
        if (r.out == "200") return;
      } else {
        try {
          auto r = http_request(port_, "GET", "/healthz");
          if (r && r->status == 200) return;
        } catch (const std::exception&) {
          // not listening yet
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "ingestd did not become healthy; its log:\n" << process_->log();
    throw std::runtime_error("ingestd did not start");
  }

  std::string topic(const std::string& source) const { return prefix_ + source; }
  // A directory that lives as long as the process (configs, certificates).
  static TempDir& scratch() {
    static TempDir dir;
    return dir;
  }
  std::uint16_t port() const { return port_; }
  BackgroundProcess& process() { return *process_; }
  std::string log() const { return process_->log(); }

  std::optional<HttpResponse> post(const std::string& source, const std::vector<std::string>& headers,
                                   const std::string& body) {
    return http_request(port_, "POST", "/webhooks/" + source, headers, body);
  }

  // A correctly signed GitHub JSON delivery.
  std::optional<HttpResponse> post_github(const std::string& body, const std::string& delivery,
                                          const std::string& event = "push") {
    return post("github",
                {"Content-Type: application/json", "X-GitHub-Event: " + event,
                 "X-GitHub-Delivery: " + delivery, "X-Hub-Signature-256: " + github_signature(body),
                 "User-Agent: GitHub-Hookshot/test", "X-GitHub-Hook-ID: 42"},
                body);
  }

 private:
  TempDir dir_;
  std::string prefix_;
  std::uint16_t port_;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace wi::testing
