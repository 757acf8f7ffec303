// The SIGTERM drain with a fake clock and a FakeSink holding the accepted requests' records:
// how long it waits for answers, what the flush is given, and what it reports.
#include "ingest/drain.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_sink.h"

namespace wi::ingest {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Requests in flight are records the FakeSink holds; the flush only notes its bound.
struct DrainHarness {
  fakes::FakeClock clock;
  fakes::FakeSink sink;
  bool accepting = true;
  std::vector<milliseconds> flush_bounds;
  Status flush_result;
  int waits = 0;
  // Called at every wait, after the clock moved by the wait's length.
  std::function<void()> on_wait = [] {};
  // Called inside the flush (delivery reports answering requests as the producer drains).
  std::function<void()> on_flush = [] {};

  void accept(int n) {
    for (int i = 0; i < n; ++i) sink.accept(kafka::OutgoingRecord{}, [](Status) {});
  }

  DrainReport run(DrainOptions options) {
    DrainSteps steps;
    steps.stop_accepting = [this] { accepting = false; };
    steps.unanswered = [this] { return static_cast<std::int64_t>(sink.pending()); };
    steps.flush = [this](milliseconds bound) {
      flush_bounds.push_back(bound);
      on_flush();
      return flush_result;
    };
    return drain(steps, options, clock, [this](milliseconds d) {
      ++waits;
      clock.advance(d);
      on_wait();
    });
  }
};

DrainOptions options(milliseconds timeout, milliseconds bound) {
  DrainOptions o;
  o.timeout = timeout;
  o.delivery_bound = bound;
  o.check_every = 10ms;
  return o;
}

TEST(Drain, WaitsForTheAcceptedRequestsThenFlushesWithWhatIsLeftOfTheTimeout) {
  DrainHarness h;
  h.accept(2);
  h.on_wait = [&] {
    if (h.waits == 3 || h.waits == 5) h.sink.complete_next(Status());  // answered at 30, 50 ms
  };
  auto report = h.run(options(10s, 2s));

  EXPECT_FALSE(h.accepting);
  EXPECT_EQ(h.waits, 5) << "checks stop as soon as nothing is unanswered";
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{10s - 50ms}));
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.unanswered, 0);
  EXPECT_EQ(report.took, 50ms);
}

TEST(Drain, GivesUpWaitingAtTheTimeoutButStillFlushesForTheDeliveryBound) {
  DrainHarness h;
  h.accept(1);  // never answered
  auto report = h.run(options(500ms, 2s));

  EXPECT_EQ(h.waits, 50 + 20) << "50 checks to the timeout, 20 in the answer grace";
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{2s}))
      << "records already handed to Kafka must get their verdict even after the timeout";
  EXPECT_FALSE(report.complete());
  EXPECT_EQ(report.unanswered, 1);
  EXPECT_EQ(report.took, 700ms);
}

TEST(Drain, NothingInFlightFlushesAtOnce) {
  DrainHarness h;
  auto report = h.run(options(10s, 2s));
  EXPECT_EQ(h.waits, 0);
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{10s}));
  EXPECT_TRUE(report.complete());
}

TEST(Drain, AFlushThatTimesOutMakesTheDrainIncomplete) {
  DrainHarness h;
  h.flush_result = Error::timeout("2 record(s) still in flight");
  auto report = h.run(options(10s, 2s));
  EXPECT_EQ(report.unanswered, 0);
  EXPECT_FALSE(report.complete());
  ASSERT_FALSE(report.flushed.ok());
  EXPECT_EQ(report.flushed.error().message, "2 record(s) still in flight");
}

TEST(Drain, AnswersTheFlushReleasesAreWaitedForBeforeTheReport) {
  // The flush serves delivery reports; their answers are written by the reactor a moment
  // later, and a client still connecting gets its 503 in the same way. Sampling `unanswered`
  // right after the flush would report those as lost; the drain waits for them instead.
  DrainHarness h;
  h.on_flush = [&] { h.accept(1); };
  h.on_wait = [&] {
    if (h.waits == 2) h.sink.complete_next(Status());
  };
  auto report = h.run(options(10s, 2s));
  EXPECT_EQ(h.waits, 2);
  EXPECT_TRUE(report.complete()) << report.unanswered << " unanswered";
  EXPECT_EQ(report.took, 20ms);
}

}  // namespace
}  // namespace wi::ingest
