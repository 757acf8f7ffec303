#include "common/kafka/record.h"

namespace wi::kafka {

const std::string* find_header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

}  // namespace wi::kafka
