#pragma once
// Which request media types a source accepts (SPEC §3: 415 for anything else).

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/http/headers.h"

namespace wi::ingest {

inline constexpr std::string_view kJsonMediaType = "application/json";
inline constexpr std::string_view kFormMediaType = "application/x-www-form-urlencoded";

class ContentTypes {
 public:
  // `configured` (SourceSettings::content_types) replaces `defaults` when non-empty. An empty
  // resulting list accepts any content type, including none.
  ContentTypes(const std::vector<std::string>& configured, std::vector<std::string> defaults);

  // The request's media type (lowercase, no parameters; "" when there is no Content-Type),
  // or ErrorCode::kUnsupported when it is not accepted. The message lists what is accepted
  // and never echoes the request.
  Result<std::string> check(const http::Headers& headers) const;

 private:
  std::vector<std::string> accepted_;  // normalised with http::media_type()
};

}  // namespace wi::ingest
