// The ledger record's JSON: round trip, and corrupt or foreign values refused.
#include "workers/chargify/fulfilment_ledger.h"

#include <gtest/gtest.h>

namespace wi::chargify {
namespace {

TEST(ChargifyLedger, RoundTrips) {
  LedgerValue v = {{"ebook", {kStatusSent, "abc@example.com", "1001", "2026-11-27T01:35:50.000Z"}},
                   {"poster", {kStatusSending, "def@example.com", "1002", ""}}};
  auto json = to_json(v);
  EXPECT_EQ(json,
            R"({"ebook":{"status":"sent","message_id":"abc@example.com","event_id":"1001",)"
            R"("sent_at":"2026-11-27T01:35:50.000Z"},"poster":{"status":"sending",)"
            R"("message_id":"def@example.com","event_id":"1002","sent_at":""}})");
  auto back = parse_ledger(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, v);
}

TEST(ChargifyLedger, CorruptValuesAreErrors) {
  for (const char* bad : {"", "[]", "not json", R"({"ebook":1})", R"({"ebook":{"status":"x"}})"}) {
    EXPECT_FALSE(parse_ledger(bad).ok()) << bad;
  }
  EXPECT_TRUE(parse_ledger("{}").ok());
}

}  // namespace
}  // namespace wi::chargify
