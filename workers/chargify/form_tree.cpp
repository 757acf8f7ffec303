#include "workers/chargify/form_tree.h"

#include <fmt/format.h>

#include "common/codec.h"

namespace wi::chargify {

namespace {

// Splits a decoded name into its base and bracket segments.
Result<std::vector<std::string>> split_name(const std::string& name, std::size_t index) {
  auto fail = [index](const char* what) {
    return Error::invalid(fmt::format("form field {}: {}", index, what));
  };
  if (name.empty()) return fail("empty name");
  auto open = name.find_first_of("[]");
  if (open == 0) return fail("name has no base before '['");
  std::vector<std::string> parts;
  parts.push_back(name.substr(0, open));
  if (open == std::string::npos) return parts;
  std::size_t pos = open;
  while (pos < name.size()) {
    if (name[pos] == ']') return fail("unbalanced ']' in name");
    if (name[pos] != '[') return fail("text after ']' in name");
    auto close = name.find_first_of("[]", pos + 1);
    if (close == std::string::npos) return fail("unbalanced '[' in name");
    if (name[close] == '[') return fail("'[' inside brackets in name");
    parts.push_back(name.substr(pos + 1, close - pos - 1));
    pos = close + 1;
  }
  return parts;
}

}  // namespace

Result<FormTree> FormTree::parse(std::string_view body) {
  auto fields = codec::parse_form(body);
  if (!fields) return fields.error();
  FormTree tree;
  for (std::size_t i = 0; i < fields->size(); ++i) {
    auto& [name, value] = (*fields)[i];
    auto parts = split_name(name, i);
    if (!parts) return parts.error();
    Node* node = &tree.root_;
    for (const auto& part : *parts) {
      if (part.empty()) break;  // "a[]": append to a (only a trailing [] makes sense)
      node = &node->children[part];
    }
    // "a[][b]" would need list-of-maps semantics that Chargify never sends.
    for (std::size_t p = 1; p + 1 < parts->size(); ++p) {
      if ((*parts)[p].empty()) {
        return Error::invalid(fmt::format("form field {}: '[]' only at the end of a name", i));
      }
    }
    node->values.push_back(std::move(value));
  }
  return tree;
}

const FormTree::Node* FormTree::find(std::initializer_list<std::string_view> path) const {
  const Node* node = &root_;
  for (auto part : path) {
    auto it = node->children.find(std::string(part));
    if (it == node->children.end()) return nullptr;
    node = &it->second;
  }
  return node;
}

std::optional<std::string> FormTree::value(std::initializer_list<std::string_view> path) const {
  const Node* node = find(path);
  if (node == nullptr || node->values.empty()) return std::nullopt;
  for (const auto& v : node->values) {
    if (!v.empty()) return v;
  }
  return std::string();
}

}  // namespace wi::chargify
