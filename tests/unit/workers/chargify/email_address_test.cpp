// validate_email: what chargify-worker accepts as a customer's address before sending.
#include "workers/chargify/email_address.h"

#include <gtest/gtest.h>

namespace wi::chargify {
namespace {

TEST(ChargifyEmailAddress, AcceptsOrdinaryAddresses) {
  for (const char* ok : {"ada@example.com", "first.last+tag@mail.example.co.uk", "x_y-z@a-b.io",
                         "o'brien@example.ie"}) {
    auto r = validate_email(ok);
    ASSERT_TRUE(r.ok()) << ok << ": " << r.error().message;
    EXPECT_EQ(*r, ok);
  }
  EXPECT_EQ(validate_email("  ada@example.com ").value_or(""), "ada@example.com");
}

struct Bad {
  const char* address;
  const char* why;
};

class ChargifyEmailAddressBad : public ::testing::TestWithParam<Bad> {};

TEST_P(ChargifyEmailAddressBad, IsRefusedWithAReason) {
  auto r = validate_email(GetParam().address);
  ASSERT_FALSE(r.ok()) << GetParam().address;
  EXPECT_NE(r.error().message.find(GetParam().why), std::string::npos) << r.error().message;
  EXPECT_FALSE(r.error().retryable);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ChargifyEmailAddressBad,
    ::testing::Values(Bad{"", "empty"}, Bad{"ada.example.com", "no '@'"},
                      Bad{"ada@localhost", "no '.'"}, Bad{"@example.com", "local part"},
                      Bad{"a..b@example.com", "local part"}, Bad{".a@example.com", "local part"},
                      Bad{"ada@-example.com", "domain"}, Bad{"ada@example..com", "domain"},
                      Bad{"ada@exa_mple.com", "domain"},
                      Bad{"ada@example.com\r\nRCPT TO:<x@y.z>", "control"},
                      Bad{"a da@example.com", "space"}, Bad{"ad<a>@example.com", "local part"},
                      Bad{"j\xC3\xB6rg@example.com", "not ASCII"}));

TEST(ChargifyEmailAddress, MailboxTakesTheAngleAddress) {
  EXPECT_EQ(mailbox_address("Shop <shop@example.com>").value_or(""), "shop@example.com");
  EXPECT_EQ(mailbox_address("shop@example.com").value_or(""), "shop@example.com");
  EXPECT_FALSE(mailbox_address("Shop <shop@example.com").ok());
}

}  // namespace
}  // namespace wi::chargify
