#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/codec.h"
#include "common/crypto.h"
#include "ingest/sources/source.h"

namespace wi::ingest {
namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

SystemTime at_unix(std::int64_t seconds) {
  return SystemTime{std::chrono::seconds{seconds}};
}

constexpr std::int64_t kNow = 1700000000;

// A request as a test builds it; view() is what a Source sees.
struct Request {
  HeaderList header_list;
  std::string body;
  http::Headers headers;

  Request(HeaderList list, std::string b) : header_list(std::move(list)), body(std::move(b)) {
    for (const auto& [name, value] : header_list) headers.add(name, value);
  }
  InboundRequest view() const { return {"POST", "/webhooks/test", headers, body}; }
};

void set_header(HeaderList& list, const std::string& name, std::string value) {
  for (auto& [n, v] : list) {
    if (http::iequals(n, name)) {
      v = std::move(value);
      return;
    }
  }
  list.emplace_back(name, std::move(value));
}

void remove_header(HeaderList& list, const std::string& name) {
  std::erase_if(list, [&](const auto& h) { return http::iequals(h.first, name); });
}

const std::string* find_header(const HeaderList& list, const std::string& name) {
  for (const auto& [n, v] : list) {
    if (http::iequals(n, name)) return &v;
  }
  return nullptr;
}

SourceSettings settings_for(SourceKind kind, std::vector<std::string> secrets) {
  SourceSettings s;
  s.name = std::string(to_string(kind)) + "-test";
  s.kind = kind;
  for (auto& secret : secrets) s.secrets.emplace_back(std::move(secret));
  return s;
}

std::unique_ptr<Source> build(const SourceSettings& settings) {
  auto source = make_source(settings);
  if (!source.ok()) {
    ADD_FAILURE() << "make_source: " << source.error().message;
    return nullptr;
  }
  return std::move(source).value();
}

std::string hex_hmac(std::string_view key, std::string_view data) {
  return codec::hex_encode(crypto::hmac_sha256(key, data));
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Asserts that nothing secret leaks into a rejection reason or an error message.
void expect_no_leak(std::string_view text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    EXPECT_EQ(text.find(secret), std::string_view::npos) << "leaks \"" << secret << "\"";
    EXPECT_EQ(upper(std::string(text)).find(upper(secret)), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------
// Signing, per kind, written independently of the sources under test: each builds the full
// set of headers a real sender would send.

struct KindCase {
  std::string label;
  SourceSettings settings;  // secrets are filled in by each test
  std::string body;
  std::string signature_header;
  // Headers for `body` signed with `secret` at unix time `t`.
  std::function<HeaderList(const std::string& body, const std::string& secret, std::int64_t t)>
      sign;
  // The signature header value with its scheme prefix made wrong.
  std::function<std::string(const std::string& value)> wrong_prefix;
  // The digest the sender computed, in any encoding that might leak (for leak checks).
  std::function<std::vector<std::string>(const std::string& body, const std::string& secret,
                                         std::int64_t t)>
      expected_forms;
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const KindCase& c, std::ostream* os) {
  *os << c.label;
}

std::vector<std::string> all_encodings(const std::string& digest) {
  return {codec::hex_encode(digest), codec::base64_encode(digest)};
}

std::string replace_first(std::string s, std::string_view from, std::string_view to) {
  const auto pos = s.find(from);
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

KindCase dropbox_case() {
  KindCase c;
  c.label = "dropbox";
  c.settings = settings_for(SourceKind::kDropbox, {});
  c.body = R"({"list_folder":{"accounts":["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}})";
  c.signature_header = "X-Dropbox-Signature";
  c.sign = [](const std::string& body, const std::string& secret, std::int64_t) {
    return HeaderList{{"Content-Type", "application/json"},
                      {"X-Dropbox-Signature", hex_hmac(secret, body)}};
  };
  c.wrong_prefix = [](const std::string& v) { return "sha256=" + v; };
  c.expected_forms = [](const std::string& body, const std::string& secret, std::int64_t) {
    return all_encodings(crypto::hmac_sha256(secret, body));
  };
  return c;
}

KindCase chargify_case() {
  KindCase c;
  c.label = "chargify";
  c.settings = settings_for(SourceKind::kChargify, {});
  c.body = "id=123456&event=test&payload[chargify]=testing";
  c.signature_header = "X-Chargify-Webhook-Signature-Hmac-Sha-256";
  c.sign = [](const std::string& body, const std::string& secret, std::int64_t) {
    return HeaderList{{"Content-Type", "application/x-www-form-urlencoded"},
                      {"X-Chargify-Webhook-Signature-Hmac-Sha-256", hex_hmac(secret, body)}};
  };
  c.wrong_prefix = [](const std::string& v) { return "sha256=" + v; };
  c.expected_forms = [](const std::string& body, const std::string& secret, std::int64_t) {
    return all_encodings(crypto::hmac_sha256(secret, body));
  };
  return c;
}

KindCase github_case() {
  KindCase c;
  c.label = "github";
  c.settings = settings_for(SourceKind::kGithub, {});
  c.body = R"({"zen":"Keep it logically awesome.","repository":{"full_name":"octo/hello"}})";
  c.signature_header = "X-Hub-Signature-256";
  c.sign = [](const std::string& body, const std::string& secret, std::int64_t) {
    return HeaderList{{"Content-Type", "application/json"},
                      {"X-GitHub-Event", "ping"},
                      {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                      {"X-Hub-Signature-256", "sha256=" + hex_hmac(secret, body)}};
  };
  c.wrong_prefix = [](const std::string& v) { return replace_first(v, "sha256=", "sha1="); };
  c.expected_forms = [](const std::string& body, const std::string& secret, std::int64_t) {
    return all_encodings(crypto::hmac_sha256(secret, body));
  };
  return c;
}

std::string standard_key(const std::string& secret) {
  return codec::base64_decode(std::string_view(secret).substr(6)).value();  // after whsec_
}

std::string standard_digest(const std::string& id, std::int64_t t, const std::string& body,
                            const std::string& secret) {
  return crypto::hmac_sha256(standard_key(secret), id + "." + std::to_string(t) + "." + body);
}

KindCase standard_case() {
  KindCase c;
  c.label = "standard";
  c.settings = settings_for(SourceKind::kStandard, {});
  c.body = R"({"type":"invoice.paid","data":{"id":"in_1"}})";
  c.signature_header = "webhook-signature";
  c.sign = [](const std::string& body, const std::string& secret, std::int64_t t) {
    const std::string id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    return HeaderList{
        {"Content-Type", "application/json"},
        {"webhook-id", id},
        {"webhook-timestamp", std::to_string(t)},
        {"webhook-signature", "v1," + codec::base64_encode(standard_digest(id, t, body, secret))}};
  };
  c.wrong_prefix = [](const std::string& v) { return replace_first(v, "v1,", "v2,"); };
  c.expected_forms = [](const std::string& body, const std::string& secret, std::int64_t t) {
    return all_encodings(standard_digest("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", t, body, secret));
  };
  return c;
}

KindCase stripe_case() {
  KindCase c;
  c.label = "stripe";
  c.settings = settings_for(SourceKind::kStripe, {});
  c.body = R"({"id":"evt_1","type":"charge.succeeded","data":{"object":{"customer":"cus_9"}}})";
  c.signature_header = "Stripe-Signature";
  c.sign = [](const std::string& body, const std::string& secret, std::int64_t t) {
    const std::string ts = std::to_string(t);
    return HeaderList{{"Content-Type", "application/json"},
                      {"Stripe-Signature", "t=" + ts + ",v1=" + hex_hmac(secret, ts + "." + body)}};
  };
  c.wrong_prefix = [](const std::string& v) { return replace_first(v, "v1=", "v0="); };
  c.expected_forms = [](const std::string& body, const std::string& secret, std::int64_t t) {
    return all_encodings(crypto::hmac_sha256(secret, std::to_string(t) + "." + body));
  };
  return c;
}

// Generic hmac, Shopify style: base64 HMAC-SHA256 in X-Shopify-Hmac-Sha256, no prefix.
KindCase shopify_case() {
  KindCase c;
  c.label = "hmac_base64";
  c.settings = settings_for(SourceKind::kHmac, {});
  c.settings.name = "shopify";
  c.settings.hmac.header = "X-Shopify-Hmac-Sha256";
  c.settings.hmac.encoding = HmacScheme::Encoding::kBase64;
  c.settings.id = {FieldRef::From::kHeader, "X-Shopify-Webhook-Id"};
  c.settings.type = {FieldRef::From::kHeader, "X-Shopify-Topic"};
  c.body = R"({"id":820982911946154508,"email":"jon@example.com"})";
  c.signature_header = "X-Shopify-Hmac-Sha256";
  c.sign = [](const std::string& body, const std::string& secret, std::int64_t) {
    return HeaderList{
        {"Content-Type", "application/json"},
        {"X-Shopify-Topic", "orders/create"},
        {"X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
        {"X-Shopify-Hmac-Sha256", codec::base64_encode(crypto::hmac_sha256(secret, body))}};
  };
  c.wrong_prefix = [](const std::string& v) { return "sha256=" + v; };
  c.expected_forms = [](const std::string& body, const std::string& secret, std::int64_t) {
    return all_encodings(crypto::hmac_sha256(secret, body));
  };
  return c;
}

// Generic hmac: "sha512=" + hex HMAC-SHA512.
KindCase sha512_case() {
  KindCase c;
  c.label = "hmac_sha512";
  c.settings = settings_for(SourceKind::kHmac, {});
  c.settings.name = "acme";
  c.settings.hmac = {"X-Acme-Signature", "sha512=", HmacScheme::Encoding::kHex,
                     crypto::DigestAlgo::kSha512};
  c.body = "plain text is fine when no field is read from the body";
  c.signature_header = "X-Acme-Signature";
  c.sign = [](const std::string& body, const std::string& secret, std::int64_t) {
    return HeaderList{
        {"Content-Type", "text/plain"},
        {"X-Acme-Signature", "sha512=" + codec::hex_encode(crypto::hmac_sha512(secret, body))}};
  };
  c.wrong_prefix = [](const std::string& v) { return replace_first(v, "sha512=", "sha256="); };
  c.expected_forms = [](const std::string& body, const std::string& secret, std::int64_t) {
    return all_encodings(crypto::hmac_sha512(secret, body));
  };
  return c;
}

std::string secret_for(const KindCase& c, int n) {
  // Standard Webhooks secrets are base64 keys; the others are plain strings.
  const std::string raw = "test-secret-number-" + std::to_string(n) + "-" + c.label;
  if (c.settings.kind == SourceKind::kStandard) return "whsec_" + codec::base64_encode(raw);
  return raw;
}

class SignatureTest : public ::testing::TestWithParam<KindCase> {
 protected:
  std::unique_ptr<Source> source_with(std::vector<std::string> secrets) const {
    SourceSettings s = GetParam().settings;
    for (auto& secret : secrets) s.secrets.emplace_back(std::move(secret));
    return build(s);
  }

  // Verifies a request whose signature header was changed by `mutate` (nullopt: removed),
  // and checks the reason leaks neither the secret nor any signature.
  VerifyOutcome verify_mutated(
      const std::function<std::optional<std::string>(const std::string&)>& mutate) const {
    const KindCase& c = GetParam();
    const std::string secret = secret_for(c, 1);
    auto source = source_with({secret});
    if (!source) return {};
    HeaderList headers = c.sign(c.body, secret, kNow);
    const std::string original = *find_header(headers, c.signature_header);
    auto value = mutate(original);
    if (value) {
      set_header(headers, c.signature_header, *value);
    } else {
      remove_header(headers, c.signature_header);
    }
    const Request request(headers, c.body);
    VerifyOutcome outcome = source->verify(request.view(), at_unix(kNow));
    EXPECT_FALSE(outcome.reason.empty() && !outcome.valid);
    std::vector<std::string> forbidden = c.expected_forms(c.body, secret, kNow);
    forbidden.push_back(secret);
    forbidden.push_back(original);
    if (value && value->size() >= 16) forbidden.push_back(*value);
    expect_no_leak(outcome.reason, forbidden);
    return outcome;
  }
};

TEST_P(SignatureTest, CorrectSignatureVerifies) {
  const KindCase& c = GetParam();
  const std::string secret = secret_for(c, 1);
  auto source = source_with({secret});
  ASSERT_TRUE(source);
  const Request request(c.sign(c.body, secret, kNow), c.body);
  const VerifyOutcome outcome = source->verify(request.view(), at_unix(kNow));
  EXPECT_TRUE(outcome.valid) << outcome.reason;
  EXPECT_TRUE(source->describe(request.view()).ok());
}

TEST_P(SignatureTest, FlippedBodyBitIsInvalid) {
  const KindCase& c = GetParam();
  const std::string secret = secret_for(c, 1);
  auto source = source_with({secret});
  ASSERT_TRUE(source);
  for (const std::size_t pos : {std::size_t{0}, c.body.size() / 2, c.body.size() - 1}) {
    std::string tampered = c.body;
    tampered[pos] = static_cast<char>(tampered[pos] ^ 0x01);
    const Request request(c.sign(c.body, secret, kNow), tampered);
    const VerifyOutcome outcome = source->verify(request.view(), at_unix(kNow));
    EXPECT_FALSE(outcome.valid) << "bit flipped at " << pos;
    EXPECT_EQ(outcome.reason, "signature mismatch");
    expect_no_leak(outcome.reason, c.expected_forms(c.body, secret, kNow));
    expect_no_leak(outcome.reason, c.expected_forms(tampered, secret, kNow));
  }
}

TEST_P(SignatureTest, TruncatedSignatureIsInvalid) {
  // Four characters: two bytes of hex, three of base64 (dropping only "==" would leave an
  // equivalent unpadded encoding).
  EXPECT_FALSE(
      verify_mutated([](const std::string& v) { return v.substr(0, v.size() - 4); }).valid);
  // One character, not counting base64 padding (an unpadded encoding is still the same digest).
  EXPECT_FALSE(verify_mutated([](const std::string& v) {
                 std::string t = v;
                 while (t.back() == '=') t.pop_back();
                 t.pop_back();
                 return t;
               }).valid);
  EXPECT_FALSE(
      verify_mutated([](const std::string& v) { return v.substr(0, v.size() / 2); }).valid);
}

TEST_P(SignatureTest, WrongPrefixIsInvalid) {
  const KindCase& c = GetParam();
  EXPECT_FALSE(verify_mutated([&](const std::string& v) { return c.wrong_prefix(v); }).valid);
}

TEST_P(SignatureTest, EmptyHeaderIsInvalid) {
  const VerifyOutcome outcome = verify_mutated([](const std::string&) { return std::string(); });
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.reason, "empty signature header");
}

TEST_P(SignatureTest, MissingHeaderIsInvalid) {
  const VerifyOutcome outcome =
      verify_mutated([](const std::string&) { return std::optional<std::string>(); });
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.reason, "missing signature header");
}

TEST_P(SignatureTest, GarbageSignatureIsInvalid) {
  EXPECT_FALSE(verify_mutated([](const std::string& v) { return v + "!"; }).valid);
  EXPECT_FALSE(verify_mutated([](const std::string&) { return std::string("x"); }).valid);
}

TEST_P(SignatureTest, AnyConfiguredSecretMayMatch) {
  const KindCase& c = GetParam();
  auto source = source_with({secret_for(c, 1), secret_for(c, 2)});
  ASSERT_TRUE(source);
  const Request by_second(c.sign(c.body, secret_for(c, 2), kNow), c.body);
  EXPECT_TRUE(source->verify(by_second.view(), at_unix(kNow)).valid);
  const Request by_first(c.sign(c.body, secret_for(c, 1), kNow), c.body);
  EXPECT_TRUE(source->verify(by_first.view(), at_unix(kNow)).valid);
  const Request by_other(c.sign(c.body, secret_for(c, 3), kNow), c.body);
  const VerifyOutcome outcome = source->verify(by_other.view(), at_unix(kNow));
  EXPECT_FALSE(outcome.valid);
  expect_no_leak(outcome.reason, {secret_for(c, 1), secret_for(c, 2), secret_for(c, 3)});
}

TEST_P(SignatureTest, NoSecretsNeverVerifies) {
  const KindCase& c = GetParam();
  auto source = source_with({});
  ASSERT_TRUE(source);
  const Request request(c.sign(c.body, secret_for(c, 1), kNow), c.body);
  const VerifyOutcome outcome = source->verify(request.view(), at_unix(kNow));
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.reason, "no secret configured");
}

TEST_P(SignatureTest, HeaderNameIsCaseInsensitive) {
  const KindCase& c = GetParam();
  const std::string secret = secret_for(c, 1);
  auto source = source_with({secret});
  ASSERT_TRUE(source);
  HeaderList headers = c.sign(c.body, secret, kNow);
  for (auto& [name, value] : headers) name = upper(name);
  const Request request(headers, c.body);
  EXPECT_TRUE(source->verify(request.view(), at_unix(kNow)).valid);
}

TEST_P(SignatureTest, EmptySecretIsAConfigurationError) {
  SourceSettings s = GetParam().settings;
  s.secrets.emplace_back(secret_for(GetParam(), 1));
  s.secrets.emplace_back("");
  EXPECT_FALSE(make_source(s).ok());
}

INSTANTIATE_TEST_SUITE_P(AllKinds, SignatureTest,
                         ::testing::Values(dropbox_case(), chargify_case(), github_case(),
                                           standard_case(), stripe_case(), shopify_case(),
                                           sha512_case()),
                         [](const auto& info) { return info.param.label; });

// ---------------------------------------------------------------------------------------
// PROVIDERS.md test vectors.

TEST(ProviderVectors, Dropbox) {
  auto source = build(settings_for(SourceKind::kDropbox, {"the_secret"}));
  ASSERT_TRUE(source);
  const Request request(
      {{"Content-Type", "application/json"},
       {"X-Dropbox-Signature", "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529"}},
      R"({"delta": {"users": [12345]}})");
  EXPECT_TRUE(source->verify(request.view(), at_unix(kNow)).valid);
  auto info = source->describe(request.view());
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->event_id, "42a3342e34009dd905d0e075f31ef91ae5aa4151304594188ae18718f9e6b25d");
  EXPECT_EQ(info->event_type, "notification");
  EXPECT_FALSE(info->key.has_value());
}

