#pragma once
// HTTP header fields as received: order and original spelling kept, lookups ASCII
// case-insensitive (RFC 9110 §5.1).

#include <string>
#include <string_view>
#include <vector>

namespace wi::http {

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);

struct Header {
  std::string name;
  std::string value;
};

class Headers {
 public:
  void add(std::string name, std::string value) {
    items_.push_back({std::move(name), std::move(value)});
  }
  void reserve(std::size_t fields) { items_.reserve(fields); }
  // The first field called `name`, any case; nullptr when absent.
  const std::string* find(std::string_view name) const;
  std::size_t count(std::string_view name) const;
  const std::vector<Header>& all() const { return items_; }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<Header> items_;
};

// The media type of a Content-Type value, lowercased, without parameters:
// "Application/JSON; charset=utf-8" → "application/json".
std::string media_type(std::string_view content_type);

}  // namespace wi::http
