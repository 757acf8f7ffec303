// load_ingest_config (SPEC §2, §3): built-ins switched on by their secret, YAML sources of
// every kind, rotation, per-source settings, and every problem reported in one ConfigError.

#include "ingest/ingest_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/codec.h"
#include "tests/support/temp_dir.h"

namespace wi::ingest {
namespace {

namespace fs = std::filesystem;
using Vars = std::map<std::string, std::string>;

constexpr const char* kGood = "good-secret-0123456789";

struct Loaded {
  IngestConfig config;
  std::vector<std::string> problems;  // empty: finish() accepted the configuration
};

Loaded load(std::string_view yaml, Vars env = {}) {
  auto loader = config::Loader::from_yaml_text(yaml, config::Environment(std::move(env)));
  Loaded out;
  out.config = load_ingest_config(loader);
  try {
    loader.finish();
  } catch (const config::ConfigError& e) {
    out.problems = e.problems();
  }
  return out;
}

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += "  " + p + "\n";
  return out;
}

// True when one problem mentions every part.
::testing::AssertionResult HasProblem(const std::vector<std::string>& problems,
                                      std::initializer_list<std::string_view> parts) {
  for (const auto& p : problems) {
    if (std::all_of(parts.begin(), parts.end(),
                    [&](std::string_view part) { return p.find(part) != std::string::npos; })) {
      return ::testing::AssertionSuccess();
    }
  }
  auto failure = ::testing::AssertionFailure() << "no problem mentions all of";
  for (auto part : parts) failure << " '" << part << "'";
  return failure << "; problems:\n" << joined(problems);
}

const SourceConfig* find_source(const IngestConfig& c, std::string_view name) {
  for (const auto& s : c.sources) {
    if (s.settings.name == name) return &s;
  }
  return nullptr;
}

std::vector<std::string> source_names(const IngestConfig& c) {
  std::vector<std::string> names;
  for (const auto& s : c.sources) names.push_back(s.settings.name);
  return names;
}

std::vector<std::string> revealed(const std::vector<Secret>& secrets) {
  std::vector<std::string> out;
  for (const auto& s : secrets) out.push_back(s.reveal());
  return out;
}

using wi::testing::TempDir;

// ---- defaults ---------------------------------------------------------------------------------

TEST(IngestConfigDefaultsTest, SpecDefaults) {
  auto l = load("");
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  EXPECT_EQ(l.config.listen_host, "0.0.0.0");
  EXPECT_EQ(l.config.listen_port, 8080);
  EXPECT_EQ(l.config.max_body_bytes, 26214400);
  EXPECT_EQ(l.config.ack, AckMode::kDurable);
  EXPECT_FALSE(l.config.tls_cert.has_value());
  EXPECT_FALSE(l.config.spool_dir.has_value());
  EXPECT_EQ(l.config.common.kafka_brokers, "127.0.0.1:9092");
}

TEST(IngestConfigDefaultsTest, EnvironmentOverrides) {
  auto l = load("ingest:\n  listen: 0.0.0.0:1\n  ack: durable\n",
                {{"INGEST_LISTEN", "127.0.0.1:9090"},
                 {"INGEST_ACK", "enqueued"},
                 {"INGEST_MAX_BODY_BYTES", "4096"},
                 {"INGEST_SPOOL_DIR", "/var/spool/ingest"},
                 {"GITHUB_WEBHOOK_SECRET", kGood}});
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  EXPECT_EQ(l.config.listen_host, "127.0.0.1");
  EXPECT_EQ(l.config.listen_port, 9090);
  EXPECT_EQ(l.config.ack, AckMode::kEnqueued);
  EXPECT_EQ(l.config.max_body_bytes, 4096);
  EXPECT_EQ(l.config.spool_dir, "/var/spool/ingest");
  // A built-in takes the global limit.
  ASSERT_NE(find_source(l.config, "github"), nullptr);
  EXPECT_EQ(find_source(l.config, "github")->max_body_bytes, 4096);
}

TEST(IngestConfigDefaultsTest, ListenForms) {
  auto any_host = load("", {{"INGEST_LISTEN", ":9000"}});
  ASSERT_TRUE(any_host.problems.empty()) << joined(any_host.problems);
  EXPECT_EQ(any_host.config.listen_host, "0.0.0.0");
  EXPECT_EQ(any_host.config.listen_port, 9000);

  auto v6 = load("", {{"INGEST_LISTEN", "[::1]:8443"}});
  ASSERT_TRUE(v6.problems.empty()) << joined(v6.problems);
  EXPECT_EQ(v6.config.listen_host, "::1");
  EXPECT_EQ(v6.config.listen_port, 8443);

  for (const char* bad : {"garbage", "host:", "host:99999", "host:80x", "host:-1"}) {
    auto l = load("", {{"INGEST_LISTEN", bad}});
    EXPECT_TRUE(HasProblem(l.problems, {"INGEST_LISTEN", bad})) << bad;
  }
}

// ---- built-ins --------------------------------------------------------------------------------

TEST(IngestConfigBuiltinsTest, NoSecretsMeansEveryBuiltinIsDisabled) {
  auto l = load("");
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  EXPECT_TRUE(l.config.sources.empty());
  EXPECT_EQ(l.config.disabled_builtins,
            (std::vector<std::string>{"dropbox", "chargify", "github"}));
}

TEST(IngestConfigBuiltinsTest, EnabledExactlyWhenTheirSecretIsSet) {
  auto l = load("", {{"GITHUB_WEBHOOK_SECRET", kGood}});
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  EXPECT_EQ(source_names(l.config), std::vector<std::string>{"github"});
  EXPECT_EQ(l.config.disabled_builtins, (std::vector<std::string>{"dropbox", "chargify"}));

  const SourceConfig& gh = l.config.sources.at(0);
  EXPECT_EQ(gh.settings.kind, SourceKind::kGithub);
  EXPECT_EQ(revealed(gh.settings.secrets), std::vector<std::string>{kGood});
  EXPECT_EQ(gh.topic, "webhooks.github");
  EXPECT_EQ(gh.max_body_bytes, 26214400);
  EXPECT_EQ(gh.forward_headers, (std::vector<std::string>{"x-github-hook-id", "user-agent"}));
  EXPECT_EQ(gh.rate_limit.per_second, 0);  // unlimited unless configured
  EXPECT_TRUE(make_source(gh.settings).ok());
}

TEST(IngestConfigBuiltinsTest, AllThreeWithTheirKindsAndHeaders) {
  auto l = load("", {{"DROPBOX_APP_SECRET", kGood},
                     {"CHARGIFY_SHARED_KEY", kGood},
                     {"GITHUB_WEBHOOK_SECRET", kGood}});
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  EXPECT_TRUE(l.config.disabled_builtins.empty());
  ASSERT_EQ(l.config.sources.size(), 3u);
  EXPECT_EQ(find_source(l.config, "dropbox")->settings.kind, SourceKind::kDropbox);
  EXPECT_EQ(find_source(l.config, "chargify")->settings.kind, SourceKind::kChargify);
  EXPECT_TRUE(find_source(l.config, "dropbox")->forward_headers.empty());
  EXPECT_EQ(find_source(l.config, "chargify")->forward_headers,
            std::vector<std::string>{"x-chargify-webhook-id"});
  for (const auto& s : l.config.sources) {
    EXPECT_TRUE(make_source(s.settings).ok()) << s.settings.name;
    EXPECT_EQ(s.topic, "webhooks." + s.settings.name);
  }
}

TEST(IngestConfigBuiltinsTest, SecretFromAFile) {
  TempDir dir;
  auto file = dir.write("dropbox", std::string(kGood) + "\n");
  auto l = load("", {{"DROPBOX_APP_SECRET_FILE", file}});
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  ASSERT_NE(find_source(l.config, "dropbox"), nullptr);
  EXPECT_EQ(revealed(find_source(l.config, "dropbox")->settings.secrets),
            std::vector<std::string>{kGood});
  EXPECT_EQ(l.config.disabled_builtins, (std::vector<std::string>{"chargify", "github"}));
}

TEST(IngestConfigBuiltinsTest, ShortSecretIsAProblemThatDoesNotShowIt) {
  auto l = load("", {{"CHARGIFY_SHARED_KEY", "s3cr3t!"}});
  EXPECT_TRUE(HasProblem(l.problems, {"CHARGIFY_SHARED_KEY", "8"}));
  EXPECT_EQ(joined(l.problems).find("s3cr3t!"), std::string::npos);
}

TEST(IngestConfigBuiltinsTest, ConfiguredInYamlWithRotationAndOwnHeaders) {
  auto l = load(R"(
sources:
  github:
    secret_env: [GH_OLD, GH_NEW]
    forward_headers: [X-GitHub-Delivery]
    rate_limit:
      per_second: 5
)",
                {{"GH_OLD", "old-secret-0123456789"}, {"GH_NEW", "new-secret-0123456789"}});
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  const SourceConfig* gh = find_source(l.config, "github");
  ASSERT_NE(gh, nullptr);
  EXPECT_EQ(gh->settings.kind, SourceKind::kGithub);
  EXPECT_EQ(revealed(gh->settings.secrets),
            (std::vector<std::string>{"old-secret-0123456789", "new-secret-0123456789"}));
  EXPECT_EQ(gh->forward_headers, std::vector<std::string>{"x-github-delivery"});
  EXPECT_EQ(gh->rate_limit.per_second, 5);
  EXPECT_EQ(gh->rate_limit.burst, 5);
  EXPECT_EQ(
      std::count(l.config.disabled_builtins.begin(), l.config.disabled_builtins.end(), "github"),
      0);
}

