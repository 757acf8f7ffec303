#include "ingest/sources/source.h"

#include <string>

#include "common/http/headers.h"
#include "ingest/sources/field_ref.h"
#include "ingest/sources/kinds.h"

namespace wi::ingest {
namespace {

constexpr SourceKind kAllKinds[] = {SourceKind::kDropbox, SourceKind::kChargify,
                                    SourceKind::kGithub,  SourceKind::kStandard,
                                    SourceKind::kStripe,  SourceKind::kHmac};

// What every kind requires of its settings.
Status validate_common(const SourceSettings& settings) {
  for (std::size_t i = 0; i < settings.secrets.size(); ++i) {
    // An empty HMAC key is a key anyone can sign with.
    if (settings.secrets[i].empty()) {
      return Error::invalid("secret " + std::to_string(i + 1) + " is empty");
    }
  }
  if (settings.tolerance.count() < 0) return Error::invalid("tolerance is negative");
  for (const auto& type : settings.content_types) {
    if (http::media_type(type).empty()) return Error::invalid("empty content type");
  }
  if (auto s = validate_field_ref(settings.id, "id"); !s) return s;
  if (auto s = validate_field_ref(settings.type, "type"); !s) return s;
  return validate_field_ref(settings.key, "key");
}

SourceResult make_kind(const SourceSettings& settings) {
  switch (settings.kind) {
    case SourceKind::kDropbox:
      return make_dropbox_source(settings);
    case SourceKind::kChargify:
      return make_chargify_source(settings);
    case SourceKind::kGithub:
      return make_github_source(settings);
    case SourceKind::kStandard:
      return make_standard_source(settings);
    case SourceKind::kStripe:
      return make_stripe_source(settings);
    case SourceKind::kHmac:
      return make_hmac_source(settings);
  }
  return Error::invalid("unknown source kind");
}

}  // namespace

Result<SourceKind> parse_source_kind(std::string_view name) {
  for (const SourceKind kind : kAllKinds) {
    if (name == to_string(kind)) return kind;
  }
  return Error::invalid("unknown source kind \"" + std::string(name) +
                        "\" (expected dropbox, chargify, github, standard, stripe or hmac)");
}

const char* to_string(SourceKind kind) {
  switch (kind) {
    case SourceKind::kDropbox:
      return "dropbox";
    case SourceKind::kChargify:
      return "chargify";
    case SourceKind::kGithub:
      return "github";
    case SourceKind::kStandard:
      return "standard";
    case SourceKind::kStripe:
      return "stripe";
    case SourceKind::kHmac:
      return "hmac";
  }
  return "unknown";
}

Result<std::unique_ptr<Source>> make_source(const SourceSettings& settings) {
  const std::string context = "source " + settings.name + " (" + to_string(settings.kind) + "): ";
  if (auto s = validate_common(settings); !s) return Error::invalid(context + s.error().message);
  auto source = make_kind(settings);
  if (!source) return Error::invalid(context + source.error().message);
  return source;
}

}  // namespace wi::ingest
