#pragma once
// Chargify posts application/x-www-form-urlencoded bodies with nested names in bracket
// notation (PROVIDERS.md "Chargify"): `payload[subscription][customer][email]=...`. FormTree
// decodes such a body into nested nodes so the worker reads fields by path.
//
//   name          = base *( "[" segment "]" )      base non-empty, segments may be empty
//   a[b][c]=1     → a → b → c, value "1"
//   a[]=1&a[]=2   → a, values "1", "2" (an empty segment appends to the node itself)
//   a=1&a=2       → a, values "1", "2" (repeated keys are kept, in order)
//   a=            → a, value ""
// Brackets may come raw or percent-encoded (`%5B`, `%5D`); '+' is a space. A bad % escape,
// an unbalanced bracket, a bracket inside a segment, text after a closing bracket, or an
// empty base name is an error naming the field's position (never its content: it may be
// personal data). The edge checks the body too, but a replayed or hand-produced record may
// not have passed the edge, so the worker checks again.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace wi::chargify {

class FormTree {
 public:
  struct Node {
    std::vector<std::string> values;     // in arrival order
    std::map<std::string, Node> children;
  };

  static Result<FormTree> parse(std::string_view body);

  // The node at `path` (e.g. {"payload", "subscription", "id"}), or null.
  const Node* find(std::initializer_list<std::string_view> path) const;
  // The first non-empty value at `path`; "" when the field is present with empty values only;
  // nullopt when it is absent. (The first non-empty one, as ingestd chooses the record key.)
  std::optional<std::string> value(std::initializer_list<std::string_view> path) const;

  const Node& root() const { return root_; }

 private:
  Node root_;
};

}  // namespace wi::chargify