TEST(IngestConfigBuiltinsTest, InYamlWithoutAnySecretStaysDisabled) {
  auto l = load("sources:\n  github:\n    max_body_bytes: 1024\n");
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  EXPECT_EQ(find_source(l.config, "github"), nullptr);
  EXPECT_EQ(
      std::count(l.config.disabled_builtins.begin(), l.config.disabled_builtins.end(), "github"),
      1);
}

TEST(IngestConfigBuiltinsTest, InYamlWithTheDefaultSecretFromTheEnvironment) {
  auto l =
      load("sources:\n  github:\n    max_body_bytes: 1024\n", {{"GITHUB_WEBHOOK_SECRET", kGood}});
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  const SourceConfig* gh = find_source(l.config, "github");
  ASSERT_NE(gh, nullptr);
  EXPECT_EQ(gh->max_body_bytes, 1024);
  EXPECT_EQ(revealed(gh->settings.secrets), std::vector<std::string>{kGood});
  EXPECT_EQ(gh->forward_headers, (std::vector<std::string>{"x-github-hook-id", "user-agent"}));
}

// ---- YAML sources -----------------------------------------------------------------------------

TEST(IngestConfigSourcesTest, EveryKindBuilds) {
  const std::string standard_secret = "whsec_" + codec::base64_encode("standard-key-0123456789");
  auto with_secret = load(R"(
sources:
  box:
    kind: dropbox
    secret_env: [BOX_SECRET]
  billing:
    kind: chargify
    secret_env: [BILLING_SECRET]
  code:
    kind: github
    secret_env: [CODE_SECRET]
  svix:
    kind: standard
    secret_env: [STANDARD_SECRET]
    tolerance_s: 120
    key:
      json_pointer: /data/customer
  pay:
    kind: stripe
    secret_env: [STRIPE_SECRET]
  shopify:
    kind: hmac
    header: X-Shopify-Hmac-Sha256
    prefix: "sha512="
    encoding: base64
    algorithm: sha512
    secret_env: [HMAC_SECRET]
    content_types: [application/json]
    id:
      header: X-Shopify-Webhook-Id
    type:
      header: X-Shopify-Topic
    key:
      json_pointer: /shop/id
)",
                          {{"BOX_SECRET", kGood},
                           {"BILLING_SECRET", kGood},
                           {"CODE_SECRET", kGood},
                           {"STANDARD_SECRET", standard_secret},
                           {"STRIPE_SECRET", "whsec_stripe0123456789"},
                           {"HMAC_SECRET", kGood}});
  ASSERT_TRUE(with_secret.problems.empty()) << joined(with_secret.problems);
  const auto& c = with_secret.config;
  EXPECT_EQ(source_names(c),
            (std::vector<std::string>{"box", "billing", "code", "svix", "pay", "shopify"}));
  const std::map<std::string, SourceKind> kinds = {
      {"box", SourceKind::kDropbox}, {"billing", SourceKind::kChargify},
      {"code", SourceKind::kGithub}, {"svix", SourceKind::kStandard},
      {"pay", SourceKind::kStripe},  {"shopify", SourceKind::kHmac}};
  for (const auto& s : c.sources) {
    EXPECT_EQ(s.settings.kind, kinds.at(s.settings.name)) << s.settings.name;
    EXPECT_EQ(s.topic, "webhooks." + s.settings.name);
    EXPECT_EQ(s.settings.secrets.size(), 1u) << s.settings.name;
    auto built = make_source(s.settings);
    EXPECT_TRUE(built.ok()) << s.settings.name << ": " << (built.ok() ? "" : built.error().message);
  }
  const SourceConfig& svix = *find_source(c, "svix");
  EXPECT_EQ(svix.settings.tolerance, std::chrono::seconds(120));
  EXPECT_EQ(svix.settings.key.from, FieldRef::From::kJsonPointer);
  EXPECT_EQ(svix.settings.key.name, "/data/customer");

  const SourceConfig& shopify = *find_source(c, "shopify");
  EXPECT_EQ(shopify.settings.hmac.header, "X-Shopify-Hmac-Sha256");
  EXPECT_EQ(shopify.settings.hmac.prefix, "sha512=");
  EXPECT_EQ(shopify.settings.hmac.encoding, HmacScheme::Encoding::kBase64);
  EXPECT_EQ(shopify.settings.hmac.algorithm, crypto::DigestAlgo::kSha512);
  EXPECT_EQ(shopify.settings.content_types, std::vector<std::string>{"application/json"});
  EXPECT_EQ(shopify.settings.id.from, FieldRef::From::kHeader);
  EXPECT_EQ(shopify.settings.id.name, "X-Shopify-Webhook-Id");
  EXPECT_EQ(shopify.settings.type.name, "X-Shopify-Topic");
  EXPECT_EQ(shopify.settings.key.name, "/shop/id");
  // No built-in was named and none has its secret: all three stay disabled.
  EXPECT_EQ(c.disabled_builtins.size(), 3u);
}