TEST(ProviderVectors, DropboxUppercaseHexIsAccepted) {
  auto source = build(settings_for(SourceKind::kDropbox, {"the_secret"}));
  ASSERT_TRUE(source);
  const Request request(
      {{"X-Dropbox-Signature", "0A8C16B085420B960DC78664279FE09E936A2A01B1F91064869D9E77DFD64529"}},
      R"({"delta": {"users": [12345]}})");
  EXPECT_TRUE(source->verify(request.view(), at_unix(kNow)).valid);
}

TEST(ProviderVectors, Chargify) {
  auto source = build(settings_for(SourceKind::kChargify, {"123"}));
  ASSERT_TRUE(source);
  const Request request({{"Content-Type", "application/x-www-form-urlencoded"},
                         {"X-Chargify-Webhook-Signature-Hmac-Sha-256",
                          "19826d51b9f866b26eda1f154de192593360f8d0bcb63df8a28540a5dcf733f1"}},
                        "payload[chargify]=testing&event=test");
  EXPECT_TRUE(source->verify(request.view(), at_unix(kNow)).valid);
  // The vector body has no id: verified, but not publishable.
  auto info = source->describe(request.view());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalidArgument);
}

TEST(ProviderVectors, ChargifyLegacyMd5HeaderIsNotAccepted) {
  auto source = build(settings_for(SourceKind::kChargify, {"123"}));
  ASSERT_TRUE(source);
  const std::string body = "payload[chargify]=testing&event=test";
  // MD5(key + body), the deprecated scheme, correctly computed.
  const Request request({{"X-Chargify-Webhook-Signature", "3df5f2c8d2bfd40d8a8d72cb9e7fe56c"}},
                        body);
  const VerifyOutcome outcome = source->verify(request.view(), at_unix(kNow));
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.reason, "missing signature header");
}

