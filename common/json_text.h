#pragma once
// Writing JSON text by hand for the few fixed shapes we emit (log lines, error bodies,
// ingestctl output), where a DOM would be overkill. Parsing JSON is simdjson's job.

#include <string>
#include <string_view>

namespace wi::json {

// Appends `text` as a quoted JSON string. Bytes that are not valid UTF-8 are replaced with
// U+FFFD so the output is always valid JSON.
void append_string(std::string& out, std::string_view text);
std::string quote(std::string_view text);

}  // namespace wi::json
