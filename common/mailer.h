#pragma once
// Mailer: hands one finished e-mail to a mail server (the SMTP adapter is CurlSmtpMailer in
// common/curl_smtp_mailer.h; unit tests use tests/fakes/fake_mailer.h).
//
// Contract: send() blocks until the server accepted the message (its final 2xx reply after
// the data), rejected it, or the connection failed or timed out. Errors say what the caller
// should do with `retryable`: a 4xx reply or a transport failure may pass (retry), a 5xx reply
// will not (dead-letter). `smtp_code` is the server's reply code when it answered with a
// rejection (0 otherwise): with a reply the server definitely did not take the message; with
// none it may have, unless no connection was made (SendError::not_delivered). Nothing here logs addresses or content.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace wi::mail {

struct OutgoingMail {
  std::string envelope_from;            // MAIL FROM address, e.g. "shop@example.com"
  std::vector<std::string> recipients;  // RCPT TO addresses (validated by the caller)
  std::string message;                  // the RFC 5322 message, CRLF line endings
};

struct SendError {
  Error error;
  int smtp_code = 0;  // the rejecting reply's code, 0 when the server gave none
  // True when the message certainly did not reach the server: a rejecting reply, or no
  // connection at all (refused, name not resolved). False when the line died mid-exchange.
  bool not_delivered = false;
};

// Like Result<void>, plus the SMTP reply code of a rejection.
class [[nodiscard]] SendResult {
 public:
  SendResult() = default;
  SendResult(SendError failure) : failure_(std::move(failure)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return failure_.error; }
  int smtp_code() const { return failure_.smtp_code; }
  // True when the message was certainly not accepted (see SendError::not_delivered).
  bool definitely_not_sent() const { return !ok_ && failure_.not_delivered; }

 private:
  SendError failure_;
  bool ok_ = true;
};

// Polled while a send is in progress; true abandons it (a worker stopping: SPEC §5 gives it
// 10 s to exit, and an SMTP exchange may wait out a 30 s timeout). An abandoned send fails
// retryable, like a dropped connection: the server may or may not have the message.
using Cancelled = std::function<bool()>;

// Thread-safe in the real adapter; a worker calls it from its one consumer thread.
class Mailer {
 public:
  virtual ~Mailer() = default;
  virtual SendResult send(const OutgoingMail& mail, const Cancelled& cancelled) = 0;
};

}  // namespace wi::mail
