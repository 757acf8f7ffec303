// Dropbox notifications → the accounts to poll; everything else is a specific error.
#include "workers/dropbox/notification.h"

#include <gtest/gtest.h>

#include "workers/dropbox/cursor_state.h"

namespace wi::dropbox {
namespace {

TEST(NotificationTest, ReadsListFolderAccountsDroppingDuplicates) {
  auto accounts = parse_notification(
      R"({"list_folder":{"accounts":["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc","dbid:B","dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]},"delta":{"users":[12345,23456]}})");
  ASSERT_TRUE(accounts.ok()) << accounts.error().message;
  EXPECT_EQ(*accounts,
            (std::vector<std::string>{"dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "dbid:B"}));
  auto none = parse_notification(R"({"list_folder":{"accounts":[]}})");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(NotificationTest, MalformedBodiesAreSpecificErrors) {
  struct Case {
    const char* body;
    const char* says;
  };
  for (const auto& c : {Case{"", "not a JSON object"}, Case{"[1]", "not a JSON object"},
                        Case{R"({"delta":{"users":[12345]}})", "no list_folder"},
                        Case{R"({"list_folder":{"accounts":"dbid:A"}})", "not a list"},
                        Case{R"({"list_folder":{"accounts":["dbid:A",5]}})", "accounts[1]"},
                        Case{R"({"list_folder":{"accounts":["dbid:A\nforged=1"]}})", "accounts[0]"},
                        Case{R"({"list_folder":{"accounts":[""]}})", "accounts[0]"}}) {
    auto accounts = parse_notification(c.body);
    ASSERT_FALSE(accounts.ok()) << c.body;
    EXPECT_EQ(accounts.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(accounts.error().message.find(c.says), std::string::npos)
        << c.body << " → " << accounts.error().message;
  }
}

TEST(NotificationTest, AccountIdsAreBoundedAndSafeCharacters) {
  EXPECT_TRUE(is_account_id("dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"));
  EXPECT_FALSE(is_account_id(""));
  EXPECT_FALSE(is_account_id(std::string(129, 'a')));
  EXPECT_TRUE(is_account_id(std::string(128, 'a')));
  EXPECT_FALSE(is_account_id("dbid:a b"));
  EXPECT_FALSE(is_account_id("dbid:\"x\""));
}

TEST(CursorStateTest, RoundTripsACursorAndAPendingReset) {
  auto stored = parse_cursor_state(cursor_state_json({"AAF-cursor", false}, "ev", "t"));
  EXPECT_EQ(stored.cursor, "AAF-cursor");
  EXPECT_FALSE(stored.relist_pending);
  auto reset = parse_cursor_state(cursor_state_json({std::nullopt, true}, "ev", "t"));
  EXPECT_FALSE(reset.cursor.has_value());
  EXPECT_TRUE(reset.relist_pending);
  // Garbage in the state topic: re-list and emit everything (duplicates, never a gap).
  auto garbage = parse_cursor_state("not json");
  EXPECT_FALSE(garbage.cursor.has_value());
  EXPECT_TRUE(garbage.relist_pending);
}

}  // namespace
}  // namespace wi::dropbox
