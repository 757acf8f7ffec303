#include "workers/chargify/chargify_config.h"

#include <fmt/format.h>

#include <fstream>

#include "common/curl_smtp_mailer.h"
#include "common/download_token.h"
#include "common/topics.h"
#include "workers/chargify/email_address.h"

namespace wi::chargify {

namespace {

config::Path product_path(const std::string& handle, const char* key = nullptr) {
  config::Path p = {"chargify", "products", handle};
  if (key) p.push_back(key);
  return p;
}

std::optional<MailTemplate> parse_template(config::Loader& loader, const config::Path& path,
                                           const std::string& text,
                                           const std::set<std::string>& allowed,
                                           MailTemplate::Escaping escaping) {
  auto t = MailTemplate::parse(text, allowed, escaping);
  if (!t) {
    loader.problem(fmt::format("{}: {}", config::to_string(path), t.error().message));
    return std::nullopt;
  }
  return std::move(*t);
}

bool readable_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  char byte;
  in.read(&byte, 1);
  return !in.bad();  // an empty file is readable (if odd)
}

Product load_product(config::Loader& loader, const std::string& handle) {
  Product p;
  p.handle = handle;
  const std::string where = config::to_string(product_path(handle));
  if (!token::is_claim_field(handle)) {
    loader.problem(fmt::format("{}: a product handle is letters, digits, '-', '_' or '.'", where));
  }
  p.name = loader.string(product_path(handle, "name"), "", "");
  if (p.name.empty()) loader.problem(where + ".name: required");
  auto subject = loader.string(product_path(handle, "subject"), "", "");
  if (subject.empty()) loader.problem(where + ".subject: required");
  auto body = loader.string(product_path(handle, "body"), "", "");
  if (body.empty()) loader.problem(where + ".body: required");
  if (auto t = parse_template(loader, product_path(handle, "subject"), subject,
                              mail_placeholders(), MailTemplate::Escaping::kText)) {
    p.subject = std::move(*t);
  }
  if (auto t = parse_template(loader, product_path(handle, "body"), body, mail_placeholders(),
                              MailTemplate::Escaping::kText)) {
    p.body = std::move(*t);
  }
  if (auto url = loader.optional_string(product_path(handle, "download_url"), "")) {
    if (url->rfind("https://", 0) != 0 && url->rfind("http://", 0) != 0) {
      loader.problem(fmt::format("{}.download_url: not an http(s) URL template", where));
    }
    p.download_url = parse_template(loader, product_path(handle, "download_url"), *url,
                                    url_placeholders(), MailTemplate::Escaping::kUrl);
  }
  if (!p.download_url && (p.subject.uses("download_url") || p.body.uses("download_url"))) {
    loader.problem(
        fmt::format("{}: uses {{{{download_url}}}} but has no download_url template", where));
  }
  if (auto file = loader.optional_string(product_path(handle, "attachment"), "")) {
    if (!readable_file(*file)) {
      loader.problem(fmt::format("{}.attachment: cannot read {}", where, *file));
    }
    p.attachment = *file;
  }
  return p;
}

}  // namespace

const std::set<std::string>& mail_placeholders() {
  static const std::set<std::string> names = {"first_name",      "last_name",     "email",
                                              "product_name",    "subscription_id",
                                              "download_url"};
  return names;
}

const std::set<std::string>& url_placeholders() {
  static const std::set<std::string> names = {"token", "subscription_id", "product_handle"};
  return names;
}

ChargifyConfig load_chargify_config(config::Loader& loader) {
  ChargifyConfig c;
  c.source = loader.string({"chargify", "source"}, "CHARGIFY_SOURCE", c.source);
  c.ledger_topic = loader.string({"chargify", "ledger_topic"}, "CHARGIFY_LEDGER_TOPIC",
                                 topics::kChargifyFulfilments);
  c.download_link_ttl = std::chrono::seconds(
      loader.integer({"chargify", "download_link_ttl_s"}, "DOWNLOAD_LINK_TTL_S",
                     c.download_link_ttl.count(), 60, 10LL * 365 * 24 * 3600));
  c.smtp_timeout = std::chrono::seconds(loader.integer(
      {"chargify", "smtp_timeout_s"}, "SMTP_TIMEOUT_S", c.smtp_timeout.count(), 1, 600));

  c.smtp_url = loader.string({}, "SMTP_URL", "");
  if (c.smtp_url.empty()) {
    loader.problem("SMTP_URL: required (smtp://host:port or smtps://host:port)");
  } else if (!mail::is_smtp_url(c.smtp_url)) {
    loader.problem("SMTP_URL: not an smtp:// or smtps:// URL with a host");
  }
  c.smtp_from = loader.string({}, "SMTP_FROM", "");
  if (c.smtp_from.empty()) {
    loader.problem("SMTP_FROM: required (e.g. \"Shop <shop@example.com>\")");
  } else if (auto address = mailbox_address(c.smtp_from); !address) {
    loader.problem("SMTP_FROM: " + address.error().message);
  } else {
    c.from_address = *address;
  }
  c.smtp_username = loader.optional_string({}, "SMTP_USERNAME");
  c.smtp_password = loader.secret("SMTP_PASSWORD");
  if (c.smtp_password && !c.smtp_username) {
    loader.problem("SMTP_PASSWORD is set without SMTP_USERNAME");
  }
  c.smtp_ca_file = loader.optional_string({}, "SMTP_CA_FILE");
  if (c.smtp_ca_file && !readable_file(*c.smtp_ca_file)) {
    loader.problem("SMTP_CA_FILE: cannot read " + *c.smtp_ca_file);
  }
  c.download_link_secret = loader.secret("DOWNLOAD_LINK_SECRET");

  for (const auto& handle : loader.keys({"chargify", "products"})) {
    c.products.emplace(handle, load_product(loader, handle));
  }
  for (const auto& [handle, product] : c.products) {
    if (product.download_url && !c.download_link_secret) {
      loader.problem(fmt::format(
          "chargify.products.{}.download_url: needs DOWNLOAD_LINK_SECRET to sign the links",
          handle));
    }
  }
  return c;
}

}  // namespace wi::chargify