TEST(ProviderVectors, Github) {
  auto source = build(settings_for(SourceKind::kGithub, {"It's a Secret to Everybody"}));
  ASSERT_TRUE(source);
  const Request request(
      {{"Content-Type", "application/json"},
       {"X-GitHub-Event", "ping"},
       {"X-GitHub-Delivery", "d1"},
       {"X-Hub-Signature-256",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}},
      "Hello, World!");
  EXPECT_TRUE(source->verify(request.view(), at_unix(kNow)).valid);
  // Verified, but "Hello, World!" is not JSON.
  auto info = source->describe(request.view());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(info.error().message.find("Hello"), std::string::npos);
}

TEST(ProviderVectors, GithubUppercaseHexIsAccepted) {
  auto source = build(settings_for(SourceKind::kGithub, {"It's a Secret to Everybody"}));
  ASSERT_TRUE(source);
  const Request request(
      {{"X-Hub-Signature-256",
        "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"}},
      "Hello, World!");
  EXPECT_TRUE(source->verify(request.view(), at_unix(kNow)).valid);
}

constexpr std::int64_t kStandardVectorTime = 1614265330;

Request standard_vector_request(std::string signature) {
  return Request({{"Content-Type", "application/json"},
                  {"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"},
                  {"webhook-timestamp", std::to_string(kStandardVectorTime)},
                  {"webhook-signature", std::move(signature)}},
                 R"({"test": 2432232314})");
}