TEST(IngestConfigSourcesTest, RotationFromSecretEnvAndSecretFiles) {
  TempDir dir;
  auto f1 = dir.write("one", "file-secret-one-0123\n");
  auto f2 = dir.write("two", "file-secret-two-0123");
  auto l = load(R"(
sources:
  shop:
    kind: hmac
    header: X-Sig
    secret_env: [SHOP_OLD, SHOP_NEW]
  files:
    kind: hmac
    header: X-Sig
    secret_env: [FILES_ENV]
    secret_files: [")" +
                    f1 + "\", \"" + f2 + R"("]
)",
                {{"SHOP_OLD", "old-secret-0123456789"},
                 {"SHOP_NEW", "new-secret-0123456789"},
                 {"FILES_ENV", "env-secret-0123456789"}});
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  EXPECT_EQ(revealed(find_source(l.config, "shop")->settings.secrets),
            (std::vector<std::string>{"old-secret-0123456789", "new-secret-0123456789"}));
  EXPECT_EQ(revealed(find_source(l.config, "files")->settings.secrets),
            (std::vector<std::string>{"env-secret-0123456789", "file-secret-one-0123",
                                      "file-secret-two-0123"}));
}

TEST(IngestConfigSourcesTest, ForwardHeadersAreLowercased) {
  auto l = load(R"(
sources:
  shop:
    kind: hmac
    header: X-Sig
    secret_env: [SHOP_SECRET]
    forward_headers: [X-Request-ID, User-Agent, x-already-lower]
)",
                {{"SHOP_SECRET", kGood}});
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  EXPECT_EQ(find_source(l.config, "shop")->forward_headers,
            (std::vector<std::string>{"x-request-id", "user-agent", "x-already-lower"}));
}

