#pragma once
// FakeMailer: a Mailer with knobs. By default every message is accepted and kept in sent().
//   reject_next(n, 550, "5.1.1 no such user")  → the next n sends are refused with that reply
//                                               (4xx: retryable, 5xx: permanent), not kept
//   refuse_next(n)                             → the next n sends find no server (connection
//                                               refused: retryable, certainly not delivered)
//   drop_next(n)                               → the next n sends fail like a dropped
//                                               connection (retryable, no reply code); with
//                                               deliver_anyway the message is kept first, as
//                                               when the server took it and the line died
//   on_send                                    → runs before each send (e.g. to crash a test
//                                               "process" mid-send)
// attempts() counts every call. Thread-safe.

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/mailer.h"

namespace wi::fakes {

class FakeMailer final : public mail::Mailer {
 public:
  mail::SendResult send(const mail::OutgoingMail& mail, const mail::Cancelled&) override {
    std::function<void(const mail::OutgoingMail&)> hook;
    {
      std::lock_guard lock(mu_);
      hook = on_send;
    }
    if (hook) hook(mail);
    std::lock_guard lock(mu_);
    ++attempts_;
    if (reject_count_ > 0) {
      --reject_count_;
      const bool permanent = reject_code_ >= 500;
      std::string message = (permanent ? "smtp: rejected: " : "smtp: deferred: ") +
                            std::to_string(reject_code_) + " " + reject_text_;
      return mail::SendError{Error{permanent ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable,
                                   std::move(message), !permanent},
                             reject_code_, true};
    }
    if (refuse_count_ > 0) {
      --refuse_count_;
      return mail::SendError{Error::unavailable("smtp: Couldn't connect to server"), 0, true};
    }
    if (drop_count_ > 0) {
      --drop_count_;
      if (deliver_anyway_) sent_.push_back(mail);
      return mail::SendError{Error::unavailable("smtp: Failure when receiving data from the peer"),
                             0, false};
    }
    sent_.push_back(mail);
    return {};
  }

  void reject_next(int n, int code, std::string text) {
    std::lock_guard lock(mu_);
    reject_count_ = n;
    reject_code_ = code;
    reject_text_ = std::move(text);
  }
  void refuse_next(int n) {
    std::lock_guard lock(mu_);
    refuse_count_ = n;
  }
  void drop_next(int n, bool deliver_anyway = false) {
    std::lock_guard lock(mu_);
    drop_count_ = n;
    deliver_anyway_ = deliver_anyway;
  }
  std::vector<mail::OutgoingMail> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  int attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }

  std::function<void(const mail::OutgoingMail&)> on_send;

 private:
  mutable std::mutex mu_;
  std::vector<mail::OutgoingMail> sent_;
  int attempts_ = 0;
  int reject_count_ = 0;
  int reject_code_ = 0;
  std::string reject_text_;
  int refuse_count_ = 0;
  int drop_count_ = 0;
  bool deliver_anyway_ = false;
};

}  // namespace wi::fakes