constexpr const char* kStandardVectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kStandardVectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(ProviderVectors, StandardWebhooks) {
  auto source = build(settings_for(SourceKind::kStandard, {kStandardVectorSecret}));
  ASSERT_TRUE(source);
  const Request request = standard_vector_request(kStandardVectorSignature);
  const VerifyOutcome outcome = source->verify(request.view(), at_unix(kStandardVectorTime));
  EXPECT_TRUE(outcome.valid) << outcome.reason;
  auto info = source->describe(request.view());
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->event_id, "msg_p5jXN8AQM9LWM0D4loKWxJek");
  EXPECT_EQ(info->event_type, "");  // the body has no "type"
  EXPECT_FALSE(info->key.has_value());
}

TEST(ProviderVectors, StandardWebhooksSecretWithoutPrefix) {
  auto source = build(settings_for(SourceKind::kStandard, {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}));
  ASSERT_TRUE(source);
  const Request request = standard_vector_request(kStandardVectorSignature);
  EXPECT_TRUE(source->verify(request.view(), at_unix(kStandardVectorTime)).valid);
}

TEST(ProviderVectors, StandardWebhooksOnlyLastOfSeveralSignaturesMatches) {
  auto source = build(settings_for(SourceKind::kStandard, {kStandardVectorSecret}));
  ASSERT_TRUE(source);
  const std::string other = "v1," + codec::base64_encode(std::string(32, 'x'));
  const Request request =
      standard_vector_request(other + " v1a,c29tZSBhc3ltbWV0cmljIHNpZ25hdHVyZQ== v1,not*base64 " +
                              other + " " + kStandardVectorSignature);
  EXPECT_TRUE(source->verify(request.view(), at_unix(kStandardVectorTime)).valid);

  const Request without_match = standard_vector_request(other + " " + other);
  const VerifyOutcome outcome = source->verify(without_match.view(), at_unix(kStandardVectorTime));
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.reason, "signature mismatch");
  expect_no_leak(outcome.reason, {"g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                                  "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});
}

TEST(ProviderVectors, StandardWebhooksNonV1SignaturesAreIgnored) {
  auto source = build(settings_for(SourceKind::kStandard, {kStandardVectorSecret}));
  ASSERT_TRUE(source);
  const Request request =
      standard_vector_request("v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  const VerifyOutcome outcome = source->verify(request.view(), at_unix(kStandardVectorTime));
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.reason, "no v1 signature");
}

constexpr std::int64_t kStripeVectorTime = 1492774577;
constexpr const char* kStripeVectorSignature =
    "22f7d74836ddad3284a2b80853dd2fe731655c1bfddcff3c3666a500cf3abd80";

Request stripe_vector_request(std::string header) {
  return Request({{"Content-Type", "application/json"}, {"Stripe-Signature", std::move(header)}},
                 R"({"id":"evt_test"})");
}

TEST(ProviderVectors, Stripe) {
  auto source = build(settings_for(SourceKind::kStripe, {"whsec_test_secret"}));
  ASSERT_TRUE(source);
  const Request request =
      stripe_vector_request("t=1492774577,v1=" + std::string(kStripeVectorSignature));
  const VerifyOutcome outcome = source->verify(request.view(), at_unix(kStripeVectorTime));
  EXPECT_TRUE(outcome.valid) << outcome.reason;
  // The vector body has no "type".
  auto info = source->describe(request.view());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalidArgument);
}

TEST(ProviderVectors, StripeSeveralV1AndOtherSchemes) {
  auto source = build(settings_for(SourceKind::kStripe, {"whsec_test_secret"}));
  ASSERT_TRUE(source);
  const std::string wrong(64, 'a');
  const Request several = stripe_vector_request("t=1492774577,v0=" + wrong + ",v1=" + wrong +
                                                ",v1=" + upper(kStripeVectorSignature));
  EXPECT_TRUE(source->verify(several.view(), at_unix(kStripeVectorTime)).valid);
  // The right digest under v0 does not count.
  const Request v0_only =
      stripe_vector_request("t=1492774577,v0=" + std::string(kStripeVectorSignature));
  const VerifyOutcome outcome = source->verify(v0_only.view(), at_unix(kStripeVectorTime));
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.reason, "no v1 signature");
  // Nor does a header without a timestamp.
  const Request no_t = stripe_vector_request("v1=" + std::string(kStripeVectorSignature));
  EXPECT_FALSE(source->verify(no_t.view(), at_unix(kStripeVectorTime)).valid);
}

TEST(ProviderVectors, StripeKeyIsTheWholeSecretString) {
  // Decoding the secret or dropping whsec_ would give another key.
  auto source = build(settings_for(SourceKind::kStripe, {"test_secret"}));
  ASSERT_TRUE(source);
  const Request request =
      stripe_vector_request("t=1492774577,v1=" + std::string(kStripeVectorSignature));
  EXPECT_FALSE(source->verify(request.view(), at_unix(kStripeVectorTime)).valid);
}

// ---------------------------------------------------------------------------------------
// Timestamps (standard, stripe).

class TimestampTest : public ::testing::TestWithParam<KindCase> {
 protected:
  VerifyOutcome verify_at(std::int64_t signed_at, std::int64_t now,
                          std::chrono::seconds tolerance = std::chrono::seconds{300}) const {
    const KindCase& c = GetParam();
    SourceSettings s = c.settings;
    s.secrets.emplace_back(secret_for(c, 1));
    s.tolerance = tolerance;
    auto source = build(s);
    if (!source) return {};
    const Request request(c.sign(c.body, secret_for(c, 1), signed_at), c.body);
    return source->verify(request.view(), at_unix(now));
  }
};

TEST_P(TimestampTest, StaleIsInvalid) {
  const VerifyOutcome outcome = verify_at(kNow - 301, kNow);
  EXPECT_FALSE(outcome.valid);
  EXPECT_EQ(outcome.reason, "timestamp outside tolerance");
  EXPECT_FALSE(verify_at(kNow - 86400, kNow).valid);
}

TEST_P(TimestampTest, FutureIsInvalid) {
  EXPECT_FALSE(verify_at(kNow + 301, kNow).valid);
  EXPECT_FALSE(verify_at(kNow + 86400, kNow).valid);
}

