// libFuzzer harness for every source kind's signature-header parsing and event-id/type/key
// extraction (what ingestd runs on each request, in ingest/sources/):
//   raw mode    — fuzzer-chosen signature, timestamp, id and content-type headers and body:
//                 verify() must never accept (nobody here knows the secret) and never crash;
//   signed mode — the fuzzed body and ids signed correctly (sign_request): verify() must
//                 accept, and describe() must parse the body or refuse it cleanly.

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ingest/sources/signer.h"
#include "ingest/sources/source.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace wi;
using namespace wi::ingest;

SourceSettings settings_for(SourceKind kind, std::string secret) {
  SourceSettings s;
  s.name = std::string(to_string(kind)) + "-fuzz";
  s.kind = kind;
  s.secrets.emplace_back(std::move(secret));
  return s;
}

std::vector<SourceSettings> all_settings() {
  std::vector<SourceSettings> out;
  out.push_back(settings_for(SourceKind::kDropbox, "dropbox-app-secret"));
  out.push_back(settings_for(SourceKind::kChargify, "chargify-shared-key"));
  out.push_back(settings_for(SourceKind::kGithub, "github-webhook-secret"));
  out.push_back(settings_for(SourceKind::kStandard, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
  out.push_back(settings_for(SourceKind::kStripe, "whsec_stripe_secret"));
  SourceSettings shopify = settings_for(SourceKind::kHmac, "shopify-app-secret");
  shopify.hmac = {"X-Shopify-Hmac-Sha256", "", HmacScheme::Encoding::kBase64,
                  crypto::DigestAlgo::kSha256};
  shopify.id = {FieldRef::From::kHeader, "X-Shopify-Webhook-Id"};
  shopify.type = {FieldRef::From::kHeader, "X-Shopify-Topic"};
  shopify.key = {FieldRef::From::kHeader, "X-Shopify-Shop-Domain"};
  out.push_back(shopify);
  SourceSettings sha512 = settings_for(SourceKind::kHmac, "sha512-secret-value");
  sha512.hmac = {"X-Signature", "sha512=", HmacScheme::Encoding::kHex, crypto::DigestAlgo::kSha512};
  sha512.id = {FieldRef::From::kJsonPointer, "/event/id"};
  sha512.type = {FieldRef::From::kJsonPointer, "/event/type"};
  sha512.key = {FieldRef::From::kJsonPointer, "/account"};
  out.push_back(sha512);
  return out;
}

struct Built {
  SourceSettings settings;
  std::unique_ptr<Source> source;
};

const std::vector<Built>& sources() {
  static const std::vector<Built> built = [] {
    std::vector<Built> out;
    for (auto& s : all_settings()) {
      auto source = make_source(s);
      FUZZ_CHECK(source.ok());
      out.push_back({s, std::move(source).value()});
    }
    return out;
  }();
  return built;
}

constexpr std::array<const char*, 16> kHeaderNames = {
    "X-Dropbox-Signature", "X-Chargify-Webhook-Signature-Hmac-Sha-256", "X-Hub-Signature-256",
    "X-GitHub-Event",      "X-GitHub-Delivery",  "webhook-id",          "webhook-timestamp",
    "webhook-signature",   "Stripe-Signature",   "X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id",
    "X-Shopify-Topic",     "X-Signature",        "Content-Type",        "X-Shopify-Shop-Domain",
    "webhook-key"};

const SystemTime kNow{std::chrono::seconds{1'760'000'000}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const auto& all = sources();
  const Built& b = all[in.ConsumeIntegralInRange<std::size_t>(0, all.size() - 1)];
  const bool signed_mode = in.ConsumeBool();
  http::Headers headers;
  std::string body;
  if (signed_mode) {
    SignOptions options;
    if (in.ConsumeBool()) options.event_id = in.ConsumeRandomLengthString(64);
    if (in.ConsumeBool()) options.event = in.ConsumeRandomLengthString(64);
    if (in.ConsumeBool()) options.key = in.ConsumeRandomLengthString(64);
    body = in.ConsumeRemainingBytesAsString();
    auto signed_headers = sign_request(b.settings, body, kNow, options);
    if (!signed_headers) return 0;  // e.g. an id the kind cannot carry
    for (const auto& h : *signed_headers) headers.add(h.name, h.value);
  } else {
    const int count = in.ConsumeIntegralInRange<int>(0, 8);
    for (int i = 0; i < count; ++i) {
      const char* name = kHeaderNames[in.ConsumeIntegralInRange<std::size_t>(0, kHeaderNames.size() - 1)];
      headers.add(name, in.ConsumeRandomLengthString(256));
    }
    body = in.ConsumeRemainingBytesAsString();
  }
  body.reserve(body.size() + 64);  // the padding ingestd's parser leaves for in-place JSON
  const InboundRequest request{"POST", "/webhooks/fuzz", headers, body};
  const VerifyOutcome outcome = b.source->verify(request, kNow);
  FUZZ_CHECK(outcome.valid == signed_mode);
  if (!outcome.valid) FUZZ_CHECK(!outcome.reason.empty());
  auto info = b.source->describe(request);
  // A body that does not parse for its kind is a clean 400/415, never anything else.
  if (!info) {
    FUZZ_CHECK(info.error().code == ErrorCode::kInvalidArgument ||
               info.error().code == ErrorCode::kUnsupported);
  }
  return 0;
}
