// Dead letters through the runtime, with fakes: what a dead letter carries, when the
// original is committed, and what happens when the dead letter cannot be written.
#include "workers/runtime/dead_letter.h"

#include <gtest/gtest.h>

#include "tests/unit/workers/runtime/runtime_harness.h"

namespace wi::worker::testing {
namespace {

std::string header(const kafka::Headers& headers, std::string_view name) {
  const std::string* v = kafka::find_header(headers, name);
  return v ? *v : "<missing>";
}

TEST(WorkerRuntimeDeadLetter, APermanentFailureGoesToTheDlqWithEveryHeaderAndIsCommitted) {
  RuntimeHarness h;
  h.consumer->append(kTopic, 1, "ok");
  h.consumer->append(kTopic, 1, "poison", "{not json", {{"source", "github"}, {"event-id", "e-1"}});
  h.handler.scripts["poison"] = {HandleResult::dead_letter("body is not JSON")};
  h.start();
  h.consumer->assign_partitions({kP1});
  h.run_until([&] { return h.consumer->committed_offset(kP1) == 2; });

  auto dlq = h.publisher.records();
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].topic, "in.dlq");
  EXPECT_EQ(dlq[0].key, "poison");
  EXPECT_EQ(dlq[0].value, "{not json");
  EXPECT_FALSE(dlq[0].tombstone);
  EXPECT_EQ(dlq[0].headers, (kafka::Headers{{"source", "github"},
                                            {"event-id", "e-1"},
                                            {"dlq-reason", "body is not JSON"},
                                            {"dlq-worker", "test"},
                                            {"dlq-group", "g"},
                                            {"dlq-attempts", "1"},
                                            {"dlq-original-topic", "in"},
                                            {"dlq-original-partition", "1"},
                                            {"dlq-original-offset", "1"}}));
  EXPECT_EQ(h.handler.keys(), (std::vector<std::string>{"ok#1", "poison#1"}));
  EXPECT_EQ(h.records("dead_lettered"), 1);
}

TEST(WorkerRuntimeDeadLetter, RetriesUpToMaxAttemptsThenDeadLetters) {
  RuntimeHarness h;  // max_attempts 3
  h.consumer->append(kTopic, 0, "flaky");
  h.handler.scripts["flaky"] = {HandleResult::retry("timeout 1"), HandleResult::retry("timeout 2"),
                                HandleResult::retry("timeout 3")};
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([&] { return h.consumer->committed_offset(kP0) == 1; });

  EXPECT_EQ(h.handler.keys(), (std::vector<std::string>{"flaky#1", "flaky#2", "flaky#3"}));
  auto dlq = h.publisher.records();
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(header(dlq[0].headers, "dlq-attempts"), "3");
  EXPECT_EQ(header(dlq[0].headers, "dlq-reason"), "gave up after 3 attempts: timeout 3");
  EXPECT_EQ(h.records("retried"), 2);
  EXPECT_EQ(h.records("dead_lettered"), 1);
}

TEST(WorkerRuntimeDeadLetter, AFailedDeadLetterKeepsTheRecordUncommittedUntilItIsWritten) {
  RuntimeHarness h;
  h.consumer->append(kTopic, 0, "poison");
  h.handler.scripts["poison"] = {HandleResult::dead_letter("bad"),
                                 HandleResult::dead_letter("bad")};
  h.publisher.fail_next(1);
  std::vector<std::int64_t> committed_when_handled;
  h.handler.before = [&](const kafka::ConsumedRecord&, HandlerContext&) {
    committed_when_handled.push_back(h.consumer->committed_offset(kP0));
  };
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([&] { return h.consumer->committed_offset(kP0) == 1; });

  ASSERT_EQ(h.publisher.refused().size(), 1u);
  EXPECT_EQ(h.publisher.records().size(), 1u);
  EXPECT_EQ(h.handler.keys(), (std::vector<std::string>{"poison#1", "poison#2"}));
  EXPECT_EQ(committed_when_handled, (std::vector<std::int64_t>{kafka::Consumer::kOffsetInvalid,
                                                               kafka::Consumer::kOffsetInvalid}))
      << "nothing may be committed while the dead letter is not written";
}

TEST(DeadLetterRecord, KeepsATombstoneATombstone) {
  kafka::ConsumedRecord r;
  r.topic = "chargify.fulfilments";
  r.partition = 3;
  r.offset = 9;
  r.key = "sub-1";
  r.null_value = true;
  auto dlq = dead_letter_record(r, {"chargify", "chargify", 2, "state write failed"});
  EXPECT_EQ(dlq.topic, "chargify.fulfilments.dlq");
  EXPECT_TRUE(dlq.tombstone);
  EXPECT_EQ(header(dlq.headers, "dlq-group"), "chargify");
  EXPECT_EQ(header(dlq.headers, "dlq-original-offset"), "9");
}

}  // namespace
}  // namespace wi::worker::testing
