#include "workers/dropbox/cursor_state.h"

#include <simdjson.h>

#include "common/json_text.h"

namespace wi::dropbox {

CursorState parse_cursor_state(std::string_view value) {
  CursorState state;
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(value.data(), value.size()).get(doc)) {
    state.relist_pending = true;
    return state;
  }
  std::string_view cursor;
  if (!doc["cursor"].get(cursor) && !cursor.empty()) {
    state.cursor = std::string(cursor);
    return state;
  }
  state.relist_pending = true;  // null cursor: only a reset writes one
  return state;
}

std::string cursor_state_json(const CursorState& state, const std::string& event_id,
                              const std::string& updated_at) {
  std::string out = "{\"cursor\":";
  if (state.cursor) {
    json::append_string(out, *state.cursor);
  } else {
    out += "null";
  }
  if (state.relist_pending) out += ",\"relist\":\"reset\"";
  out += ",\"event_id\":";
  json::append_string(out, event_id);
  out += ",\"updated_at\":";
  json::append_string(out, updated_at);
  out += "}";
  return out;
}

}  // namespace wi::dropbox
