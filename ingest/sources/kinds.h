#pragma once
// One factory per source kind, each in <kind>_source.cpp. make_source() (source.cpp) checks
// what all kinds share (secrets, content types, field references) before calling these; a
// factory checks only what is particular to its kind. Internal to ingest/sources.

#include <memory>

#include "common/result.h"
#include "ingest/sources/source.h"

namespace wi::ingest {

using SourceResult = Result<std::unique_ptr<Source>>;

SourceResult make_dropbox_source(const SourceSettings& settings);
SourceResult make_chargify_source(const SourceSettings& settings);
SourceResult make_github_source(const SourceSettings& settings);
SourceResult make_standard_source(const SourceSettings& settings);
SourceResult make_stripe_source(const SourceSettings& settings);
SourceResult make_hmac_source(const SourceSettings& settings);

}  // namespace wi::ingest
