#include "ingest/sources/content_types.h"

#include <algorithm>
#include <utility>

namespace wi::ingest {

ContentTypes::ContentTypes(const std::vector<std::string>& configured,
                           std::vector<std::string> defaults)
    : accepted_(configured.empty() ? std::move(defaults) : configured) {
  for (auto& type : accepted_) type = http::media_type(type);
}

Result<std::string> ContentTypes::check(const http::Headers& headers) const {
  const std::string* header = headers.find("Content-Type");
  std::string type = header == nullptr ? std::string() : http::media_type(*header);
  if (accepted_.empty() || std::find(accepted_.begin(), accepted_.end(), type) != accepted_.end()) {
    return type;
  }
  std::string message = "unsupported content type; expected ";
  for (std::size_t i = 0; i < accepted_.size(); ++i) {
    if (i > 0) message += " or ";
    message += accepted_[i];
  }
  return Error{ErrorCode::kUnsupported, std::move(message), false};
}

}  // namespace wi::ingest
