// MailTemplate: placeholders, unknown ones and unclosed braces as errors, and values made safe
// for an e-mail (no CR/LF, valid UTF-8) or a URL.
#include "workers/chargify/mail_template.h"

#include <gtest/gtest.h>

namespace wi::chargify {
namespace {

const std::set<std::string> kAllowed = {"first_name", "product_name", "download_url"};

TEST(ChargifyMailTemplate, RendersPlaceholdersWithAndWithoutSpaces) {
  auto t = MailTemplate::parse("Hi {{first_name}}, here is {{ product_name }}.", kAllowed);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->render({{"first_name", "Ada"}, {"product_name", "The Book"}}),
            "Hi Ada, here is The Book.");
  EXPECT_TRUE(t->uses("first_name"));
  EXPECT_FALSE(t->uses("download_url"));
}

TEST(ChargifyMailTemplate, TextWithoutPlaceholdersAndRepeatedOnes) {
  auto plain = MailTemplate::parse("Thank you!", kAllowed);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->render({}), "Thank you!");
  auto twice = MailTemplate::parse("{{first_name}}{{first_name}}", kAllowed);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->render({{"first_name", "x"}}), "xx");
}

TEST(ChargifyMailTemplate, UnknownPlaceholderIsAnErrorNamingIt) {
  auto t = MailTemplate::parse("Hi {{frist_name}}", kAllowed);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("unknown placeholder {{frist_name}}"), std::string::npos)
      << t.error().message;
  EXPECT_NE(t.error().message.find("first_name"), std::string::npos);  // lists the allowed ones
}

TEST(ChargifyMailTemplate, UnclosedBracesAreAnError) {
  auto t = MailTemplate::parse("Hi {{first_name", kAllowed);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("unclosed '{{' at offset 3"), std::string::npos)
      << t.error().message;
}

TEST(ChargifyMailTemplate, ValuesCannotAddLines) {
  auto t = MailTemplate::parse("Hello {{first_name}}\nBye", kAllowed);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->render({{"first_name", "Eve\r\nBcc: victim@example.com"}}),
            "Hello Eve  Bcc: victim@example.com\nBye");
}

TEST(ChargifyMailTemplate, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(safe_text("Jos\xC3\xA9"), "Jos\xC3\xA9");             // valid stays
  EXPECT_EQ(safe_text("bad\xFFx"), "bad\xEF\xBF\xBDx");           // invalid byte
  EXPECT_EQ(safe_text("cut\xC3"), "cut\xEF\xBF\xBD");             // truncated sequence
  EXPECT_EQ(safe_text("tab\there\x7f"), "tab here ");             // controls and DEL
}

TEST(ChargifyMailTemplate, UrlTemplatesEscapeValues) {
  auto t = MailTemplate::parse("https://files.example.com/d/{{token}}?s={{subscription_id}}",
                               {"token", "subscription_id"}, MailTemplate::Escaping::kUrl);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->render({{"token", "abc-_.~"}, {"subscription_id", "a b/&?"}}),
            "https://files.example.com/d/abc-_.~?s=a%20b%2F%26%3F");
}

}  // namespace
}  // namespace wi::chargify