TEST(IngestConfigSourcesTest, SignatureHeadersCannotBeForwarded) {
  auto l = load(R"(
sources:
  github:
    forward_headers: [X-Hub-Signature-256, user-agent]
  shop:
    kind: hmac
    header: X-Sig
    secret_env: [SHOP_SECRET]
    forward_headers: [x-sig]
)",
                {{"SHOP_SECRET", kGood}, {"GITHUB_WEBHOOK_SECRET", kGood}});
  EXPECT_TRUE(HasProblem(l.problems, {"sources.github.forward_headers", "X-Hub-Signature-256"}));
  EXPECT_TRUE(HasProblem(l.problems, {"sources.shop.forward_headers", "x-sig"}));
}

TEST(IngestConfigSourcesTest, TopicNameUsesThePrefix) {
  const std::string yaml =
      "sources:\n  shop:\n    kind: hmac\n    header: X-Sig\n"
      "    secret_env: [SHOP_SECRET]\n";
  auto from_env = load(
      yaml,
      {{"SHOP_SECRET", kGood}, {"GITHUB_WEBHOOK_SECRET", kGood}, {"TOPIC_PREFIX", "prod.hooks."}});
  ASSERT_TRUE(from_env.problems.empty()) << joined(from_env.problems);
  EXPECT_EQ(find_source(from_env.config, "shop")->topic, "prod.hooks.shop");
  EXPECT_EQ(find_source(from_env.config, "github")->topic, "prod.hooks.github");

  auto from_yaml = load("topics:\n  prefix: staging.\n" + yaml, {{"SHOP_SECRET", kGood}});
  ASSERT_TRUE(from_yaml.problems.empty()) << joined(from_yaml.problems);
  EXPECT_EQ(find_source(from_yaml.config, "shop")->topic, "staging.shop");
}

