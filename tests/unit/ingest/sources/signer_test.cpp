// sign_request (ingest/sources/signer.h): what it signs, every kind's verifier accepts; the
// PROVIDERS.md vectors come out exactly.
#include "ingest/sources/signer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ingest/sources/source.h"

namespace wi::ingest {
namespace {

constexpr std::int64_t kNow = 1700000000;

SystemTime at_unix(std::int64_t seconds) {
  return SystemTime{std::chrono::seconds{seconds}};
}

SourceSettings settings_for(SourceKind kind, std::vector<std::string> secrets) {
  SourceSettings s;
  s.name = std::string(to_string(kind)) + "-test";
  s.kind = kind;
  for (auto& secret : secrets) s.secrets.emplace_back(std::move(secret));
  return s;
}

// A signed request as ingestd would see it.
struct Signed {
  http::Headers headers;
  std::string body;
  InboundRequest view() const { return {"POST", "/webhooks/test", headers, body}; }
  std::string header(const std::string& name) const {
    const std::string* v = headers.find(name);
    return v ? *v : "<absent>";
  }
};

Signed sign(const SourceSettings& settings, const std::string& body,
            const SignOptions& options = {}, std::int64_t now = kNow) {
  auto headers = sign_request(settings, body, at_unix(now), options);
  EXPECT_TRUE(headers.ok()) << headers.error().message;
  Signed out{{}, body};
  if (headers.ok()) {
    for (const auto& h : *headers) out.headers.add(h.name, h.value);
  }
  return out;
}

std::unique_ptr<Source> build(const SourceSettings& settings) {
  auto source = make_source(settings);
  EXPECT_TRUE(source.ok()) << source.error().message;
  return source.ok() ? std::move(source).value() : nullptr;
}

// ---------------------------------------------------------------------------------------
// Every kind: signed → verified → described.

struct KindCase {
  std::string label;
  SourceSettings settings;
  std::string body;
  SignOptions options;
  std::string event_id;  // expected; "" → not checked
  std::string event_type;
};

std::vector<KindCase> kind_cases() {
  std::vector<KindCase> cases;
  cases.push_back({"dropbox",
                   settings_for(SourceKind::kDropbox, {"dropbox-app-secret"}),
                   R"({"list_folder":{"accounts":["dbid:A"]},"delta":{"users":[1]}})",
                   {},
                   "",
                   "notification"});
  cases.push_back({"chargify",
                   settings_for(SourceKind::kChargify, {"chargify-shared-key"}),
                   "id=4711&event=signup_success&payload[subscription][id]=9",
                   {},
                   "4711",
                   "signup_success"});
  SignOptions github_options;
  github_options.event = "ping";
  github_options.event_id = "delivery-1";
  cases.push_back({"github", settings_for(SourceKind::kGithub, {"github-webhook-secret"}),
                   R"({"zen":"hi","repository":{"full_name":"o/r"}})", github_options, "delivery-1",
                   "ping"});
  SignOptions standard_options;
  standard_options.event_id = "msg_1";
  cases.push_back(
      {"standard", settings_for(SourceKind::kStandard, {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
       R"({"type":"invoice.paid","data":{}})", standard_options, "msg_1", "invoice.paid"});
  cases.push_back({"stripe",
                   settings_for(SourceKind::kStripe, {"whsec_stripe_secret"}),
                   R"({"id":"evt_1","type":"charge.succeeded"})",
                   {},
                   "evt_1",
                   "charge.succeeded"});
  SourceSettings shopify = settings_for(SourceKind::kHmac, {"shopify-app-secret"});
  shopify.hmac = {"X-Shopify-Hmac-Sha256", "", HmacScheme::Encoding::kBase64,
                  crypto::DigestAlgo::kSha256};
  shopify.id = {FieldRef::From::kHeader, "X-Shopify-Webhook-Id"};
  shopify.type = {FieldRef::From::kHeader, "X-Shopify-Topic"};
  SignOptions shopify_options;
  shopify_options.event = "orders/create";
  shopify_options.event_id = "shop-1";
  cases.push_back(
      {"hmac_shopify", shopify, R"({"order":1})", shopify_options, "shop-1", "orders/create"});
  SourceSettings sha512 = settings_for(SourceKind::kHmac, {"sha512-secret-value"});
  sha512.hmac = {"X-Signature", "sha512=", HmacScheme::Encoding::kHex, crypto::DigestAlgo::kSha512};
  sha512.id = {FieldRef::From::kJsonPointer, "/event/id"};
  cases.push_back(
      {"hmac_sha512_json_id", sha512, R"({"event":{"id":"e-9"}})", {}, "e-9", "hmac-test"});
  return cases;
}

class SignerKindTest : public ::testing::TestWithParam<KindCase> {};

TEST_P(SignerKindTest, TheKindsVerifierAcceptsWhatWasSigned) {
  const KindCase& c = GetParam();
  auto source = build(c.settings);
  ASSERT_TRUE(source);
  const Signed request = sign(c.settings, c.body, c.options);
  const VerifyOutcome outcome = source->verify(request.view(), at_unix(kNow));
  EXPECT_TRUE(outcome.valid) << outcome.reason;
  auto info = source->describe(request.view());
  ASSERT_TRUE(info.ok()) << info.error().message;
  if (!c.event_id.empty()) {
    EXPECT_EQ(info->event_id, c.event_id);
  }
  EXPECT_EQ(info->event_type, c.event_type);
}

TEST_P(SignerKindTest, AnotherBodyDoesNotVerify) {
  const KindCase& c = GetParam();
  auto source = build(c.settings);
  ASSERT_TRUE(source);
  Signed request = sign(c.settings, c.body, c.options);
  request.body += " ";
  EXPECT_FALSE(source->verify(request.view(), at_unix(kNow)).valid);
}

TEST_P(SignerKindTest, SignsWithTheFirstOfSeveralSecrets) {
  const KindCase& c = GetParam();
  SourceSettings rotated = c.settings;
  const std::string first = rotated.secrets.front().reveal();
  // A second secret of the same shape (standard secrets must stay base64).
  rotated.secrets.emplace_back(c.settings.kind == SourceKind::kStandard
                                   ? "whsec_c2Vjb25kLXNlY3JldC1rZXktYnl0ZXM="
                                   : first + "-second");
  const Signed request = sign(rotated, c.body, c.options);

  SourceSettings only_first = c.settings;
  auto first_source = build(only_first);
  ASSERT_TRUE(first_source);
  EXPECT_TRUE(first_source->verify(request.view(), at_unix(kNow)).valid);

  SourceSettings only_second = c.settings;
  only_second.secrets = {rotated.secrets.back()};
  auto second_source = build(only_second);
  ASSERT_TRUE(second_source);
  EXPECT_FALSE(second_source->verify(request.view(), at_unix(kNow)).valid);
}

TEST_P(SignerKindTest, ContentTypeIsTheKindsOwnOrTheOverride) {
  const KindCase& c = GetParam();
  const Signed plain = sign(c.settings, c.body, c.options);
  EXPECT_EQ(plain.header("Content-Type"), c.settings.kind == SourceKind::kChargify
                                              ? "application/x-www-form-urlencoded"
                                              : "application/json");
  SignOptions with_type = c.options;
  with_type.content_type = "application/json; charset=utf-8";
  EXPECT_EQ(sign(c.settings, c.body, with_type).header("Content-Type"),
            "application/json; charset=utf-8");
}

TEST_P(SignerKindTest, NoSecretIsAnError) {
  SourceSettings s = GetParam().settings;
  s.secrets.clear();
  auto headers = sign_request(s, GetParam().body, at_unix(kNow), GetParam().options);
  ASSERT_FALSE(headers.ok());
  EXPECT_EQ(headers.error().code, ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, SignerKindTest, ::testing::ValuesIn(kind_cases()),
                         [](const auto& info) { return info.param.label; });

// ---------------------------------------------------------------------------------------
// Kind details.

TEST(Signer, GithubDefaultsToPushAndARandomDeliveryId) {
  const SourceSettings s = settings_for(SourceKind::kGithub, {"github-webhook-secret"});
  const Signed a = sign(s, "{}");
  const Signed b = sign(s, "{}");
  EXPECT_EQ(a.header("X-GitHub-Event"), "push");
  const std::string id = a.header("X-GitHub-Delivery");
  ASSERT_EQ(id.size(), 36u) << id;
  EXPECT_EQ(id[8], '-');
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(id, b.header("X-GitHub-Delivery"));
}

TEST(Signer, ChargifyMirrorsTheFormIdInItsHeader) {
  const SourceSettings s = settings_for(SourceKind::kChargify, {"chargify-shared-key"});
  EXPECT_EQ(
      sign(s, "id=123456&event=test&payload[chargify]=testing").header("X-Chargify-Webhook-Id"),
      "123456");
  EXPECT_EQ(sign(s, "event=test").header("X-Chargify-Webhook-Id"), "<absent>");
}

TEST(Signer, TimestampedKindsGoStaleAfterTheTolerance) {
  for (SourceKind kind : {SourceKind::kStandard, SourceKind::kStripe}) {
    SCOPED_TRACE(to_string(kind));
    const SourceSettings s =
        settings_for(kind, {kind == SourceKind::kStandard ? "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                                                          : "whsec_stripe_secret"});
    auto source = build(s);
    ASSERT_TRUE(source);
    const Signed request = sign(s, R"({"id":"evt_1","type":"t"})", {}, kNow);
    EXPECT_TRUE(source->verify(request.view(), at_unix(kNow + 299)).valid);
    EXPECT_FALSE(source->verify(request.view(), at_unix(kNow + 301)).valid);
  }
}

TEST(Signer, KeyFromAHeaderDefaultsToTheEventId) {
  SourceSettings s =
      settings_for(SourceKind::kStandard, {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});
  s.key = {FieldRef::From::kHeader, "X-Tenant"};
  auto source = build(s);
  ASSERT_TRUE(source);
  SignOptions options;
  options.event_id = "msg_7";
  auto info = source->describe(sign(s, "{}", options).view());
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->key, "msg_7");
  options.key = "tenant-3";
  info = source->describe(sign(s, "{}", options).view());
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->key, "tenant-3");
}

TEST(Signer, UndecodableStandardSecretIsAnError) {
  const SourceSettings s = settings_for(SourceKind::kStandard, {"whsec_not*base64!"});
  auto headers = sign_request(s, "{}", at_unix(kNow), {});
  ASSERT_FALSE(headers.ok());
  EXPECT_EQ(headers.error().message.find("not*base64"), std::string::npos) << "no secret echoed";
}

// ---------------------------------------------------------------------------------------
// PROVIDERS.md vectors, reproduced exactly.

TEST(SignerVectors, Github) {
  const Signed r =
      sign(settings_for(SourceKind::kGithub, {"It's a Secret to Everybody"}), "Hello, World!");
  EXPECT_EQ(r.header("X-Hub-Signature-256"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(SignerVectors, Dropbox) {
  const Signed r =
      sign(settings_for(SourceKind::kDropbox, {"the_secret"}), R"({"delta": {"users": [12345]}})");
  EXPECT_EQ(r.header("X-Dropbox-Signature"),
            "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529");
}

TEST(SignerVectors, Chargify) {
  const Signed r =
      sign(settings_for(SourceKind::kChargify, {"123"}), "payload[chargify]=testing&event=test");
  EXPECT_EQ(r.header("X-Chargify-Webhook-Signature-Hmac-Sha-256"),
            "19826d51b9f866b26eda1f154de192593360f8d0bcb63df8a28540a5dcf733f1");
}

TEST(SignerVectors, StandardWebhooks) {
  SignOptions options;
  options.event_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const Signed r =
      sign(settings_for(SourceKind::kStandard, {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
           R"({"test": 2432232314})", options, 1614265330);
  EXPECT_EQ(r.header("webhook-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
  EXPECT_EQ(r.header("webhook-timestamp"), "1614265330");
  EXPECT_EQ(r.header("webhook-signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(SignerVectors, Stripe) {
  const Signed r = sign(settings_for(SourceKind::kStripe, {"whsec_test_secret"}),
                        R"({"id":"evt_test"})", {}, 1492774577);
  EXPECT_EQ(r.header("Stripe-Signature"),
            "t=1492774577,v1=22f7d74836ddad3284a2b80853dd2fe731655c1bfddcff3c3666a500cf3abd80");
}

// Found by tests/fuzz/sources_fuzz: an empty --event-id was signed into an empty webhook-id
// header that the verifier (rightly) calls missing; the signer now says so instead.
TEST(Signer, AnEmptyEventIdIsRefusedNotSignedIntoARequestThatCannotVerify) {
  SignOptions options;
  options.event_id = "";
  for (auto kind : {SourceKind::kStandard, SourceKind::kGithub}) {
    const auto settings = settings_for(
        kind, {kind == SourceKind::kStandard ? "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" : "gh-secret"});
    auto headers = sign_request(settings, "{}", at_unix(kNow), options);
    ASSERT_FALSE(headers.ok()) << to_string(kind);
    EXPECT_EQ(headers.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(headers.error().message.find("event id"), std::string::npos) << headers.error().message;
  }
}

}  // namespace
}  // namespace wi::ingest
