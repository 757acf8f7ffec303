// `ingestctl send <source> --file F`: signs F's bytes with the source's first secret, exactly
// as that provider would, POSTs them to ingestd and prints the status line and the body.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "common/clock.h"
#include "ctl/command.h"
#include "ctl/http_post.h"
#include "ctl/ingestd_target.h"
#include "ingest/sources/signer.h"

namespace wi::ctl {

namespace {

std::optional<std::string> read_file(const std::string& path) {
  if (path == "-") {
    std::ostringstream out;
    out << std::cin.rdbuf();
    return out.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return bytes;
}

class SendCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& parent) override {
    auto* cmd = parent.add_subcommand(
        "send",
        "Sign a file's bytes as the source's provider would and POST them to ingestd; prints "
        "the status line and the response body. Exit 0 on 2xx, 1 otherwise, 2 for usage or "
        "configuration problems (unknown or disabled source). Configuration and secrets are "
        "read exactly as ingestd reads them (--config/INGEST_CONFIG, then the environment).");
    cmd->add_option("source", source_, "Source name (the {source} in /webhooks/{source})")
        ->required();
    cmd->add_option("--file", file_, "Body to send, byte for byte ('-' for stdin)")->required();
    cmd->add_option("--event", event_,
                    "Event type where the kind sends it in a header (GitHub X-GitHub-Event, "
                    "default push; hmac type header)");
    cmd->add_option("--event-id", event_id_,
                    "Event id where the kind sends it in a header (GitHub X-GitHub-Delivery, "
                    "standard webhook-id, hmac id header); default: a random UUID");
    cmd->add_option("--url", url_,
                    "Where to POST (default http://127.0.0.1:<port of INGEST_LISTEN>/webhooks/"
                    "<source>); plain http only");
    cmd->add_option("--content-type", content_type_,
                    "Content-Type (default: the kind's own: form for chargify, else JSON)");
    cmd->add_option("--timeout", timeout_, "Give up after this long (e.g. 30s)")
        ->default_val("30s");
    return cmd;
  }

  int run(const GlobalFlags& flags) override {
    auto body = read_file(file_);
    if (!body) return usage("cannot read --file " + file_);
    auto timeout = parse_duration(timeout_);
    if (!timeout || timeout->count() <= 0) return usage("--timeout: expected e.g. 30s or 500ms");

    auto config = load_ingestd_config(flags);
    auto source = find_source(config, source_);
    if (!source) return usage(source.error().message);
    auto url = parse_http_url(url_.value_or(default_base_url(config) + "/webhooks/" + source_));
    if (!url) return usage(url.error().message);

    ingest::SignOptions options;
    options.event = event_;
    options.event_id = event_id_;
    options.content_type = content_type_;
    auto headers = ingest::sign_request((*source)->settings, *body, SystemClock().now(), options);
    if (!headers) return usage(headers.error().message);

    auto reply = http_post(*url, *headers, *body, *timeout);
    if (!reply) {
      std::cerr << "ingestctl: POST " << url->to_string() << ": " << reply.error().message << "\n";
      return kExitFailure;
    }
    std::cout << "HTTP/1.1 " << reply->status << (reply->reason.empty() ? "" : " ") << reply->reason
              << "\n"
              << reply->body;
    if (!reply->body.empty() && reply->body.back() != '\n') std::cout << "\n";
    std::cout << std::flush;
    return reply->status >= 200 && reply->status < 300 ? kExitOk : kExitFailure;
  }

 private:
  static int usage(const std::string& message) {
    std::cerr << "ingestctl send: " << message << "\n";
    return kExitUsage;
  }

  std::string source_;
  std::string file_;
  std::optional<std::string> event_;
  std::optional<std::string> event_id_;
  std::optional<std::string> url_;
  std::optional<std::string> content_type_;
  std::string timeout_ = "30s";
};

}  // namespace

std::unique_ptr<Command> make_send_command() {
  return std::make_unique<SendCommand>();
}

}  // namespace wi::ctl