TEST(IngestConfigSourcesTest, PerSourceBodyLimitCannotExceedTheGlobalOne) {
  const std::string yaml_over = R"(
sources:
  big:
    kind: hmac
    header: X-Sig
    secret_env: [S]
    max_body_bytes: 26214401
)";
  auto over = load(yaml_over, {{"S", kGood}});
  EXPECT_TRUE(HasProblem(over.problems, {"sources.big.max_body_bytes"}));

  const std::string yaml_8k = R"(
sources:
  big:
    kind: hmac
    header: X-Sig
    secret_env: [S]
    max_body_bytes: 8192
)";
  auto over_env_limit = load(yaml_8k, {{"S", kGood}, {"INGEST_MAX_BODY_BYTES", "4096"}});
  EXPECT_TRUE(HasProblem(over_env_limit.problems, {"sources.big.max_body_bytes"}));

  auto within = load(yaml_8k, {{"S", kGood}});
  ASSERT_TRUE(within.problems.empty()) << joined(within.problems);
  EXPECT_EQ(find_source(within.config, "big")->max_body_bytes, 8192);
}

TEST(IngestConfigSourcesTest, RateLimitBurstDefaultsToTheRateButAtLeastOne) {
  auto l = load(R"(
sources:
  fast:
    kind: hmac
    header: X-Sig
    secret_env: [S]
    rate_limit: {per_second: 20}
  slow:
    kind: hmac
    header: X-Sig
    secret_env: [S]
    rate_limit: {per_second: 0.2}
  bursty:
    kind: hmac
    header: X-Sig
    secret_env: [S]
    rate_limit: {per_second: 1, burst: 50}
)",
                {{"S", kGood}});
  ASSERT_TRUE(l.problems.empty()) << joined(l.problems);
  EXPECT_EQ(find_source(l.config, "fast")->rate_limit.burst, 20);
  EXPECT_EQ(find_source(l.config, "slow")->rate_limit.burst, 1);
  EXPECT_EQ(find_source(l.config, "bursty")->rate_limit.burst, 50);
}