TEST_P(TimestampTest, WithinToleranceIsValid) {
  EXPECT_TRUE(verify_at(kNow - 300, kNow).valid);
  EXPECT_TRUE(verify_at(kNow + 300, kNow).valid);
  EXPECT_TRUE(verify_at(kNow - 299, kNow).valid);
  EXPECT_TRUE(verify_at(kNow + 5, kNow).valid);
}

TEST_P(TimestampTest, ConfiguredTolerance) {
  EXPECT_TRUE(verify_at(kNow - 10, kNow, std::chrono::seconds{10}).valid);
  EXPECT_FALSE(verify_at(kNow - 11, kNow, std::chrono::seconds{10}).valid);
  EXPECT_FALSE(verify_at(kNow + 11, kNow, std::chrono::seconds{10}).valid);
}

TEST_P(TimestampTest, MalformedTimestampIsInvalid) {
  const KindCase& c = GetParam();
  const std::string secret = secret_for(c, 1);
  SourceSettings s = c.settings;
  s.secrets.emplace_back(secret);
  auto source = build(s);
  ASSERT_TRUE(source);
  for (const std::string bad :
       {"-1700000000", "1700000000.5", "+1700000000", "", "abc", "99999999999999999999999"}) {
    HeaderList headers = c.sign(c.body, secret, kNow);
    // Re-sign over the bad timestamp text so only the timestamp check can refuse it.
    if (c.settings.kind == SourceKind::kStandard) {
      set_header(headers, "webhook-timestamp", bad);
    } else {
      set_header(headers, "Stripe-Signature",
                 "t=" + bad + ",v1=" + hex_hmac(secret, bad + "." + c.body));
    }
    const Request request(headers, c.body);
    EXPECT_FALSE(source->verify(request.view(), at_unix(kNow)).valid) << bad;
  }
}

INSTANTIATE_TEST_SUITE_P(TimestampedKinds, TimestampTest,
                         ::testing::Values(standard_case(), stripe_case()),
                         [](const auto& info) { return info.param.label; });

// ---------------------------------------------------------------------------------------
// describe(): content types, parsing, id/type/key per kind.

Result<EventInfo> describe(const SourceSettings& settings, HeaderList headers, std::string body) {
  auto source = build(settings);
  if (!source) return Error::internal("no source");
  const Request request(std::move(headers), std::move(body));
  return source->describe(request.view());
}

void expect_error(const Result<EventInfo>& info, ErrorCode code,
                  std::string_view body_marker = {}) {
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, code) << info.error().message;
  EXPECT_FALSE(info.error().message.empty());
  if (!body_marker.empty()) {
    EXPECT_EQ(info.error().message.find(body_marker), std::string::npos) << info.error().message;
  }
}

SourceSettings kind(SourceKind k) {
  return settings_for(k, {"s3cr3t-value"});
}

// -- dropbox

TEST(DropboxDescribe, ContentTypes) {
  const std::string body = R"({"delta":{"users":[1]}})";
  EXPECT_TRUE(describe(kind(SourceKind::kDropbox),
                       {{"Content-Type", "Application/JSON; charset=utf-8"}}, body)
                  .ok());
  expect_error(describe(kind(SourceKind::kDropbox), {{"Content-Type", "text/plain"}}, body),
               ErrorCode::kUnsupported);
  expect_error(describe(kind(SourceKind::kDropbox), {}, body), ErrorCode::kUnsupported);

  SourceSettings custom = kind(SourceKind::kDropbox);
  custom.content_types = {"text/plain"};
  EXPECT_TRUE(describe(custom, {{"Content-Type", "text/plain"}}, body).ok());
  expect_error(describe(custom, {{"Content-Type", "application/json"}}, body),
               ErrorCode::kUnsupported);
}

TEST(DropboxDescribe, MalformedJsonIsInvalidArgument) {
  for (const std::string body : {"", "{", R"({"delta": SECRETMARKER})", R"({"a":1} trailing)",
                                 R"({"a":[1,2,]})", "{\"a\":\"\xff\"}", R"({"a":"\q"})", "nul"}) {
    expect_error(describe(kind(SourceKind::kDropbox), {{"Content-Type", "application/json"}}, body),
                 ErrorCode::kInvalidArgument, "SECRETMARKER");
  }
}

TEST(DropboxDescribe, IdIsBodyHash) {
  const std::string body = R"({"list_folder":{"accounts":["dbid:a"]}})";
  auto info = describe(kind(SourceKind::kDropbox), {{"Content-Type", "application/json"}}, body);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->event_id, codec::hex_encode(crypto::sha256(body)));
  EXPECT_EQ(info->event_id.size(), 64u);
}

// -- chargify

const HeaderList kForm = {{"Content-Type", "application/x-www-form-urlencoded"}};

TEST(ChargifyDescribe, RawBrackets) {
  auto info = describe(kind(SourceKind::kChargify), kForm,
                       "id=77&event=signup_success&payload[subscription][id]=15236915&"
                       "payload[subscription][state]=active");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->event_id, "77");
  EXPECT_EQ(info->event_type, "signup_success");
  EXPECT_EQ(info->key, "15236915");
}

TEST(ChargifyDescribe, PercentEncodedBrackets) {
  for (const std::string body :
       {"payload%5Bsubscription%5D%5Bid%5D=15236915&id=78&event=renewal_success",
        "payload%5bsubscription%5d%5bid%5d=15236915&id=78&event=renewal_success",
        "payload[subscription%5D%5Bid]=15236915&id=78&event=renewal_success"}) {
    auto info = describe(kind(SourceKind::kChargify), kForm, body);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->event_id, "78");
    EXPECT_EQ(info->event_type, "renewal_success");
    EXPECT_EQ(info->key, "15236915") << body;
  }
}

TEST(ChargifyDescribe, KeyFallsBackToEventId) {
  auto info = describe(kind(SourceKind::kChargify), kForm,
                       "id=123456&event=test&payload[chargify]=testing&"
                       "payload[subscription][customer][id]=5");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->key, "123456");
}

TEST(ChargifyDescribe, ContentTypeCharsetParameterIsAccepted) {
  EXPECT_TRUE(describe(kind(SourceKind::kChargify),
                       {{"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"}},
                       "id=1&event=test")
                  .ok());
}

TEST(ChargifyDescribe, Errors) {
  const auto k = kind(SourceKind::kChargify);
  expect_error(describe(k, kForm, "event=test&payload[x]=SECRETMARKER"),
               ErrorCode::kInvalidArgument, "SECRETMARKER");
  expect_error(describe(k, kForm, "id=1&payload[x]=SECRETMARKER"), ErrorCode::kInvalidArgument,
               "SECRETMARKER");
  expect_error(describe(k, kForm, "id=&event=test"), ErrorCode::kInvalidArgument);
  expect_error(describe(k, kForm, "id=1&event=test&payload[x]=SECRETMARKER%ZZ"),
               ErrorCode::kInvalidArgument, "SECRETMARKER");
  expect_error(describe(k, kForm, "id=1&event=test&payload%5=x"), ErrorCode::kInvalidArgument);
  expect_error(describe(k, {{"Content-Type", "application/json"}}, R"({"id":1,"event":"x"})"),
               ErrorCode::kUnsupported);
  expect_error(describe(k, {}, "id=1&event=test"), ErrorCode::kUnsupported);
}

