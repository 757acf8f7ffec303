// The list_folder answer, Dropbox's error bodies and the change records on dropbox.changes.
#include "workers/dropbox/list_folder.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace wi::dropbox {
namespace {

// A page as Dropbox documents it: a file, a folder and a deleted entry.
const char* kPage = R"({"entries":[
  {".tag":"file","name":"Prime_Numbers.txt","id":"id:a4ayc_80_OEAAAAAAAAAXw",
   "client_modified":"2015-05-12T15:50:38Z","server_modified":"2015-05-12T15:50:38Z",
   "rev":"a1c10ce0dd78","size":7212,"path_lower":"/homework/math/prime_numbers.txt",
   "path_display":"/Homework/math/Prime_Numbers.txt",
   "content_hash":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
  {".tag":"folder","name":"math","id":"id:a4ayc_80_OEAAAAAAAAAXz",
   "path_lower":"/homework/math","path_display":"/Homework/math"},
  {".tag":"deleted","name":"old.txt","path_lower":"/old.txt","path_display":"/old.txt"}],
  "cursor":"ZtkX9_EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAu","has_more":true})";

TEST(ListFolderTest, ParsesEveryTagWithItsFields) {
  auto page = parse_list_page(kPage);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->cursor, "ZtkX9_EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAu");
  EXPECT_TRUE(page->has_more);
  ASSERT_EQ(page->entries.size(), 3u);
  const Entry& file = page->entries[0];
  EXPECT_EQ(file.tag, "file");
  EXPECT_EQ(file.name, "Prime_Numbers.txt");
  EXPECT_EQ(file.id, "id:a4ayc_80_OEAAAAAAAAAXw");
  EXPECT_EQ(file.rev, "a1c10ce0dd78");
  EXPECT_EQ(file.size, 7212);
  EXPECT_EQ(file.server_modified, "2015-05-12T15:50:38Z");
  EXPECT_EQ(file.path_lower, "/homework/math/prime_numbers.txt");
  EXPECT_EQ(file.path_display, "/Homework/math/Prime_Numbers.txt");
  EXPECT_EQ(file.content_hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const Entry& folder = page->entries[1];
  EXPECT_EQ(folder.tag, "folder");
  EXPECT_EQ(folder.id, "id:a4ayc_80_OEAAAAAAAAAXz");
  EXPECT_FALSE(folder.rev.has_value());
  EXPECT_FALSE(folder.size.has_value());
  const Entry& deleted = page->entries[2];
  EXPECT_EQ(deleted.tag, "deleted");
  EXPECT_FALSE(deleted.id.has_value());
  EXPECT_EQ(deleted.path_lower, "/old.txt");
}

TEST(ListFolderTest, RefusesAnswersThatAreNotThePageShape) {
  for (const char* body :
       {"", "not json", "[]", R"({"entries":[],"has_more":false})",
        R"({"entries":[],"cursor":"c"})", R"({"entries":{},"cursor":"c","has_more":false})",
        R"({"entries":[{"name":"x"}],"cursor":"c","has_more":false})",
        R"({"entries":[7],"cursor":"c","has_more":false})",
        R"({"entries":[{".tag":"file","size":"big"}],"cursor":"c","has_more":false})",
        R"({"entries":[{".tag":"file","rev":5}],"cursor":"c","has_more":false})"}) {
    auto page = parse_list_page(body);
    EXPECT_FALSE(page.ok()) << body;
    if (!page.ok()) {
      EXPECT_EQ(page.error().code, ErrorCode::kInvalidArgument) << body;
      EXPECT_NE(page.error().message.find("list_folder"), std::string::npos);
    }
  }
}

TEST(ListFolderTest, ReadsErrorSummaryTagAndRetryAfter) {
  auto reset = parse_api_error(R"({"error_summary":"reset/..","error":{".tag":"reset"}})");
  EXPECT_EQ(reset.summary, "reset/..");
  EXPECT_EQ(reset.tag, "reset");
  EXPECT_TRUE(is_reset(reset));
  EXPECT_TRUE(is_reset(parse_api_error(R"({"error_summary":"reset/...","error":{}})")));
  EXPECT_TRUE(is_reset(parse_api_error(R"({"error":{".tag":"reset"}})")));
  EXPECT_FALSE(is_reset(
      parse_api_error(R"({"error_summary":"path/not_found/..","error":{".tag":"path"}})")));
  EXPECT_FALSE(is_reset(parse_api_error("<html>conflict</html>")));

  auto limited = parse_api_error(
      R"({"error_summary":"too_many_requests/..","error":{"reason":{".tag":"too_many_requests"},"retry_after":300}})");
  EXPECT_EQ(limited.retry_after_s, 300);
  // Control characters never reach a log line or a dlq-reason header.
  auto hostile = parse_api_error("{\"error_summary\":\"a\\nb\\u0001c\"}");
  EXPECT_EQ(hostile.summary, "a?b?c");
}

TEST(ListFolderTest, ChangeRecordHasEverySpecFieldAndNullForAbsentOnes) {
  auto page = parse_list_page(kPage);
  ASSERT_TRUE(page.ok());
  simdjson::dom::parser parser;
  auto file = parser.parse(change_json("dbid:AAH4f99", page->entries[0], "ev-1"));
  ASSERT_FALSE(file.error());
  EXPECT_EQ(std::string_view(file["account_id"]), "dbid:AAH4f99");
  EXPECT_EQ(std::string_view(file["tag"]), "file");
  EXPECT_EQ(std::string_view(file["id"]), "id:a4ayc_80_OEAAAAAAAAAXw");
  EXPECT_EQ(std::string_view(file["name"]), "Prime_Numbers.txt");
  EXPECT_EQ(std::string_view(file["path_lower"]), "/homework/math/prime_numbers.txt");
  EXPECT_EQ(std::string_view(file["path_display"]), "/Homework/math/Prime_Numbers.txt");
  EXPECT_EQ(std::string_view(file["rev"]), "a1c10ce0dd78");
  EXPECT_EQ(int64_t(file["size"]), 7212);
  EXPECT_EQ(std::string_view(file["server_modified"]), "2015-05-12T15:50:38Z");
  EXPECT_EQ(std::string_view(file["content_hash"]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(std::string_view(file["event_id"]), "ev-1");

  simdjson::dom::parser parser2;
  auto deleted = parser2.parse(change_json("dbid:AAH4f99", page->entries[2], "ev-1"));
  ASSERT_FALSE(deleted.error());
  EXPECT_EQ(std::string_view(deleted["tag"]), "deleted");
  for (const char* absent : {"id", "rev", "size", "server_modified", "content_hash"}) {
    EXPECT_TRUE(deleted[absent].is_null()) << absent;
  }
}

}  // namespace
}  // namespace wi::dropbox