TEST(IngestConfigSourcesTest, BurstBelowOneTokenIsAProblemWhenRateLimited) {
  // A bucket that can never hold a whole token would answer every request with 429.
  const std::string yaml = R"(
sources:
  shop:
    kind: hmac
    header: X-Sig
    secret_env: [S]
    rate_limit: {per_second: 5, burst: 0.5}
)";
  auto l = load(yaml, {{"S", kGood}});
  EXPECT_TRUE(HasProblem(l.problems, {"sources.shop.rate_limit.burst"}));

  // Without a rate the burst does not matter.
  auto unlimited = load(R"(
sources:
  shop:
    kind: hmac
    header: X-Sig
    secret_env: [S]
    rate_limit: {per_second: 0, burst: 0}
)",
                        {{"S", kGood}});
  EXPECT_TRUE(unlimited.problems.empty()) << joined(unlimited.problems);
}

// ---- problems ---------------------------------------------------------------------------------

TEST(IngestConfigProblemsTest, EveryProblemIsReportedTogether) {
  auto l = load(R"(
ingest:
  tls_cert: /etc/ingest/cert.pem
sources:
  nosecret:
    kind: hmac
    header: X-Sig
  weird:
    kind: carrier-pigeon
    secret_env: [GOOD]
  BadName:
    kind: hmac
    header: X-Sig
    secret_env: [GOOD]
  nohdr:
    kind: hmac
    secret_env: [GOOD]
  both:
    kind: hmac
    header: X-Sig
    secret_env: [GOOD]
    id:
      header: X-Id
      json_pointer: /id
  short:
    kind: hmac
    header: X-Sig
    secret_env: [SHORT]
  extra:
    kind: hmac
    header: X-Sig
    secret_env: [GOOD]
    colour: blue
)",
                {{"GOOD", kGood},
                 {"SHORT", "abc1234"},
                 {"INGEST_LISTEN", "garbage"},
                 {"INGEST_ACK", "maybe"}});
  const auto& p = l.problems;
  EXPECT_TRUE(HasProblem(p, {"sources.nosecret", "no secret"}));
  EXPECT_TRUE(HasProblem(p, {"sources.weird.kind", "carrier-pigeon"}));
  EXPECT_TRUE(HasProblem(p, {"sources.BadName"}));
  EXPECT_TRUE(HasProblem(p, {"sources.nohdr.header"}));
  EXPECT_TRUE(HasProblem(p, {"sources.both.id", "not both"}));
  EXPECT_TRUE(HasProblem(p, {"sources.short", "shorter than 8"}));
  EXPECT_TRUE(HasProblem(p, {"sources.extra.colour", "unknown key"}));
  EXPECT_TRUE(HasProblem(p, {"INGEST_LISTEN", "garbage"}));
  EXPECT_TRUE(HasProblem(p, {"INGEST_ACK", "maybe"}));
  EXPECT_TRUE(HasProblem(p, {"INGEST_TLS_CERT", "INGEST_TLS_KEY"}));
  // No secret value leaks into the message an operator sees.
  const std::string all = joined(p);
  EXPECT_EQ(all.find(kGood), std::string::npos);
  EXPECT_EQ(all.find("abc1234"), std::string::npos);
  // And the same list arrives in one ConfigError from one finish().
  auto loader = config::Loader::from_yaml_text("sources:\n  BadName: {kind: hmac}\n",
                                               config::Environment(Vars{{"INGEST_ACK", "maybe"}}));
  (void)load_ingest_config(loader);
  try {
    loader.finish();
    ADD_FAILURE() << "finish() accepted an invalid configuration";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.problems().size(), 2u) << joined(e.problems());
    EXPECT_NE(std::string(e.what()).find("BadName"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("INGEST_ACK"), std::string::npos);
  }
}

