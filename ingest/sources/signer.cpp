#include "ingest/sources/signer.h"

#include <chrono>
#include <utility>

#include "common/codec.h"
#include "common/crypto.h"
#include "ingest/sources/content_types.h"
#include "ingest/sources/schemes.h"

namespace wi::ingest {
namespace {

std::string default_content_type(const SourceSettings& settings) {
  if (!settings.content_types.empty()) return settings.content_types.front();
  return std::string(settings.kind == SourceKind::kChargify ? kFormMediaType : kJsonMediaType);
}

std::string unix_seconds(SystemTime now) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
}

// A header the settings read a field from (id, type or key of the configurable kinds). When
// two fields share a header, the first one's value stands.
void add_field_header(std::vector<http::Header>& out, const FieldRef& ref, std::string value) {
  if (ref.from != FieldRef::From::kHeader) return;
  for (const auto& h : out) {
    if (http::iequals(h.name, ref.name)) return;
  }
  out.push_back({ref.name, std::move(value)});
}

// Chargify puts its webhook id in a header as well as in the form; mirror that when the body
// has one.
void add_chargify_id(std::vector<http::Header>& out, const std::string& body) {
  auto fields = codec::parse_form(body);
  if (!fields) return;
  for (const auto& [name, value] : *fields) {
    if (name == "id" && !value.empty()) {
      out.push_back({"X-Chargify-Webhook-Id", value});
      return;
    }
  }
}

}  // namespace

std::string random_delivery_id() {
  std::string b = crypto::random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  const std::string hex = codec::hex_encode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

Result<std::vector<http::Header>> sign_request(const SourceSettings& settings,
                                               const std::string& body, SystemTime now,
                                               const SignOptions& options) {
  if (settings.secrets.empty() || settings.secrets.front().empty()) {
    return Error::invalid("source " + settings.name + " has no secret to sign with");
  }
  // Every kind's verifier treats an empty id header as missing: refuse to sign one.
  if (options.event_id && options.event_id->empty()) {
    return Error::invalid("the event id must not be empty");
  }
  const std::string& secret = settings.secrets.front().reveal();
  const std::string event_id = options.event_id.value_or(random_delivery_id());
  const std::string key = options.key.value_or(event_id);

  std::vector<http::Header> out;
  out.push_back({"Content-Type", options.content_type.value_or(default_content_type(settings))});
  auto sign_header = [&](const HmacScheme& scheme) {
    out.push_back({scheme.header, schemes::encode_signature(
                                      scheme, crypto::hmac(scheme.algorithm, secret, body))});
  };

  switch (settings.kind) {
    case SourceKind::kDropbox:
      sign_header(schemes::dropbox());
      break;
    case SourceKind::kChargify:
      add_chargify_id(out, body);
      sign_header(schemes::chargify());
      break;
    case SourceKind::kGithub:
      out.push_back({std::string(schemes::kGithubEvent), options.event.value_or("push")});
      out.push_back({std::string(schemes::kGithubDelivery), event_id});
      out.push_back({"User-Agent", "GitHub-Hookshot/ingestctl"});
      sign_header(schemes::github());
      break;
    case SourceKind::kStandard: {
      auto signing_key = schemes::standard_key(secret);
      if (!signing_key) {
        return Error::invalid("source " + settings.name +
                              ": the secret is not base64 (after an optional whsec_ prefix)");
      }
      const std::string timestamp = unix_seconds(now);
      const std::string digest =
          crypto::hmac(schemes::kStandardAlgo, *signing_key,
                       schemes::standard_signed_content(event_id, timestamp, body));
      out.push_back({std::string(schemes::kStandardId), event_id});
      out.push_back({std::string(schemes::kStandardTimestamp), timestamp});
      out.push_back({std::string(schemes::kStandardSignature),
                     std::string(schemes::kStandardV1) +
                         schemes::encode_digest(schemes::kStandardEncoding, digest)});
      add_field_header(out, settings.key, key);
      break;
    }
    case SourceKind::kStripe: {
      const std::string timestamp = unix_seconds(now);
      const std::string digest = crypto::hmac(schemes::kStripeAlgo, secret,
                                              schemes::stripe_signed_content(timestamp, body));
      out.push_back({std::string(schemes::kStripeSignature),
                     std::string(schemes::kStripeTimestamp) + timestamp + "," +
                         std::string(schemes::kStripeV1) +
                         schemes::encode_digest(schemes::kStripeEncoding, digest)});
      add_field_header(out, settings.key, key);
      break;
    }
    case SourceKind::kHmac:
      add_field_header(out, settings.id, event_id);
      add_field_header(out, settings.type, options.event.value_or(settings.name));
      add_field_header(out, settings.key, key);
      sign_header(settings.hmac);
      break;
  }
  return out;
}

}  // namespace wi::ingest
