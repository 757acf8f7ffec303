#include "common/curl_smtp_mailer.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <vector>

namespace wi::mail {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Exchange {
  const std::string* message = nullptr;
  std::size_t sent = 0;
  std::vector<std::string> replies;  // every server reply line, CR/LF stripped
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::size_t n = std::min(size * count, exchange->message->size() - exchange->sent);
  std::copy_n(exchange->message->data() + exchange->sent, n, buffer);
  exchange->sent += n;
  return n;
}

// For SMTP, libcurl hands every server reply line to the header callback.
std::size_t on_reply(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::size_t n = size * count;
  std::string line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (exchange->replies.size() < 200) exchange->replies.push_back(std::move(line));
  return n;
}

// Non-zero aborts the transfer: the caller asked to abandon it (see mail::Cancelled).
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancelled = static_cast<const Cancelled*>(user);
  return *cancelled && (*cancelled)() ? 1 : 0;
}

int reply_code(const std::string& line) {
  if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
      !std::isdigit(static_cast<unsigned char>(line[1])) ||
      !std::isdigit(static_cast<unsigned char>(line[2]))) {
    return 0;
  }
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

// The server's text is the dead letter's reason: printable ASCII only, bounded.
std::string printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = ' ';
  }
  if (text.size() > 300) text.resize(300);
  return text;
}

// The last rejecting reply (4xx/5xx) the server sent, if any.
const std::string* last_rejection(const Exchange& exchange) {
  for (auto it = exchange.replies.rbegin(); it != exchange.replies.rend(); ++it) {
    if (reply_code(*it) >= 400) return &*it;
  }
  return nullptr;
}

SendError transport_error(CURLcode code, const char* detail) {
  std::string message = fmt::format("smtp: {}{}{}", curl_easy_strerror(code),
                                    detail && *detail ? ": " : "", detail ? detail : "");
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return {Error::invalid(std::move(message)), 0, true};
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return {Error::unavailable(std::move(message)), 0, true};
    case CURLE_ABORTED_BY_CALLBACK:
      // Mid-exchange, like a dropped line: the server may or may not have the message.
      return {Error::unavailable("smtp: abandoned because the worker is stopping"), 0};
    default:
      // Connection refused or dropped, DNS, TLS, timeouts: the server may be back soon, and
      // after the runtime's last attempt the record is dead-lettered with this reason anyway.
      return {Error::unavailable(std::move(message)), 0};
  }
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

bool is_smtp_url(const std::string& url) {
  for (std::string scheme : {"smtp://", "smtps://"}) {
    if (url.size() > scheme.size() && url.compare(0, scheme.size(), scheme) == 0 &&
        url[scheme.size()] != '/' && url[scheme.size()] != ':') {
      return true;
    }
  }
  return false;
}

CurlSmtpMailer::CurlSmtpMailer(SmtpOptions options) : options_(std::move(options)) {
  global_init();
}

SendResult CurlSmtpMailer::send(const OutgoingMail& mail, const Cancelled& cancelled) {
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) return SendError{Error::internal("smtp: cannot create a curl handle"), 0, true};
  CURL* c = easy.get();
  Exchange exchange;
  exchange.message = &mail.message;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_slist* list = nullptr;
  for (const auto& rcpt : mail.recipients) {
    if (curl_slist* next = curl_slist_append(list, ("<" + rcpt + ">").c_str())) list = next;
  }
  std::unique_ptr<curl_slist, SlistDeleter> recipients(list);
  const std::string from = "<" + mail.envelope_from + ">";

  curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // STARTTLS when the server offers it; smtps:// is TLS from the start whatever this says.
  curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(options_.connect_timeout, options_.timeout).count()));
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(mail.message.size()));
  curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(c, CURLOPT_READDATA, &exchange);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_reply);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &exchange);
  // curl calls this about once a second while waiting, and more often while data moves: a
  // non-zero return aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &cancelled);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (options_.ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file->c_str());
  if (options_.username) curl_easy_setopt(c, CURLOPT_USERNAME, options_.username->c_str());
  if (options_.password) {
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password->reveal().c_str());
  }

  CURLcode code = curl_easy_perform(c);
  if (code == CURLE_OK) return {};
  int smtp_code = 0;
  std::string text;
  if (const std::string* rejection = last_rejection(exchange)) {
    smtp_code = reply_code(*rejection);
    text = printable(*rejection);
  } else {
    long last = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &last);
    if (last >= 400 && last < 600) {
      smtp_code = static_cast<int>(last);
      text = std::to_string(last);
    }
  }
  if (smtp_code >= 500) {
    return SendError{{ErrorCode::kInvalidArgument, "smtp: rejected: " + text, false}, smtp_code,
                     true};
  }
  if (smtp_code >= 400) {
    return SendError{Error::unavailable("smtp: deferred: " + text), smtp_code, true};
  }
  return transport_error(code, errbuf);
}

}  // namespace wi::mail
