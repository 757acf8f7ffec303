// State restore through the runtime, with fakes: a partition's StateStore is rebuilt from the
// changelog before its first record is handled, and a restore that cannot run stops the
// worker instead of letting it work on partial state.
#include "workers/runtime/state_restore.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/unit/workers/runtime/runtime_harness.h"

namespace wi::worker::testing {
namespace {

kafka::ConsumedRecord change(std::int32_t partition, std::string key,
                             std::optional<std::string> value) {
  kafka::ConsumedRecord r;
  r.topic = "in.state";
  r.partition = partition;
  r.key = std::move(key);
  r.null_value = !value;
  r.value = value.value_or("");
  return r;
}

TEST(WorkerRuntimeRestore, StateIsRestoredBeforeThePartitionsFirstRecord) {
  RuntimeHarness h;
  h.options.state_topic = "in.state";
  h.changelog = {change(0, "k1", "v1"), change(0, "k2", "v2"), change(0, "k1", std::nullopt),
                 change(1, "other", "x")};
  h.consumer->append(kTopic, 0, "first");
  std::vector<std::string> seen_state;
  h.handler.before = [&](const kafka::ConsumedRecord&, HandlerContext& context) {
    ASSERT_NE(context.state, nullptr);
    seen_state.push_back(context.state->get("k1").value_or("-") + "," +
                         context.state->get("k2").value_or("-") + "," +
                         context.state->get("other").value_or("-") + "," +
                         std::to_string(context.state->size()));
  };
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([&] { return h.handler.seen.size() == 1; });

  // k1 was deleted by its tombstone; partition 1's key is not partition 0's state.
  EXPECT_EQ(seen_state, (std::vector<std::string>{"-,v2,-,1"}));
  ASSERT_EQ(h.restore_calls.size(), 1u);
  EXPECT_EQ(h.restore_calls[0], (std::vector<std::string>{"assign in.state/0@-2", "close"}));
}

TEST(WorkerRuntimeRestore, StateWritesGoToTheChangelogPartitionOfTheRecord) {
  RuntimeHarness h;
  h.options.state_topic = "in.state";
  h.changelog = {change(0, "seed", "1")};  // the changelog exists with every partition
  h.changelog.push_back(change(1, "seed", "1"));
  h.consumer->append(kTopic, 1, "count");
  h.handler.before = [&](const kafka::ConsumedRecord&, HandlerContext& context) {
    ASSERT_NE(context.state, nullptr);
    ASSERT_TRUE(context.state->put("count", "7").ok());
  };
  h.start();
  h.consumer->assign_partitions({kP1});
  h.run_until([&] { return h.consumer->committed_offset(kP1) == 1; });

  auto written = h.publisher.records();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].topic, "in.state");
  EXPECT_EQ(written[0].partition, 1);
  EXPECT_EQ(written[0].key, "count");
  EXPECT_EQ(written[0].value, "7");
}

TEST(WorkerRuntimeRestore, AReaderThatCannotBeCreatedStopsTheWorker) {
  RuntimeHarness h;
  h.options.state_topic = "in.state";
  h.restore_error = Error::unavailable("all brokers down");
  h.consumer->append(kTopic, 0, "first");
  h.start();
  h.consumer->assign_partitions({kP0});
  EXPECT_THROW(h.run_until([] { return false; }), std::runtime_error);
  EXPECT_TRUE(h.handler.seen.empty()) << "no record may be handled without its state";
}

TEST(WorkerRuntimeRestore, AChangelogThatNeverEndsTimesOutInsteadOfHanging) {
  // end_offsets says 3 records, but after the first the reader finds nothing more (a broker
  // that lost them): the restore gives up after 120 s of the fake clock instead of hanging.
  fakes::FakeClock clock;
  fakes::FakePublisher publisher;
  fakes::FakeConsumer reader(&clock);
  for (const char* key : {"a", "b", "c"}) reader.append(change(0, key, "1"));
  reader.on_poll = [&] {
    if (reader.polls() == 2) (void)reader.seek({"in.state", 0, 99});  // the rest is unreachable
  };
  std::map<std::int32_t, std::unique_ptr<StateStore>> stores;
  EXPECT_THROW(restore_state(reader, publisher, "in.state", {0}, stores, clock),
               std::runtime_error);
  EXPECT_EQ(stores.at(0)->get("a"), "1");
}

}  // namespace
}  // namespace wi::worker::testing
