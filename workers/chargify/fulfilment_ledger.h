#pragma once
// The fulfilment ledger's record value (SPEC §5): one record per subscription id in the
// compacted topic chargify.fulfilments, its value a JSON object mapping each product handle to
//   {"status": "sending"|"sent", "message_id": "...", "event_id": "...", "sent_at": "..."}.
//
// "sending" is written (acks=all) before the SMTP exchange and "sent" after the server
// accepted the message; a product found "sending" was maybe delivered by a process that died
// in between, so it is sent again with the same Message-ID (the one remaining duplicate
// window, README "chargify-worker").

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace wi::chargify {

inline constexpr const char* kStatusSending = "sending";
inline constexpr const char* kStatusSent = "sent";

struct LedgerEntry {
  std::string status;
  std::string message_id;
  std::string event_id;
  std::string sent_at;  // RFC 3339, empty while sending
  bool operator==(const LedgerEntry&) const = default;
};

using LedgerValue = std::map<std::string, LedgerEntry>;  // by product handle

// Error::invalid when the value is not such an object (a corrupt or foreign record).
Result<LedgerValue> parse_ledger(std::string_view json);
std::string to_json(const LedgerValue& value);

}  // namespace wi::chargify
