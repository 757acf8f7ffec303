#pragma once
// CurlSmtpMailer: Mailer over SMTP with libcurl (with CurlHttpClient, the only code that
// includes curl).
//
// - `smtp://host[:port]`: plain SMTP, upgraded with STARTTLS whenever the server offers it;
//   `smtps://host[:port]`: TLS from the first byte. Certificates are always verified (system CAs, or
//   SmtpOptions::ca_file); a failed verification is a retryable error, never a plain-text
//   fallback.
// - Optional AUTH with a username and password (use smtps://, or a server that offers
//   STARTTLS, so that they do not cross the network in clear text).
// - One connection per message: simple and thread-safe; a worker sends one message at a time.

#include <chrono>
#include <optional>
#include <string>

#include "common/mailer.h"
#include "common/secret.h"

namespace wi::mail {

struct SmtpOptions {
  std::string url;  // smtp://host:port or smtps://host:port
  std::optional<std::string> username;
  std::optional<Secret> password;
  std::optional<std::string> ca_file;  // PEM CA bundle instead of the system's (private CAs)
  std::chrono::milliseconds timeout{30000};          // the whole exchange
  std::chrono::milliseconds connect_timeout{10000};
};

class CurlSmtpMailer final : public Mailer {
 public:
  explicit CurlSmtpMailer(SmtpOptions options);
  SendResult send(const OutgoingMail& mail, const Cancelled& cancelled) override;

 private:
  SmtpOptions options_;
};

// True for the URL forms CurlSmtpMailer accepts (smtp:// or smtps:// with a host).
bool is_smtp_url(const std::string& url);

}  // namespace wi::mail
