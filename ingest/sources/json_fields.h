#pragma once
// Reading a few values out of a JSON webhook body by RFC 6901 pointer, with simdjson
// On-Demand. The whole document is validated, not only the parts the pointers touch: a
// kind that says "the body must be JSON" means all of it.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace wi::ingest {

struct JsonScalar {
  enum class Type { kAbsent, kString, kNumber, kOther };
  Type type = Type::kAbsent;
  // kString: the unescaped string; kNumber: the number as written in the body ("42", "-1.5").
  std::string text;

  // A string or a number: what may serve as an event id, type or record key.
  bool is_text() const { return type == Type::kString || type == Type::kNumber; }
};

// Values read from one body, by pointer.
class JsonFields {
 public:
  JsonFields() = default;
  JsonFields(std::vector<std::string> pointers, std::vector<JsonScalar> values)
      : pointers_(std::move(pointers)), values_(std::move(values)) {}
  // kAbsent when the pointer does not resolve or was not asked for.
  const JsonScalar& at(std::string_view pointer) const;

 private:
  std::vector<std::string> pointers_;
  std::vector<JsonScalar> values_;
};

// What the document's root may be. kObject for the kinds whose payload is by definition an
// object (GitHub, Dropbox, Standard Webhooks, Stripe: SPEC §3, "does not parse for its kind");
// kAny for the generic hmac kind, whose pointers may address an array root ("/0/id").
enum class JsonRoot { kAny, kObject };

// Parses `json` as one complete JSON document and reads the value at each pointer.
// Error::invalid when the text is not valid JSON ("body is not valid JSON"), or when `root` is
// kObject and the valid document is not an object ("body is not a JSON object"); messages never
// quote the text. Parses in place when `json` has simdjson::SIMDJSON_PADDING spare capacity, else
// copies it once. Thread-safe: uses one parser per thread (bodies over 1 MiB get a parser of
// their own, so a rare huge body does not pin its buffers to the thread).
Result<JsonFields> read_json_fields(const std::string& json, std::vector<std::string> pointers,
                                    JsonRoot root);

// "/a/b~1c": starts with '/', and '~' only in the escapes ~0 and ~1. The whole-document
// pointer "" is refused: a field reference names a member, never the body itself.
bool is_member_pointer(std::string_view pointer);

}  // namespace wi::ingest
