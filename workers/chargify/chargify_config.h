#pragma once
// chargify-worker's settings (SPEC §5 "chargify-worker"): YAML `chargify:` plus the
// environment (the environment wins).
//
//   chargify:
//     source: chargify                   # CHARGIFY_SOURCE: consumes webhooks.<source>
//     ledger_topic: chargify.fulfilments # CHARGIFY_LEDGER_TOPIC: the compacted ledger
//     download_link_ttl_s: 604800        # DOWNLOAD_LINK_TTL_S: how long a link works
//     smtp_timeout_s: 30                 # SMTP_TIMEOUT_S: one whole SMTP exchange
//     products:
//       ebook-basic:                     # the Chargify product handle
//         name: The Basic E-Book         # {{product_name}}
//         subject: "Your copy of {{product_name}}"
//         body: |
//           Hello {{first_name}}, ... {{download_url}}
//         attachment: /srv/products/basic.pdf        # optional, read at send time
//         download_url: "https://files.example.com/d/{{token}}"   # optional
//
// Environment only: SMTP_URL (smtp://host:port, STARTTLS when offered, or smtps://),
// SMTP_FROM (a mailbox, "Shop <shop@example.com>"), SMTP_USERNAME, SMTP_CA_FILE (a PEM CA
// bundle for a server whose certificate the system CAs do not cover), and the secrets
// SMTP_PASSWORD and DOWNLOAD_LINK_SECRET (or their _FILE forms).
//
// Startup checks (every problem listed at once, exit 2): an unknown placeholder or an unclosed
// `{{`, an attachment that cannot be read, {{download_url}} in a product without a
// download_url, a download_url without DOWNLOAD_LINK_SECRET, a bad SMTP_URL or SMTP_FROM.

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/config.h"
#include "common/secret.h"
#include "workers/chargify/mail_template.h"

namespace wi::chargify {

// Placeholders of the subject and body, and of the download_url template.
const std::set<std::string>& mail_placeholders();
const std::set<std::string>& url_placeholders();

struct Product {
  std::string handle;
  std::string name;
  MailTemplate subject;
  MailTemplate body;
  std::optional<MailTemplate> download_url;
  std::optional<std::string> attachment;  // absolute or relative path of a readable file
};

struct ChargifyConfig {
  std::string source = "chargify";
  std::string ledger_topic = "chargify.fulfilments";
  std::map<std::string, Product> products;  // by handle
  std::string smtp_url;
  std::string smtp_from;     // as configured: the From header
  std::string from_address;  // its address: the envelope sender and the Message-ID domain
  std::optional<std::string> smtp_username;
  std::optional<Secret> smtp_password;
  std::optional<std::string> smtp_ca_file;  // SMTP_CA_FILE: CA bundle for the server's certificate
  std::chrono::seconds smtp_timeout{30};
  std::optional<Secret> download_link_secret;
  std::chrono::seconds download_link_ttl{7 * 24 * 3600};
};

// Reads and checks every setting; problems go to the loader (Loader::finish reports them).
ChargifyConfig load_chargify_config(config::Loader& loader);

}  // namespace wi::chargify
