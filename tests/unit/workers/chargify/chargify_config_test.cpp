// load_chargify_config: the catalog, the SMTP settings, and every startup problem listed at once.
#include "workers/chargify/chargify_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace wi::chargify {
namespace {

const std::map<std::string, std::string> kEnv = {{"SMTP_URL", "smtp://127.0.0.1:2525"},
                                                 {"SMTP_FROM", "Shop <shop@example.com>"},
                                                 {"DOWNLOAD_LINK_SECRET", "link-secret"}};

// Loads, then finish(); the problems (empty when it loaded).
std::vector<std::string> problems(const std::string& yaml,
                                  std::map<std::string, std::string> env = kEnv,
                                  ChargifyConfig* out = nullptr) {
  auto loader = config::Loader::from_yaml_text(yaml, config::Environment(env));
  auto c = load_chargify_config(loader);
  try {
    loader.finish();
  } catch (const config::ConfigError& e) {
    return e.problems();
  }
  if (out) *out = std::move(c);
  return {};
}

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(ChargifyConfig, LoadsTheCatalogAndSettings) {
  testing::TempDir dir;
  std::ofstream(dir.path("book.pdf")) << "%PDF-1.4";
  ChargifyConfig c;
  auto found = problems(R"(
chargify:
  download_link_ttl_s: 3600
  products:
    ebook-basic:
      name: The Basic Book
      subject: "Your copy of {{product_name}}"
      body: "Hi {{ first_name }}, get it at {{download_url}}"
      attachment: )" + dir.path("book.pdf") + R"(
      download_url: "https://files.example.com/d/{{token}}"
    poster:
      name: Poster
      subject: Poster
      body: "For {{email}}"
)",
                        kEnv, &c);
  ASSERT_TRUE(found.empty()) << found.front();
  EXPECT_EQ(c.source, "chargify");
  EXPECT_EQ(c.ledger_topic, "chargify.fulfilments");
  EXPECT_EQ(c.smtp_url, "smtp://127.0.0.1:2525");
  EXPECT_EQ(c.from_address, "shop@example.com");
  EXPECT_EQ(c.download_link_ttl, std::chrono::seconds(3600));
  ASSERT_EQ(c.products.size(), 2u);
  const auto& book = c.products.at("ebook-basic");
  EXPECT_EQ(book.name, "The Basic Book");
  EXPECT_EQ(book.attachment, dir.path("book.pdf"));
  ASSERT_TRUE(book.download_url.has_value());
  EXPECT_TRUE(book.body.uses("download_url"));
  EXPECT_FALSE(c.products.at("poster").download_url.has_value());
}

TEST(ChargifyConfig, EnvironmentWins) {
  auto env = kEnv;
  env["CHARGIFY_LEDGER_TOPIC"] = "t.ledger";
  env["CHARGIFY_SOURCE"] = "shop";
  ChargifyConfig c;
  auto found = problems("chargify:\n  source: other\n", env, &c);
  ASSERT_TRUE(found.empty()) << found.front();
  EXPECT_EQ(c.source, "shop");
  EXPECT_EQ(c.ledger_topic, "t.ledger");
}

TEST(ChargifyConfig, EveryProblemIsListedAtOnce) {
  auto found = problems(R"(
chargify:
  products:
    a:
      name: A
      subject: "Hi {{frist_name}}"
      body: "Body {{download_url}}"
      attachment: /nonexistent/file.pdf
    b:
      name: B
      subject: ok
      body: "unclosed {{first_name"
      download_url: "https://x.example.com/{{token}}/{{secret}}"
      colour: blue
)",
                        {{"SMTP_URL", "http://mail.example.com"}, {"SMTP_FROM", "not an address"}});
  EXPECT_TRUE(mentions(found, "chargify.products.a.subject: unknown placeholder {{frist_name}}"));
  EXPECT_TRUE(mentions(found, "chargify.products.a: uses {{download_url}} but has no download_url"));
  EXPECT_TRUE(mentions(found, "chargify.products.a.attachment: cannot read /nonexistent/file.pdf"));
  EXPECT_TRUE(mentions(found, "chargify.products.b.body: unclosed '{{'"));
  EXPECT_TRUE(mentions(found, "chargify.products.b.download_url: unknown placeholder {{secret}}"));
  EXPECT_TRUE(mentions(found, "chargify.products.b.colour: unknown key"));
  EXPECT_TRUE(mentions(found, "SMTP_URL: not an smtp:// or smtps:// URL"));
  EXPECT_TRUE(mentions(found, "SMTP_FROM:"));
  EXPECT_EQ(found.size(), 8u) << ::testing::PrintToString(found);
}

TEST(ChargifyConfig, DownloadUrlNeedsTheSecret) {
  auto env = kEnv;
  env.erase("DOWNLOAD_LINK_SECRET");
  auto found = problems(R"(
chargify:
  products:
    a: {name: A, subject: s, body: b, download_url: "https://x.example.com/{{token}}"}
)",
                        env);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(mentions(found, "needs DOWNLOAD_LINK_SECRET"));
}

TEST(ChargifyConfig, SmtpSettingsAreRequired) {
  auto found = problems("", {});
  EXPECT_TRUE(mentions(found, "SMTP_URL: required"));
  EXPECT_TRUE(mentions(found, "SMTP_FROM: required"));
}

TEST(ChargifyConfig, ProductFieldsAreRequired) {
  auto found = problems("chargify:\n  products:\n    a: {}\n");
  EXPECT_TRUE(mentions(found, "chargify.products.a.name: required"));
  EXPECT_TRUE(mentions(found, "chargify.products.a.subject: required"));
  EXPECT_TRUE(mentions(found, "chargify.products.a.body: required"));
}

}  // namespace
}  // namespace wi::chargify