// -- github

HeaderList github_headers(std::string content_type) {
  return {{"Content-Type", std::move(content_type)},
          {"X-GitHub-Event", "push"},
          {"X-GitHub-Delivery", "f3a1b2c4-0000-11ee-8000-000000000001"}};
}

TEST(GithubDescribe, JsonBody) {
  auto info = describe(kind(SourceKind::kGithub), github_headers("application/json"),
                       R"({"ref":"refs/heads/main","repository":{"id":1,"full_name":"octo/app"}})");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->event_id, "f3a1b2c4-0000-11ee-8000-000000000001");
  EXPECT_EQ(info->event_type, "push");
  EXPECT_EQ(info->key, "octo/app");
}

TEST(GithubDescribe, WithoutRepositoryKeyIsEventId) {
  for (const std::string body : {R"({"zen":"x","hook_id":1})", R"({"repository":null})",
                                 R"({"repository":{"full_name":42}})"}) {
    auto info = describe(kind(SourceKind::kGithub), github_headers("application/json"), body);
    ASSERT_TRUE(info.ok()) << body;
    EXPECT_EQ(info->key, "f3a1b2c4-0000-11ee-8000-000000000001") << body;
  }
}

TEST(GithubDescribe, FormEncodedPayload) {
  const std::string json = R"({"ref":"refs/tags/v1","repository":{"full_name":"octo/a b+c"}})";
  const std::string body = "payload=" + codec::percent_encode(json, false);
  auto info = describe(kind(SourceKind::kGithub),
                       github_headers("application/x-www-form-urlencoded"), body);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->key, "octo/a b+c");
  EXPECT_EQ(info->event_type, "push");
}

TEST(GithubDescribe, Errors) {
  const auto k = kind(SourceKind::kGithub);
  const auto form = github_headers("application/x-www-form-urlencoded");
  expect_error(describe(k, form, "other=SECRETMARKER"), ErrorCode::kInvalidArgument,
               "SECRETMARKER");
  expect_error(describe(k, form, "payload=%7Bnot+json+SECRETMARKER"), ErrorCode::kInvalidArgument,
               "SECRETMARKER");
  expect_error(describe(k, form, "payload=%7B%ZZ"), ErrorCode::kInvalidArgument);
  expect_error(describe(k, github_headers("application/json"), "{\"SECRETMARKER\":"),
               ErrorCode::kInvalidArgument, "SECRETMARKER");
  expect_error(describe(k, github_headers("text/plain"), "{}"), ErrorCode::kUnsupported);
  expect_error(describe(k, {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "d"}}, "{}"),
               ErrorCode::kUnsupported);

  HeaderList no_event = github_headers("application/json");
  remove_header(no_event, "X-GitHub-Event");
  expect_error(describe(k, no_event, "{}"), ErrorCode::kInvalidArgument);
  HeaderList no_delivery = github_headers("application/json");
  remove_header(no_delivery, "X-GitHub-Delivery");
  expect_error(describe(k, no_delivery, "{}"), ErrorCode::kInvalidArgument);
}

// -- standard

TEST(StandardDescribe, TypeAndKey) {
  SourceSettings s = settings_for(SourceKind::kStandard, {kStandardVectorSecret});
  const HeaderList headers = {
      {"Content-Type", "application/json"}, {"webhook-id", "msg_1"}, {"X-Tenant", "tenant-7"}};
  auto info = describe(s, headers, R"({"type":"user.created","data":{"id":"u_1"}})");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->event_id, "msg_1");
  EXPECT_EQ(info->event_type, "user.created");
  EXPECT_FALSE(info->key.has_value());

  s.key = {FieldRef::From::kJsonPointer, "/data/id"};
  info = describe(s, headers, R"({"type":"user.created","data":{"id":"u_1"}})");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->key, "u_1");
  expect_error(describe(s, headers, R"({"type":"user.created","data":{}})"),
               ErrorCode::kInvalidArgument);

  s.key = {FieldRef::From::kHeader, "X-Tenant"};
  info = describe(s, headers, R"({"data":{}})");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->key, "tenant-7");
  EXPECT_EQ(info->event_type, "");
}

TEST(StandardDescribe, Errors) {
  const SourceSettings s = settings_for(SourceKind::kStandard, {kStandardVectorSecret});
  expect_error(describe(s, {{"Content-Type", "application/json"}, {"webhook-id", "m"}},
                        "{\"type\":SECRETMARKER}"),
               ErrorCode::kInvalidArgument, "SECRETMARKER");
  expect_error(describe(s, {{"Content-Type", "text/plain"}, {"webhook-id", "m"}}, "{}"),
               ErrorCode::kUnsupported);
  expect_error(describe(s, {{"Content-Type", "application/json"}}, "{}"),
               ErrorCode::kInvalidArgument);
}

TEST(StandardSettings, UndecodableSecretIsAConfigurationError) {
  for (const std::string secret : {"whsec_not*base64!", "whsec_", "whsec_abcde"}) {
    auto source = make_source(settings_for(SourceKind::kStandard, {secret}));
    ASSERT_FALSE(source.ok()) << secret;
    expect_no_leak(source.error().message, {secret.substr(6)});
  }
}

// -- stripe

TEST(StripeDescribe, IdTypeAndKey) {
  SourceSettings s = settings_for(SourceKind::kStripe, {"whsec_x"});
  const HeaderList json = {{"Content-Type", "application/json"}};
  const std::string body =
      R"({"id":"evt_1N","object":"event","type":"invoice.paid","data":{"object":{"customer":"cus_9"}}})";
  auto info = describe(s, json, body);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->event_id, "evt_1N");
  EXPECT_EQ(info->event_type, "invoice.paid");
  EXPECT_FALSE(info->key.has_value());

  s.key = {FieldRef::From::kJsonPointer, "/data/object/customer"};
  info = describe(s, json, body);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->key, "cus_9");
}

TEST(StripeDescribe, Errors) {
  const SourceSettings s = settings_for(SourceKind::kStripe, {"whsec_x"});
  const HeaderList json = {{"Content-Type", "application/json"}};
  expect_error(describe(s, json, R"({"type":"invoice.paid"})"), ErrorCode::kInvalidArgument);
  expect_error(describe(s, json, R"({"id":"evt_1"})"), ErrorCode::kInvalidArgument);
  expect_error(describe(s, json, R"({"id":"","type":"x"})"), ErrorCode::kInvalidArgument);
  expect_error(describe(s, json, R"({"id":{"a":1},"type":"x"})"), ErrorCode::kInvalidArgument);
  expect_error(describe(s, json, R"({"id":"SECRETMARKER")"), ErrorCode::kInvalidArgument,
               "SECRETMARKER");
  expect_error(describe(s, {{"Content-Type", "application/x-www-form-urlencoded"}},
                        R"({"id":"e","type":"t"})"),
               ErrorCode::kUnsupported);
}

