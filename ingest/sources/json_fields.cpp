#include "ingest/sources/json_fields.h"

#include <simdjson.h>

#include <cstddef>
#include <utility>

namespace wi::ingest {
namespace {

namespace od = simdjson::ondemand;

// Bodies up to this size reuse the thread's parser; its buffers grow to the largest body
// seen (about 6 bytes per body byte), so this bounds what each thread keeps.
constexpr std::size_t kReusableCapacity = std::size_t{1} << 20;

// Recursion bound for validation; deeper documents are refused rather than risking the stack.
constexpr int kMaxDepth = 512;

const JsonScalar kAbsent{};

simdjson::error_code validate_value(od::value value, int depth);

simdjson::error_code validate_array(od::array array, int depth) {
  for (auto element : array) {
    od::value value;
    if (auto error = element.get(value)) return error;
    if (auto error = validate_value(value, depth + 1)) return error;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code validate_object(od::object object, int depth) {
  for (auto member : object) {
    od::field field;
    if (auto error = std::move(member).get(field)) return error;
    if (auto error = field.unescaped_key().error()) return error;
    if (auto error = validate_value(field.value(), depth + 1)) return error;
  }
  return simdjson::SUCCESS;
}

// Scalars are checked by decoding them: On-Demand only validates what it is asked to read.
// Works for an od::value and for a scalar od::document alike.
template <typename Node>
simdjson::error_code validate_scalar(Node& node, od::json_type type) {
  switch (type) {
    case od::json_type::string:
      return node.get_string().error();
    case od::json_type::number:
      return node.get_double().error();
    case od::json_type::boolean:
      return node.get_bool().error();
    case od::json_type::null: {
      bool is_null = false;
      if (auto error = node.is_null().get(is_null)) return error;
      return is_null ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
    default:
      return simdjson::TAPE_ERROR;
  }
}

simdjson::error_code validate_value(od::value value, int depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto error = value.type().get(type)) return error;
  switch (type) {
    case od::json_type::array: {
      od::array array;
      if (auto error = value.get_array().get(array)) return error;
      return validate_array(array, depth);
    }
    case od::json_type::object: {
      od::object object;
      if (auto error = value.get_object().get(object)) return error;
      return validate_object(object, depth);
    }
    default:
      return validate_scalar(value, type);
  }
}

simdjson::error_code validate_document(od::document& doc) {
  bool scalar = false;
  if (auto error = doc.is_scalar().get(scalar)) return error;
  if (scalar) {
    // The scalar getters of a document refuse trailing content themselves.
    od::json_type type;
    if (auto error = doc.type().get(type)) return error;
    return validate_scalar(doc, type);
  }
  od::value root;
  if (auto error = doc.get_value().get(root)) return error;
  if (auto error = validate_value(root, 1)) return error;
  // Past the root container there must be nothing left ("{} x" is not one document).
  const char* rest = nullptr;
  return doc.current_location().get(rest) == simdjson::OUT_OF_BOUNDS ? simdjson::SUCCESS
                                                                     : simdjson::TRAILING_CONTENT;
}

std::string_view trim_trailing_space(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Any lookup error on an already validated document means "not there" (missing member, index
// out of range, a scalar where the pointer expects a container).
JsonScalar read_scalar(od::document& doc, std::string_view pointer) {
  od::value value;
  if (doc.at_pointer(pointer).get(value) != simdjson::SUCCESS) return {};
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return {};
  JsonScalar out;
  switch (type) {
    case od::json_type::string: {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) return {};
      out.type = JsonScalar::Type::kString;
      out.text.assign(text);
      break;
    }
    case od::json_type::number:
      out.type = JsonScalar::Type::kNumber;
      out.text.assign(trim_trailing_space(value.raw_json_token()));
      break;
    default:
      out.type = JsonScalar::Type::kOther;
  }
  return out;
}

Result<JsonFields> parse_and_read(od::parser& parser, simdjson::padded_string_view json,
                                  std::vector<std::string> pointers, JsonRoot root) {
  od::document doc;
  // The root's type is a peek at its first byte, read before validation walks the document.
  od::json_type root_type;
  if (parser.iterate(json).get(doc) != simdjson::SUCCESS || doc.type().get(root_type) ||
      validate_document(doc)) {
    return Error::invalid("body is not valid JSON");
  }
  // Checked after the whole document validated, so "[1," is "not valid JSON", not "not an
  // object".
  if (root == JsonRoot::kObject && root_type != od::json_type::object) {
    return Error::invalid("body is not a JSON object");
  }
  std::vector<JsonScalar> values;
  values.reserve(pointers.size());
  for (const auto& pointer : pointers) values.push_back(read_scalar(doc, pointer));
  return JsonFields(std::move(pointers), std::move(values));
}

Result<JsonFields> parse_with(od::parser& parser, const std::string& json,
                              std::vector<std::string> pointers, JsonRoot root) {
  if (json.capacity() - json.size() >= simdjson::SIMDJSON_PADDING) {
    return parse_and_read(parser,
                          simdjson::padded_string_view(json.data(), json.size(), json.capacity()),
                          std::move(pointers), root);
  }
  const simdjson::padded_string copy(json);
  return parse_and_read(parser, copy, std::move(pointers), root);
}

}  // namespace

const JsonScalar& JsonFields::at(std::string_view pointer) const {
  for (std::size_t i = 0; i < pointers_.size(); ++i) {
    if (pointers_[i] == pointer) return values_[i];
  }
  return kAbsent;
}

Result<JsonFields> read_json_fields(const std::string& json, std::vector<std::string> pointers,
                                    JsonRoot root) {
  if (json.size() > kReusableCapacity) {
    od::parser parser;
    return parse_with(parser, json, std::move(pointers), root);
  }
  thread_local od::parser parser;
  return parse_with(parser, json, std::move(pointers), root);
}

bool is_member_pointer(std::string_view pointer) {
  if (pointer.empty() || pointer.front() != '/') return false;
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] != '~') continue;
    if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) return false;
  }
  return true;
}

}  // namespace wi::ingest
