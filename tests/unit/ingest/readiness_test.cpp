// Readiness for /readyz: the probe's last answer, refreshed by a thread rather than per
// request, and combined with the spool's room.
#include "ingest/readiness.h"

#include <gtest/gtest.h>

#include <deque>

namespace wi::ingest {
namespace {

// Answers from a script; counts the probes.
struct ScriptedProbe {
  std::deque<bool> answers;
  int calls = 0;
  bool operator()() {
    ++calls;
    bool next = answers.front();
    if (answers.size() > 1) answers.pop_front();
    return next;
  }
};

class FixedReadiness final : public Readiness {
 public:
  explicit FixedReadiness(bool ready) : ready_(ready) {}
  bool ready() const override { return ready_; }
  bool ready_;
};

TEST(ProbedReadiness, ProbesOnceBeforeTheFirstRequest) {
  ScriptedProbe probe{{false, true}};
  ProbedReadiness readiness([&] { return probe(); });
  EXPECT_EQ(probe.calls, 1);
  EXPECT_FALSE(readiness.ready());
}

TEST(ProbedReadiness, ReadyFollowsTheLatestProbeAndOnlyARefreshProbes) {
  ScriptedProbe probe{{true, false, false, true}};
  ProbedReadiness readiness([&] { return probe(); });
  EXPECT_TRUE(readiness.ready());
  EXPECT_TRUE(readiness.ready());
  EXPECT_EQ(probe.calls, 1) << "ready() must answer from the last probe, never probe itself";
  readiness.refresh();
  EXPECT_FALSE(readiness.ready());
  readiness.refresh();
  EXPECT_FALSE(readiness.ready());
  readiness.refresh();
  EXPECT_TRUE(readiness.ready());
  EXPECT_EQ(probe.calls, 4);
}

TEST(KafkaOrSpoolReadiness, ReadyWhileKafkaAnswersOrTheSpoolHasRoom) {
  FixedReadiness kafka_up(true), kafka_down(false);
  bool room = true;
  EXPECT_TRUE(KafkaOrSpoolReadiness(kafka_up, nullptr).ready());
  EXPECT_FALSE(KafkaOrSpoolReadiness(kafka_down, nullptr).ready()) << "no spool: Kafka decides";
  KafkaOrSpoolReadiness spooling(kafka_down, [&] { return room; });
  EXPECT_TRUE(spooling.ready());
  room = false;
  EXPECT_FALSE(spooling.ready()) << "a full spool with Kafka down takes nothing";
  EXPECT_TRUE(KafkaOrSpoolReadiness(kafka_up, [&] { return room; }).ready());
}

}  // namespace
}  // namespace wi::ingest