// -- hmac

TEST(HmacDescribe, ShopifyStyleHeaders) {
  const KindCase c = shopify_case();
  SourceSettings s = c.settings;
  s.secrets.emplace_back("k");
  auto info = describe(s, c.sign(c.body, "k", kNow), c.body);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->event_id, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
  EXPECT_EQ(info->event_type, "orders/create");
  EXPECT_FALSE(info->key.has_value());
}

TEST(HmacDescribe, DefaultsNeedNoJson) {
  SourceSettings s = settings_for(SourceKind::kHmac, {"k"});
  s.name = "acme";
  s.hmac.header = "X-Sig";
  const std::string body = "not json at all";
  auto info = describe(s, {{"Content-Type", "text/plain"}}, body);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->event_id, codec::hex_encode(crypto::sha256(body)));
  EXPECT_EQ(info->event_type, "acme");
  EXPECT_FALSE(info->key.has_value());
  EXPECT_TRUE(describe(s, {}, body).ok());  // no content type restriction by default
}

TEST(HmacDescribe, JsonPointers) {
  SourceSettings s = settings_for(SourceKind::kHmac, {"k"});
  s.hmac.header = "X-Sig";
  s.id = {FieldRef::From::kJsonPointer, "/event/id"};
  s.type = {FieldRef::From::kJsonPointer, "/event/kind"};
  s.key = {FieldRef::From::kJsonPointer, "/a~1b/0"};
  const HeaderList json = {{"Content-Type", "application/json"}};
  auto info = describe(s, json, R"({"event":{"id":9007199254740993,"kind":"x.y"},"a/b":[-12]})");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->event_id, "9007199254740993");  // as written, not via a double
  EXPECT_EQ(info->event_type, "x.y");
  EXPECT_EQ(info->key, "-12");

  info = describe(s, json, R"({"event":{"id":"e\u00e9","kind":"t"},"a/b":["k"]})");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->event_id, "e\xc3\xa9");
}

TEST(HmacDescribe, Errors) {
  SourceSettings s = settings_for(SourceKind::kHmac, {"k"});
  s.hmac.header = "X-Sig";
  s.id = {FieldRef::From::kJsonPointer, "/id"};
  s.type = {FieldRef::From::kHeader, "X-Topic"};
  const HeaderList ok_headers = {{"Content-Type", "application/json"}, {"X-Topic", "t"}};
  EXPECT_TRUE(describe(s, ok_headers, R"({"id":"e"})").ok());
  expect_error(describe(s, ok_headers, R"({"id":null})"), ErrorCode::kInvalidArgument);
  expect_error(describe(s, ok_headers, R"({"id":{"x":"SECRETMARKER"}})"),
               ErrorCode::kInvalidArgument, "SECRETMARKER");
  expect_error(describe(s, ok_headers, R"({"id":true})"), ErrorCode::kInvalidArgument);
  expect_error(describe(s, ok_headers, R"({"other":"e"})"), ErrorCode::kInvalidArgument);
  expect_error(describe(s, ok_headers, "SECRETMARKER"), ErrorCode::kInvalidArgument,
               "SECRETMARKER");
  expect_error(describe(s, {{"Content-Type", "application/json"}}, R"({"id":"e"})"),
               ErrorCode::kInvalidArgument);
  expect_error(
      describe(s, {{"Content-Type", "application/json"}, {"X-Topic", ""}}, R"({"id":"e"})"),
      ErrorCode::kInvalidArgument);
  expect_error(describe(s, {{"Content-Type", "text/plain"}, {"X-Topic", "t"}}, R"({"id":"e"})"),
               ErrorCode::kUnsupported);
}

TEST(HmacSettings, ConfigurationErrors) {
  SourceSettings s = settings_for(SourceKind::kHmac, {"k"});
  EXPECT_FALSE(make_source(s).ok());  // no header
  s.hmac.header = "X-Sig";
  EXPECT_TRUE(make_source(s).ok());
  s.id = {FieldRef::From::kJsonPointer, "id"};
  EXPECT_FALSE(make_source(s).ok());
  s.id = {FieldRef::From::kJsonPointer, "/a~2"};
  EXPECT_FALSE(make_source(s).ok());
  s.id = {FieldRef::From::kJsonPointer, ""};
  EXPECT_FALSE(make_source(s).ok());
  s.id = {FieldRef::From::kHeader, ""};
  EXPECT_FALSE(make_source(s).ok());
  s.id = {};
  s.content_types = {" "};
  EXPECT_FALSE(make_source(s).ok());
  s.content_types = {};
  s.tolerance = std::chrono::seconds{-1};
  EXPECT_FALSE(make_source(s).ok());
}

// ---------------------------------------------------------------------------------------
// Kinds, JSON edge cases, concurrency.

TEST(SourceKindTest, RoundTrip) {
  for (const SourceKind k : {SourceKind::kDropbox, SourceKind::kChargify, SourceKind::kGithub,
                             SourceKind::kStandard, SourceKind::kStripe, SourceKind::kHmac}) {
    auto parsed = parse_source_kind(to_string(k));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_STREQ(to_string(SourceKind::kStandard), "standard");
  EXPECT_FALSE(parse_source_kind("GitHub").ok());
  EXPECT_FALSE(parse_source_kind("svix").ok());
  EXPECT_FALSE(parse_source_kind("").ok());
}

TEST(JsonBodies, PaddedAndUnpaddedBodiesParseAlike) {
  const std::string json = R"({"repository":{"full_name":"o/r"}})";
  std::string padded = json;
  padded.reserve(json.size() + 256);
  std::string tight = json;
  tight.shrink_to_fit();
  for (const std::string* body : {&padded, &tight}) {
    auto source = build(kind(SourceKind::kGithub));
    ASSERT_TRUE(source);
    const HeaderList h = github_headers("application/json");
    http::Headers headers;
    for (const auto& [n, v] : h) headers.add(n, v);
    auto info = source->describe({"POST", "/", headers, *body});
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->key, "o/r");
  }
}

TEST(JsonBodies, LargeBodyUsesItsOwnParserAndStillValidates) {
  std::string body = R"({"repository":{"full_name":"big/repo"},"commits":[)";
  while (body.size() < (3u << 20)) body += R"({"id":"0123456789abcdef","message":"m"},)";
  body += R"({"id":"last"}]})";
  auto info = describe(kind(SourceKind::kGithub), github_headers("application/json"), body);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->key, "big/repo");

  body.insert(body.size() - 20, "x");  // breaks the last object
  expect_error(describe(kind(SourceKind::kGithub), github_headers("application/json"), body),
               ErrorCode::kInvalidArgument);
  // A small body afterwards still works on the thread's parser.
  EXPECT_TRUE(
      describe(kind(SourceKind::kDropbox), {{"Content-Type", "application/json"}}, "{}").ok());
}

