// WorkerRuntime's loop with fakes only: per-partition retries, handler exceptions, commit
// points, redrive for one group. Dead letters: dead_letter_test.cpp; state restore:
// state_restore_test.cpp; backoff arithmetic: backoff_test.cpp.
#include "workers/runtime/worker_runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "tests/unit/workers/runtime/runtime_harness.h"
#include "workers/runtime/backoff.h"

namespace wi::worker::testing {
namespace {

using namespace std::chrono_literals;
using Offsets = std::vector<kafka::TopicPartitionOffset>;

bool has_call(const fakes::FakeConsumer& c, const std::string& call) {
  return std::find(c.calls().begin(), c.calls().end(), call) != c.calls().end();
}

// ---- retries ----------------------------------------------------------------------------

TEST(WorkerRuntimeLoop, RetryPausesOnlyItsPartitionWhileOthersKeepFlowing) {
  RuntimeHarness h;
  h.handler.scripts["a"] = {HandleResult::retry("db busy")};
  std::vector<bool> p0_paused_while_handling;
  h.handler.before = [&](const kafka::ConsumedRecord&, HandlerContext&) {
    p0_paused_while_handling.push_back(h.consumer->paused(kP0));
  };
  h.consumer->set_fetch_size(1);  // one record per batch: the order below is the runtime's
  h.consumer->append(kTopic, 0, "a");
  h.consumer->append(kTopic, 0, "b");
  h.consumer->append(kTopic, 1, "x");
  h.consumer->append(kTopic, 1, "y");
  h.start();
  h.consumer->assign_partitions({kP0, kP1});
  h.run_until([&] { return h.handler.seen.size() == 5; });

  EXPECT_EQ(h.handler.keys(), (std::vector<std::string>{"a#1", "x#1", "y#1", "a#2", "b#1"}));
  // Partition 1 was handled while partition 0 waited out its backoff.
  EXPECT_EQ(p0_paused_while_handling, (std::vector<bool>{false, true, true, false, false}));
  EXPECT_TRUE(has_call(*h.consumer, "pause in/0"));
  EXPECT_TRUE(has_call(*h.consumer, "seek in/0@0"));
  EXPECT_TRUE(has_call(*h.consumer, "resume in/0"));
  EXPECT_FALSE(has_call(*h.consumer, "pause in/1"));
  EXPECT_EQ(h.consumer->committed_offset(kP0), 2);
  EXPECT_EQ(h.consumer->committed_offset(kP1), 2);
  EXPECT_EQ(h.records("retried"), 1);
  EXPECT_EQ(h.records("processed"), 4);
}

TEST(WorkerRuntimeLoop, EachRetryWaitsItsGrowingBackoff) {
  RuntimeHarness h;
  h.handler.scripts["a"] = {HandleResult::retry("one"), HandleResult::retry("two")};
  h.consumer->append(kTopic, 0, "a");
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([&] { return h.handler.seen.size() == 3; });

  ASSERT_EQ(h.handler.keys(), (std::vector<std::string>{"a#1", "a#2", "a#3"}));
  // The same seed gives the delays the runtime drew; the runtime notices a due partition at
  // its next poll, which is at most one poll timeout (100 ms) later.
  Backoff expected(h.options.backoff_initial, h.options.backoff_max, *h.options.jitter_seed);
  auto first = expected.delay(1);
  auto second = expected.delay(2);
  auto gap1 = h.handler.seen[1].at - h.handler.seen[0].at;
  auto gap2 = h.handler.seen[2].at - h.handler.seen[1].at;
  EXPECT_GE(gap1, first);
  EXPECT_LE(gap1, first + 100ms);
  EXPECT_GE(gap2, second);
  EXPECT_LE(gap2, second + 100ms);
  EXPECT_EQ(h.consumer->committed_offset(kP0), 1);
}

TEST(WorkerRuntimeLoop, AHandlerExceptionIsRetriedNotFatal) {
  RuntimeHarness h;
  h.handler.before = [&](const kafka::ConsumedRecord&, HandlerContext& context) {
    if (context.attempt == 1) throw std::runtime_error("null pointer in the handler");
  };
  h.consumer->append(kTopic, 0, "a");
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([&] { return h.handler.seen.size() == 2; });

  EXPECT_EQ(h.handler.keys(), (std::vector<std::string>{"a#1", "a#2"}));
  EXPECT_TRUE(has_call(*h.consumer, "seek in/0@0"));
  EXPECT_EQ(h.records("retried"), 1);
  EXPECT_EQ(h.records("processed"), 1);
  EXPECT_EQ(h.consumer->committed_offset(kP0), 1);
  EXPECT_TRUE(h.publisher.records().empty()) << "a thrown exception is not a permanent failure";
}

// ---- commit points ----------------------------------------------------------------------

TEST(WorkerRuntimeLoop, CommitsAfterEveryBatch) {
  RuntimeHarness h;
  h.consumer->set_fetch_size(2);
  for (const char* key : {"a", "b", "c", "d"}) h.consumer->append(kTopic, 0, key);
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([&] { return h.handler.seen.size() == 4; });

  EXPECT_EQ(h.consumer->commits(), (std::vector<Offsets>{{{kTopic, 0, 2}}, {{kTopic, 0, 4}}}));
}

TEST(WorkerRuntimeLoop, CommitsEverySecondWithinALongBatch) {
  RuntimeHarness h;
  h.handler.before = [&](const kafka::ConsumedRecord&, HandlerContext&) {
    h.clock.advance(400ms);  // a slow handler
  };
  for (const char* key : {"a", "b", "c", "d", "e"}) h.consumer->append(kTopic, 0, key);
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([&] { return h.handler.seen.size() == 5; });

  // 1.2 s after the batch began (third record) the first three are committed; the rest at
  // the batch's end. One batch: the consumer delivered all five in a row.
  EXPECT_EQ(h.consumer->commits(), (std::vector<Offsets>{{{kTopic, 0, 3}}, {{kTopic, 0, 5}}}));
}

TEST(WorkerRuntimeLoop, CommitsPendingOffsetsBeforeARevocation) {
  RuntimeHarness h;
  h.consumer->append(kTopic, 0, "a");
  h.consumer->append(kTopic, 0, "b");
  h.consumer->append(kTopic, 1, "x");
  h.consumer->fail_next_commits(1);  // the batch's commit fails: both stay pending
  h.start();
  h.consumer->assign_partitions({kP0, kP1});
  bool revoked = false;
  h.run_until([&] {
    if (!revoked && h.consumer->failed_commits() == 1) {
      h.consumer->revoke_partitions({kP0});
      revoked = true;
      return false;
    }
    return revoked;
  });

  ASSERT_EQ(h.consumer->failed_commits(), 1);
  // on_revoked commits exactly the partition being given up, before it goes.
  ASSERT_FALSE(h.consumer->commits().empty());
  EXPECT_EQ(h.consumer->commits().front(), (Offsets{{kTopic, 0, 2}}));
  // Partition 1's offset is committed later, by the loop; partition 0's never again.
  EXPECT_EQ(h.consumer->commits().back(), (Offsets{{kTopic, 1, 1}}));
  EXPECT_EQ(h.consumer->commits().size(), 2u);
}

TEST(WorkerRuntimeLoop, LostPartitionsAreNotCommitted) {
  RuntimeHarness h;
  h.consumer->append(kTopic, 0, "a");
  h.consumer->fail_next_commits(1);
  h.start();
  h.consumer->assign_partitions({kP0});
  bool lost = false;
  h.run_until([&] {
    if (!lost && h.consumer->failed_commits() == 1) {
      h.consumer->revoke_partitions({kP0}, /*lost=*/true);
      lost = true;
      return false;
    }
    return lost;
  });

  EXPECT_TRUE(h.consumer->commits().empty())
      << "a lost partition belongs to another member already";
}

TEST(WorkerRuntimeLoop, CommitsAtShutdownAndLeavesTheRestUncommitted) {
  RuntimeHarness h;
  for (const char* key : {"a", "b", "c"}) h.consumer->append(kTopic, 0, key);
  h.handler.before = [&](const kafka::ConsumedRecord& record, HandlerContext&) {
    if (record.key == "b") h.stop = true;  // SIGTERM while b is in hand
  };
  h.consumer->fail_next_commits(1);  // the batch's own commit fails: only shutdown's is left
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([] { return false; });

  EXPECT_EQ(h.handler.keys(), (std::vector<std::string>{"a#1", "b#1"}));
  EXPECT_EQ(h.consumer->commits(), (std::vector<Offsets>{{{kTopic, 0, 2}}}));
  ASSERT_GE(h.consumer->calls().size(), 2u);
  EXPECT_EQ(h.consumer->calls()[h.consumer->calls().size() - 2], "commit in/0@2");
  EXPECT_EQ(h.consumer->calls().back(), "close");
}

TEST(WorkerRuntimeLoop, ARetryAbandonedAtShutdownIsNotCommitted) {
  RuntimeHarness h;
  h.consumer->append(kTopic, 0, "a");
  h.consumer->append(kTopic, 0, "slow");
  h.handler.before = [&](const kafka::ConsumedRecord& record, HandlerContext& context) {
    if (record.key == "slow") {
      h.stop = true;
      EXPECT_TRUE(context.stopping());
    }
  };
  h.handler.scripts["slow"] = {HandleResult::retry("stopping")};
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([] { return false; });

  EXPECT_EQ(h.consumer->committed_offset(kP0), 1);
  EXPECT_EQ(h.records("retried"), 0) << "an abandoned record is not a retry";
  EXPECT_FALSE(has_call(*h.consumer, "pause in/0"));
}

// ---- redrive for one group (SPEC §5) ----------------------------------------------------

TEST(WorkerRuntimeLoop, ARecordRedrivenForAnotherGroupIsSkippedAndCommitted) {
  RuntimeHarness h;
  h.consumer->append(kTopic, 0, "theirs", "v", {{"redrive-for-group", "deploy-web-2"}});
  h.consumer->append(kTopic, 0, "mine");
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([&] { return h.consumer->committed_offset(kP0) == 2; });

  EXPECT_EQ(h.handler.keys(), (std::vector<std::string>{"mine#1"}));
  EXPECT_EQ(h.records("skipped"), 1);
  EXPECT_EQ(h.records("processed"), 1);
}

TEST(WorkerRuntimeLoop, ARecordRedrivenForThisGroupIsHandled) {
  RuntimeHarness h;
  h.consumer->append(kTopic, 0, "mine", "v", {{"redrive-for-group", "g"}});
  h.start();
  h.consumer->assign_partitions({kP0});
  h.run_until([&] { return h.consumer->committed_offset(kP0) == 1; });

  EXPECT_EQ(h.handler.keys(), (std::vector<std::string>{"mine#1"}));
  EXPECT_EQ(h.records("skipped"), 0);
  EXPECT_EQ(h.records("processed"), 1);
}

}  // namespace
}  // namespace wi::worker::testing
