#pragma once
// What dropbox-worker keeps per account in the compacted state topic dropbox.cursors
// (key = account id), as JSON:
//   {"cursor":"AAF...","event_id":"...","updated_at":"2026-...Z"}   after a complete poll
//   {"cursor":null,"relist":"reset","event_id":...,"updated_at":...} after a 409 reset
// The second form remembers a reset across a crash: the re-list that follows must emit every
// entry whatever initial_sync says, or the changes made before the reset would be lost.

#include <optional>
#include <string>
#include <string_view>

namespace wi::dropbox {

struct CursorState {
  std::optional<std::string> cursor;
  bool relist_pending = false;  // a reset was seen: the next full listing is emitted
};

// An unreadable value is read as a pending re-list (emit everything: duplicates, no gap).
CursorState parse_cursor_state(std::string_view value);
std::string cursor_state_json(const CursorState& state, const std::string& event_id,
                              const std::string& updated_at);

}  // namespace wi::dropbox
