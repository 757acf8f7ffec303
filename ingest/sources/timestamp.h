#pragma once
// Replay protection for the schemes that sign a timestamp (Standard Webhooks, Stripe).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/clock.h"

namespace wi::ingest {

// Unix seconds as ASCII digits only (no sign, no spaces, at most 12 digits); else nullopt.
std::optional<std::int64_t> parse_unix_seconds(std::string_view text);

// |unix_seconds - now| <= tolerance, both directions (sender clocks run fast and slow).
bool within_tolerance(std::int64_t unix_seconds, SystemTime now, std::chrono::seconds tolerance);

}  // namespace wi::ingest