// Validation decodes every string and number (On-Demand alone would skip what no pointer reads):
// where the line between valid and refused lies, in objects and in arrays.
TEST(JsonBodies, EveryStringAndNumberIsChecked) {
  const HeaderList json = {{"Content-Type", "application/json"}};
  for (const std::string value :
       {R"("plain")", R"("")", R"("esc \" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00")", "0", "-0",
        "7", "123456789012345678", "-123456789012345678", "1234567890123456789012345", "0.5",
        "-12.250", "1.123456789012345678901", "1e5", "1.5E-3", "-2e+2", "1e-400"}) {
    for (const std::string& body : {R"({"a":)" + value + "}", R"({"b":[)" + value + " , 1 ]}"}) {
      EXPECT_TRUE(describe(kind(SourceKind::kDropbox), json, body).ok()) << body;
    }
  }
  for (const std::string value :
       {R"("\q")", R"("\u12")", R"("a\")", "01", "-01", "1.", "-", ".5", "+1", "1e", "1e400",
        "-1e400", "1x", "0x10", "--1", "1.2.3", "1.5.", "1e5e5", "Infinity", "NaN"}) {
    for (const std::string& body : {R"({"a":)" + value + "}", R"({"b":[)" + value + " , 1 ]}"}) {
      expect_error(describe(kind(SourceKind::kDropbox), json, body), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(JsonBodies, DeepNestingIsRefusedNotACrash) {
  const std::string shallow = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_TRUE(
      describe(kind(SourceKind::kDropbox), {{"Content-Type", "application/json"}}, shallow).ok());
  const std::string deep = "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  expect_error(describe(kind(SourceKind::kDropbox), {{"Content-Type", "application/json"}}, deep),
               ErrorCode::kInvalidArgument);
}

// SPEC §3: for the kinds whose payload is by definition a JSON object, valid JSON with any
// other root does not parse "for its kind" (deploy-worker would only dead-letter it).
struct ObjectKindCase {
  std::string label;
  SourceSettings settings;
  HeaderList headers;
  std::string object_body;  // accepted
  // The body that carries `json` (GitHub's form encoding wraps it in a payload field).
  std::function<std::string(const std::string& json)> wrap = [](const std::string& j) { return j; };
};

void PrintTo(const ObjectKindCase& c, std::ostream* os) {
  *os << c.label;
}

std::vector<ObjectKindCase> object_kind_cases() {
  const HeaderList json = {{"Content-Type", "application/json"}};
  std::vector<ObjectKindCase> cases;
  cases.push_back({"github_json", kind(SourceKind::kGithub), github_headers("application/json"),
                   R"({"repository":{"full_name":"o/r"}})"});
  ObjectKindCase form{"github_form", kind(SourceKind::kGithub),
                      github_headers("application/x-www-form-urlencoded"),
                      R"({"repository":{"full_name":"o/r"}})"};
  form.wrap = [](const std::string& j) { return "payload=" + codec::percent_encode(j, true); };
  cases.push_back(std::move(form));
  cases.push_back({"dropbox", kind(SourceKind::kDropbox), json, R"({"delta":{"users":[1]}})"});
  cases.push_back({"standard",
                   settings_for(SourceKind::kStandard, {kStandardVectorSecret}),
                   {{"Content-Type", "application/json"}, {"webhook-id", "msg_1"}},
                   R"({"type":"user.created"})"});
  cases.push_back({"stripe", settings_for(SourceKind::kStripe, {"whsec_x"}), json,
                   R"({"id":"evt_1","type":"invoice.paid"})"});
  return cases;
}

class ObjectRootTest : public ::testing::TestWithParam<ObjectKindCase> {};

TEST_P(ObjectRootTest, ObjectRootIsAccepted) {
  const ObjectKindCase& c = GetParam();
  auto info = describe(c.settings, c.headers, c.wrap(c.object_body));
  ASSERT_TRUE(info.ok()) << info.error().message;
  // Whitespace around the object is still one object.
  EXPECT_TRUE(describe(c.settings, c.headers, c.wrap(" \n" + c.object_body + " \n")).ok());
}

TEST_P(ObjectRootTest, ValidJsonThatIsNotAnObjectIs400) {
  const ObjectKindCase& c = GetParam();
  // Arrays (including one whose only element would pass as the payload), strings, numbers,
  // booleans and null.
  for (const std::string& root : std::vector<std::string>{
           "[1,2]", "[]", " [ ] ", "[" + c.object_body + "]", R"("str")", R"("{\"id\":\"evt_1\"}")",
           "42", "-1.5e3", "0", "null", "true", "false"}) {
    auto info = describe(c.settings, c.headers, c.wrap(root));
    ASSERT_FALSE(info.ok()) << root;
    EXPECT_EQ(info.error().code, ErrorCode::kInvalidArgument) << root;
    EXPECT_EQ(info.error().message, "body is not a JSON object") << root;
  }
}

TEST_P(ObjectRootTest, InvalidJsonStaysInvalidJsonWhateverItsRoot) {
  const ObjectKindCase& c = GetParam();
  for (const std::string body : {"[1,", "[1] x", "\"open", "nul", "{} []"}) {
    auto info = describe(c.settings, c.headers, c.wrap(body));
    ASSERT_FALSE(info.ok()) << body;
    EXPECT_EQ(info.error().code, ErrorCode::kInvalidArgument) << body;
    EXPECT_EQ(info.error().message, "body is not valid JSON") << body;
  }
}

INSTANTIATE_TEST_SUITE_P(ObjectKinds, ObjectRootTest, ::testing::ValuesIn(object_kind_cases()),
                         [](const auto& info) { return info.param.label; });

// The generic kind promises nothing about the payload: its body need not be JSON, and with
// pointers configured an array root is addressable.
TEST(HmacDescribe, AnyJsonRootIsAccepted) {
  SourceSettings s = settings_for(SourceKind::kHmac, {"k"});
  s.hmac.header = "X-Sig";
  s.id = {FieldRef::From::kJsonPointer, "/0/id"};
  const HeaderList json = {{"Content-Type", "application/json"}};
  auto info = describe(s, json, R"([{"id":"evt_7"},2])");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->event_id, "evt_7");
  // A scalar root is valid JSON too; the pointer just does not resolve there.
  expect_error(describe(s, json, "42"), ErrorCode::kInvalidArgument);
  SourceSettings no_pointers = settings_for(SourceKind::kHmac, {"k"});
  no_pointers.hmac.header = "X-Sig";
  EXPECT_TRUE(describe(no_pointers, json, "[1,2]").ok());
}

TEST(Concurrency, ManyThreadsShareOneSource) {
  const KindCase c = github_case();
  SourceSettings s = c.settings;
  s.secrets.emplace_back("k");
  auto source = build(s);
  ASSERT_TRUE(source);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string body =
            R"({"repository":{"full_name":"o/)" + std::to_string(t * 1000 + i) + R"("}})";
        const Request request(c.sign(body, "k", kNow), body);
        auto info = source->describe(request.view());
        const bool ok = source->verify(request.view(), at_unix(kNow)).valid && info.ok() &&
                        info->key == "o/" + std::to_string(t * 1000 + i);
        if (!ok) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace wi::ingest