TEST(IngestConfigProblemsTest, HmacOnlySettingsOnAnotherKind) {
  auto l = load("sources:\n  box:\n    kind: dropbox\n    secret_env: [S]\n    header: X-Sig\n",
                {{"S", kGood}});
  EXPECT_TRUE(HasProblem(l.problems, {"sources.box.header", "only for kind hmac"}));
}

TEST(IngestConfigProblemsTest, ListedSecretEnvThatIsUnsetIsAProblemEvenForABuiltin) {
  auto l = load("sources:\n  github:\n    secret_env: [GH_ROTATED]\n");
  EXPECT_TRUE(HasProblem(l.problems, {"sources.github", "no secret"}));
}

TEST(IngestConfigProblemsTest, TlsNeedsBothOrNeither) {
  auto key_only = load("", {{"INGEST_TLS_KEY", "/k.pem"}});
  EXPECT_TRUE(HasProblem(key_only.problems, {"INGEST_TLS_CERT", "INGEST_TLS_KEY"}));
  auto both = load("", {{"INGEST_TLS_KEY", "/k.pem"}, {"INGEST_TLS_CERT", "/c.pem"}});
  ASSERT_TRUE(both.problems.empty()) << joined(both.problems);
  EXPECT_EQ(both.config.tls_cert, "/c.pem");
  EXPECT_EQ(both.config.tls_key, "/k.pem");
}

TEST(IngestConfigProblemsTest, BadJsonPointer) {
  auto l = load(R"(
sources:
  shop:
    kind: hmac
    header: X-Sig
    secret_env: [S]
    key:
      json_pointer: shop/id
)",
                {{"S", kGood}});
  EXPECT_TRUE(HasProblem(l.problems, {"sources.shop.key.json_pointer", "JSON pointer"}));
}

TEST(IngestConfig, AbuseBoundsHaveDefaultsAndComeFromTheEnvironment) {
  auto defaults = load("", {{"GITHUB_WEBHOOK_SECRET", kGood}});
  ASSERT_TRUE(defaults.problems.empty()) << joined(defaults.problems);
  EXPECT_EQ(defaults.config.max_connections, 10000);
  EXPECT_EQ(defaults.config.max_buffered_bytes, 256LL << 20);
  EXPECT_EQ(defaults.config.min_body_rate, 1024);

  auto set = load("", {{"GITHUB_WEBHOOK_SECRET", kGood},
                       {"INGEST_MAX_CONNECTIONS", "300"},
                       {"INGEST_MAX_BUFFERED_BYTES", "67108864"},
                       {"INGEST_MIN_BODY_RATE", "0"}});
  ASSERT_TRUE(set.problems.empty()) << joined(set.problems);
  EXPECT_EQ(set.config.max_connections, 300);
  EXPECT_EQ(set.config.max_buffered_bytes, 64LL << 20);
  EXPECT_EQ(set.config.min_body_rate, 0);
}

TEST(IngestConfig, ABufferBudgetTooSmallForTheLargestBodyIsAProblem) {
  auto loaded = load("", {{"GITHUB_WEBHOOK_SECRET", kGood},
                          {"INGEST_MAX_BODY_BYTES", "2097152"},
                          {"INGEST_MAX_BUFFERED_BYTES", "2097152"}});
  EXPECT_TRUE(HasProblem(loaded.problems, {"INGEST_MAX_BUFFERED_BYTES", "INGEST_MAX_BODY_BYTES"}));
}

}  // namespace
}  // namespace wi::ingest
