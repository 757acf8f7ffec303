#include "ingest/sources/field_ref.h"

#include <utility>

#include "common/codec.h"
#include "common/crypto.h"

namespace wi::ingest {

Status validate_field_ref(const FieldRef& ref, std::string_view what) {
  switch (ref.from) {
    case FieldRef::From::kNone:
      return Status::success();
    case FieldRef::From::kHeader:
      if (ref.name.empty()) return Error::invalid(std::string(what) + ": header name is empty");
      return Status::success();
    case FieldRef::From::kJsonPointer:
      if (!is_member_pointer(ref.name)) {
        return Error::invalid(std::string(what) + ": invalid JSON pointer \"" + ref.name + "\"");
      }
      return Status::success();
  }
  return Error::invalid(std::string(what) + ": unknown field source");
}

void add_pointer(const FieldRef& ref, std::vector<std::string>& pointers) {
  if (ref.from == FieldRef::From::kJsonPointer) pointers.push_back(ref.name);
}

Result<std::optional<std::string>> resolve_field(const FieldRef& ref, const http::Headers& headers,
                                                 const JsonFields& json) {
  switch (ref.from) {
    case FieldRef::From::kNone:
      return std::optional<std::string>();
    case FieldRef::From::kHeader: {
      auto value = required_header(headers, ref.name);
      if (!value) return value.error();
      return std::optional<std::string>(std::move(*value));
    }
    case FieldRef::From::kJsonPointer: {
      const JsonScalar& value = json.at(ref.name);
      if (!value.is_text()) return Error::invalid("no string or number at " + ref.name);
      return std::optional<std::string>(value.text);
    }
  }
  return Error::invalid("unknown field source");
}

Result<std::string> resolve_event_id(const FieldRef& ref, const http::Headers& headers,
                                     const JsonFields& json, std::string_view body) {
  if (ref.from == FieldRef::From::kNone) return body_digest_id(body);
  auto id = resolve_field(ref, headers, json);
  if (!id) return id.error();
  if ((*id)->empty()) return Error::invalid("empty event id at " + ref.name);
  return std::move(**id);
}

Result<std::string> required_header(const http::Headers& headers, std::string_view name) {
  const std::string* value = headers.find(name);
  if (value == nullptr || value->empty()) {
    return Error::invalid("missing header " + std::string(name));
  }
  return *value;
}

std::string body_digest_id(std::string_view body) {
  return codec::hex_encode(crypto::sha256(body));
}

}  // namespace wi::ingest
