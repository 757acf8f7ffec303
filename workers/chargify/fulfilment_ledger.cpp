#include "workers/chargify/fulfilment_ledger.h"

#include <simdjson.h>

#include "common/json_text.h"

namespace wi::chargify {

Result<LedgerValue> parse_ledger(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(json.data(), json.size()).get(doc)) {
    return Error::invalid("ledger value is not a JSON object");
  }
  LedgerValue out;
  for (auto [handle, entry] : doc) {
    simdjson::dom::object fields;
    if (entry.get(fields)) return Error::invalid("ledger entry is not an object");
    LedgerEntry e;
    auto text = [&](const char* name, std::string& into) {
      std::string_view v;
      if (!fields[name].get(v)) into = std::string(v);
    };
    text("status", e.status);
    text("message_id", e.message_id);
    text("event_id", e.event_id);
    text("sent_at", e.sent_at);
    if (e.status != kStatusSending && e.status != kStatusSent) {
      return Error::invalid("ledger entry has an unknown status");
    }
    out.emplace(std::string(handle), std::move(e));
  }
  return out;
}

std::string to_json(const LedgerValue& value) {
  std::string out = "{";
  bool first = true;
  for (const auto& [handle, e] : value) {
    if (!first) out += ",";
    first = false;
    json::append_string(out, handle);
    out += ":{\"status\":";
    json::append_string(out, e.status);
    out += ",\"message_id\":";
    json::append_string(out, e.message_id);
    out += ",\"event_id\":";
    json::append_string(out, e.event_id);
    out += ",\"sent_at\":";
    json::append_string(out, e.sent_at);
    out += "}";
  }
  return out + "}";
}

}  // namespace wi::chargify
