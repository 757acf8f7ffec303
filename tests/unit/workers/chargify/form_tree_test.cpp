// FormTree: Chargify's form bodies (PROVIDERS.md vectors), bracket notation raw and
// percent-encoded, '+', repeated keys, empty values, and the malformed cases.
#include "workers/chargify/form_tree.h"

#include <gtest/gtest.h>

namespace wi::chargify {
namespace {

FormTree parse_ok(std::string_view body) {
  auto tree = FormTree::parse(body);
  EXPECT_TRUE(tree.ok()) << (tree.ok() ? "" : tree.error().message);
  return tree.ok() ? std::move(*tree) : FormTree{};
}

TEST(ChargifyFormTree, ProvidersTestWebhookBody) {
  auto tree = parse_ok("id=123456&event=test&payload[chargify]=testing");
  EXPECT_EQ(tree.value({"id"}), "123456");
  EXPECT_EQ(tree.value({"event"}), "test");
  EXPECT_EQ(tree.value({"payload", "chargify"}), "testing");
  EXPECT_EQ(tree.root().children.size(), 3u);
}

TEST(ChargifyFormTree, ProvidersSignatureVectorBody) {
  auto tree = parse_ok("payload[chargify]=testing&event=test");
  EXPECT_EQ(tree.value({"payload", "chargify"}), "testing");
  EXPECT_EQ(tree.value({"event"}), "test");
}

TEST(ChargifyFormTree, SignupFieldsNestThreeLevels) {
  auto tree = parse_ok(
      "id=1&event=signup_success&payload[subscription][id]=42&payload[subscription][state]=active"
      "&payload[subscription][customer][email]=ada%40example.com"
      "&payload[subscription][customer][first_name]=Ada"
      "&payload[subscription][product][handle]=ebook&payload[site][subdomain]=shop"
      "&payload[event_id]=99");
  EXPECT_EQ(tree.value({"payload", "subscription", "id"}), "42");
  EXPECT_EQ(tree.value({"payload", "subscription", "customer", "email"}), "ada@example.com");
  EXPECT_EQ(tree.value({"payload", "subscription", "product", "handle"}), "ebook");
  EXPECT_EQ(tree.value({"payload", "site", "subdomain"}), "shop");
  EXPECT_EQ(tree.value({"payload", "event_id"}), "99");
  const auto* customer = tree.find({"payload", "subscription", "customer"});
  ASSERT_NE(customer, nullptr);
  EXPECT_EQ(customer->children.size(), 2u);
  EXPECT_EQ(tree.value({"payload", "subscription", "customer", "last_name"}), std::nullopt);
}

TEST(ChargifyFormTree, PercentEncodedBracketsEqualRawOnes) {
  auto raw = parse_ok("payload[subscription][id]=7");
  auto encoded = parse_ok("payload%5Bsubscription%5D%5Bid%5D=7");
  auto lower = parse_ok("payload%5bsubscription%5d%5bid%5d=7");
  EXPECT_EQ(raw.value({"payload", "subscription", "id"}), "7");
  EXPECT_EQ(encoded.value({"payload", "subscription", "id"}), "7");
  EXPECT_EQ(lower.value({"payload", "subscription", "id"}), "7");
}

TEST(ChargifyFormTree, PlusIsSpaceAndEscapesDecode) {
  auto tree = parse_ok("payload[customer][first_name]=Mary+Ann&payload[note]=a%2Bb%26c%3Dd%C3%A9");
  EXPECT_EQ(tree.value({"payload", "customer", "first_name"}), "Mary Ann");
  EXPECT_EQ(tree.value({"payload", "note"}), "a+b&c=d\xC3\xA9");
}

TEST(ChargifyFormTree, RepeatedKeysKeepEveryValueInOrder) {
  auto tree = parse_ok("tag=a&tag=b&list[]=x&list[]=y&payload[items][]=1&payload[items][]=2");
  const auto* tag = tree.find({"tag"});
  ASSERT_NE(tag, nullptr);
  EXPECT_EQ(tag->values, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(tree.find({"list"})->values, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(tree.find({"payload", "items"})->values, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(tree.value({"tag"}), "a");  // the first one, as ingestd picks the record key
}

TEST(ChargifyFormTree, EmptyValuesArePresentButEmpty) {
  auto tree = parse_ok("a=&b&c=1&a=later");
  EXPECT_EQ(tree.find({"a"})->values, (std::vector<std::string>{"", "later"}));
  EXPECT_EQ(tree.value({"a"}), "later");  // first non-empty
  EXPECT_EQ(tree.value({"b"}), "");       // present, empty
  EXPECT_EQ(tree.value({"missing"}), std::nullopt);
}

TEST(ChargifyFormTree, EmptyBodyIsAnEmptyTree) {
  auto tree = parse_ok("");
  EXPECT_TRUE(tree.root().children.empty());
}

struct Malformed {
  const char* body;
  const char* message;  // expected in the error
};

class ChargifyFormTreeMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(ChargifyFormTreeMalformed, IsAClearError) {
  auto tree = FormTree::parse(GetParam().body);
  ASSERT_FALSE(tree.ok()) << GetParam().body;
  EXPECT_NE(tree.error().message.find(GetParam().message), std::string::npos)
      << tree.error().message;
  EXPECT_FALSE(tree.error().retryable);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ChargifyFormTreeMalformed,
    ::testing::Values(Malformed{"id=1&payload[x]=%ZZ", "1"},           // bad escape, field 1
                      Malformed{"id=1&payload[x]=%4", "1"},            // truncated escape
                      Malformed{"payload[subscription=1", "unbalanced '['"},
                      Malformed{"payload%5Bsubscription=1", "unbalanced '['"},
                      Malformed{"payload]x[=1", "unbalanced ']'"},
                      Malformed{"payload[a]b=1", "text after ']'"},
                      Malformed{"payload[a[b]]=1", "'[' inside brackets"},
                      Malformed{"[a]=1", "no base"},
                      Malformed{"=1", "empty name"},
                      Malformed{"a[][b]=1", "'[]' only at the end"}));

TEST(ChargifyFormTree, ErrorsNameThePositionNotTheContent) {
  auto tree = FormTree::parse("id=1&event=x&secret[ada@example.com=1");
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.error().message.find("form field 2"), std::string::npos) << tree.error().message;
  EXPECT_EQ(tree.error().message.find("ada"), std::string::npos);
}

}  // namespace
}  // namespace wi::chargify
