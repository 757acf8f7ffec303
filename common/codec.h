#pragma once
// Text encodings used by webhook signatures and bodies: hex, base64, percent-encoding and
// application/x-www-form-urlencoded. Decoders return nullopt / Error instead of throwing.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace wi::codec {

// Lowercase hex (what GitHub, Dropbox, Chargify and Stripe send).
std::string hex_encode(std::string_view bytes);
// Accepts upper and lower case. nullopt on odd length or a non-hex character.
std::optional<std::string> hex_decode(std::string_view hex);

// Standard alphabet (RFC 4648 section 4), '=' padded.
std::string base64_encode(std::string_view bytes);
// URL-safe alphabet (RFC 4648 section 5), no padding: for tokens placed in URLs/headers.
std::string base64url_encode(std::string_view bytes);
// Strict standard alphabet. Accepts correctly padded input, and unpadded input whose length
// mod 4 is 2 or 3. Rejects other characters (including whitespace and '-'/'_'), misplaced or
// partial padding, and length mod 4 == 1. Non-zero trailing bits are accepted.
std::optional<std::string> base64_decode(std::string_view text);

// Decodes %XX escapes (either hex case); with plus_as_space, '+' becomes ' ' (form encoding).
// nullopt on a truncated or non-hex escape. Other bytes pass through unchanged.
std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space);

// Every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX, upper-case
// hex, whatever the locale. With space_as_plus, ' ' becomes '+' instead (form encoding as
// browsers and Chargify write it); without, %20 (URLs, RFC 5987 parameters; form bodies accept
// it too). percent_decode(percent_encode(s, p), p) == s.
std::string percent_encode(std::string_view bytes, bool space_as_plus);

using FormFields = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded: split on '&', then on the first '=', and percent-decode
// names and values with '+' as space. Empty pairs are skipped; a name without '=' gets an
// empty value. Order and duplicates are kept. Bracket names stay as decoded text, so
// `payload%5Bid%5D` and `payload[id]` both yield `payload[id]`. A bad escape is
// Error::invalid naming the 0-based field index (never the content, which may be secret).
Result<FormFields> parse_form(std::string_view body);

}  // namespace wi::codec
