#include "common/http_client.h"

namespace wi::http_client {

std::string Response::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return value;
  }
  return "";
}

}  // namespace wi::http_client
