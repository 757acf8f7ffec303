#pragma once
// Resolving the configurable FieldRefs (event id, type, record key) of the standard, stripe
// and hmac kinds against a request.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/http/headers.h"
#include "ingest/sources/json_fields.h"
#include "ingest/sources/source.h"

namespace wi::ingest {

// Configuration check for make_source: a header needs a name, a pointer must name a member.
// `what` ("id", "type", "key") prefixes the message.
Status validate_field_ref(const FieldRef& ref, std::string_view what);

// Appends the JSON pointer `ref` reads, if any, so one parse serves every field.
void add_pointer(const FieldRef& ref, std::vector<std::string>& pointers);

// nullopt for From::kNone. A header must be present and non-empty; a pointer must resolve
// to a string or a number (numbers as written). Otherwise Error::invalid naming the header
// or pointer (configuration, safe to return), never a value from the request.
Result<std::optional<std::string>> resolve_field(const FieldRef& ref, const http::Headers& headers,
                                                 const JsonFields& json);

// An event id from `ref`: as resolve_field, but it must not be empty (ids deduplicate), and
// From::kNone gives the default, body_digest_id(body).
Result<std::string> resolve_event_id(const FieldRef& ref, const http::Headers& headers,
                                     const JsonFields& json, std::string_view body);

// The value of header `name`; Error::invalid naming the header when it is absent or empty.
Result<std::string> required_header(const http::Headers& headers, std::string_view name);

// The default event id when a kind has none: SHA-256 of the raw body, lowercase hex.
std::string body_digest_id(std::string_view body);

}  // namespace wi::ingest
