#pragma once
// The wire format of each signature scheme, defined once: the sources verify with these and
// the signer (ingestctl send / bench) produces them, so the two cannot drift apart.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/sources/signature.h"
#include "ingest/sources/source.h"

namespace wi::ingest::schemes {

// The kinds whose signature is one header holding prefix + encode(HMAC(raw body)).
HmacScheme dropbox();   // X-Dropbox-Signature: <hex>
HmacScheme chargify();  // X-Chargify-Webhook-Signature-Hmac-Sha-256: <hex>
HmacScheme github();    // X-Hub-Signature-256: sha256=<hex>
// The verifier for such a scheme.
HeaderSignature header_signature(const HmacScheme& scheme, std::vector<Secret> keys);

// GitHub's event id and type headers.
inline constexpr std::string_view kGithubDelivery = "X-GitHub-Delivery";
inline constexpr std::string_view kGithubEvent = "X-GitHub-Event";

// Standard Webhooks (Svix): three headers; the signature header is a space-separated list of
// "v1,<base64>"; signed content "<id>.<timestamp>.<body>".
inline constexpr std::string_view kStandardId = "webhook-id";
inline constexpr std::string_view kStandardTimestamp = "webhook-timestamp";
inline constexpr std::string_view kStandardSignature = "webhook-signature";
inline constexpr std::string_view kStandardV1 = "v1,";
inline constexpr HmacScheme::Encoding kStandardEncoding = HmacScheme::Encoding::kBase64;
inline constexpr crypto::DigestAlgo kStandardAlgo = crypto::DigestAlgo::kSha256;
std::string standard_signed_content(std::string_view id, std::string_view timestamp,
                                    std::string_view body);
// The HMAC key of a Standard Webhooks secret: base64-decoded after an optional "whsec_".
// nullopt when it is not base64 or decodes to nothing.
std::optional<std::string> standard_key(std::string_view secret);

// Stripe: "Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]"; signed content "<t>.<body>";
// the key is the whole secret string, "whsec_" included.
inline constexpr std::string_view kStripeSignature = "Stripe-Signature";
inline constexpr std::string_view kStripeTimestamp = "t=";
inline constexpr std::string_view kStripeV1 = "v1=";
inline constexpr HmacScheme::Encoding kStripeEncoding = HmacScheme::Encoding::kHex;
inline constexpr crypto::DigestAlgo kStripeAlgo = crypto::DigestAlgo::kSha256;
std::string stripe_signed_content(std::string_view timestamp, std::string_view body);

// A raw digest as a scheme sends it (lowercase hex, or standard base64): the inverse of what
// ReceivedSignatures decodes.
std::string encode_digest(HmacScheme::Encoding encoding, std::string_view raw_digest);
// prefix + encode(digest), as a HmacScheme header carries it.
std::string encode_signature(const HmacScheme& scheme, std::string_view raw_digest);

}  // namespace wi::ingest::schemes
