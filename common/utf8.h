#pragma once
// UTF-8 well-formedness (RFC 3629): the one decoder behind JSON output, /metrics label values,
// record headers, `ingestctl tail` and mail templates.

#include <cstddef>
#include <string>
#include <string_view>

namespace wi::utf8 {

// Length of the well-formed UTF-8 sequence starting at s[at] (1 to 4), or 0 when it is
// malformed: truncated, overlong, a UTF-16 surrogate, beyond U+10FFFF, or a stray byte; 0
// too when `at` is at or past the end.
std::size_t sequence_length(std::string_view s, std::size_t at = 0);

// True when all of `s` is well-formed UTF-8.
bool is_valid(std::string_view s);

// `s` with each byte that does not start a well-formed sequence replaced by U+FFFD.
std::string sanitize(std::string_view s);

}  // namespace wi::utf8
