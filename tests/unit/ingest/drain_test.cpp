// The SIGTERM drain with a fake clock and a FakeSink holding the accepted requests' records:
// how long it waits for answers, what the flush is given, and what it reports.
#include "ingest/drain.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_sink.h"

namespace wi::ingest {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Requests in flight are records the FakeSink holds, requests still being received a count
// the test changes as bytes "arrive", and the 503s refuse_receiving queued until they are
// "written"; the flush only notes its bound.
struct DrainHarness {
  fakes::FakeClock clock;
  fakes::FakeSink sink;
  bool accepting = true;
  std::int64_t receiving = 0;
  std::int64_t refusals_unwritten = 0;  // 503s queued by refuse_receiving, not yet written
  bool refusal_takes = true;            // false: refuse_receiving finds nothing it can answer
  std::vector<std::string> events;      // "refuse@<ms>" and "flush@<ms>", in order
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

  std::string at(const char* what) {
    return std::string(what) + "@" + std::to_string(elapsed().count());
  }
  milliseconds elapsed() const {
    return std::chrono::duration_cast<milliseconds>(clock.steady_now() - start);
  }

  DrainReport run(DrainOptions options) {
    start = clock.steady_now();
    DrainSteps steps;
    steps.stop_accepting = [this] { accepting = false; };
    steps.unanswered = [this] {
      return static_cast<std::int64_t>(sink.pending()) + refusals_unwritten;
    };
    steps.receiving = [this] { return receiving; };
    steps.refuse_receiving = [this] {
      events.push_back(at("refuse"));
      if (!refusal_takes) return std::int64_t{0};
      const auto n = receiving;
      refusals_unwritten += n;
      receiving = 0;
      return n;
    };
    steps.flush = [this](milliseconds bound) {
      events.push_back(at("flush"));
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

  SteadyTime start{};
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

// ---- requests still being received (head or body still arriving) ----------------------------

TEST(Drain, WaitsForARequestStillBeingReceivedThenForItsAnswerBeforeFlushing) {
  // SIGTERM while a body is uploading: its last bytes arrive at 300 ms, the service hands the
  // record to Kafka, the answer is written at 400 ms. The drain must not flush and stop in
  // between (the defect: "draining (0 requests in flight)", then the connection cut off).
  DrainHarness h;
  h.receiving = 1;
  h.on_wait = [&] {
    if (h.waits == 30) {
      h.receiving = 0;
      h.accept(1);
    }
    if (h.waits == 40) h.sink.complete_next(Status());
  };
  auto report = h.run(options(10s, 2s));

  EXPECT_EQ(h.waits, 40);
  EXPECT_EQ(h.events, (std::vector<std::string>{"flush@400"})) << "nothing refused";
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{10s - 400ms}));
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.refused, 0);
  EXPECT_EQ(report.took, 400ms);
}

TEST(Drain, ABodyStillArrivingAtTheTimeoutIsRefusedBeforeTheFlushAndItsAnswerWaitedFor) {
  DrainHarness h;
  h.receiving = 1;  // never completes
  h.on_wait = [&] {
    if (h.refusals_unwritten > 0) h.refusals_unwritten = 0;  // the 503 is written
  };
  auto report = h.run(options(500ms, 2s));

  EXPECT_EQ(h.events, (std::vector<std::string>{"refuse@500", "flush@500"}))
      << "refused at the timeout, not earlier, and before the flush may wait for Kafka";
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{2s}));
  EXPECT_EQ(report.refused, 1);
  EXPECT_EQ(report.receiving, 0);
  EXPECT_EQ(report.unanswered, 0);
  EXPECT_TRUE(report.complete()) << "the refused request got its 503";
  EXPECT_EQ(report.took, 510ms) << "one check for its 503 to be written";
}

TEST(Drain, ARequestThatBeginsArrivingAfterTheWaitIsRefusedAtTheDeadline) {
  // Nothing in flight, so the flush comes at once; meanwhile a client starts a request. It
  // is waited for until the deadline like the others, then refused, and its 503 gets the
  // answer grace.
  DrainHarness h;
  h.on_flush = [&] { h.receiving = 1; };
  h.on_wait = [&] {
    if (h.refusals_unwritten > 0 && h.elapsed() >= 600ms) h.refusals_unwritten = 0;
  };
  auto report = h.run(options(500ms, 2s));

  EXPECT_EQ(h.events, (std::vector<std::string>{"flush@0", "refuse@500"}));
  EXPECT_EQ(report.refused, 1);
  EXPECT_TRUE(report.complete()) << report.unanswered << " unanswered";
  EXPECT_EQ(report.took, 600ms);
}

TEST(Drain, ARequestStillReceivedAfterTheRefusalLeavesItIncompleteWithinTheGrace) {
  // A refusal that finds nothing to answer (the connection is mid-close, say): the drain still
  // ends by the deadline plus the answer grace, and says what it left.
  DrainHarness h;
  h.receiving = 1;
  h.refusal_takes = false;
  auto report = h.run(options(500ms, 2s));

  EXPECT_FALSE(report.complete());
  EXPECT_EQ(report.receiving, 1);
  EXPECT_EQ(report.refused, 0);
  EXPECT_EQ(report.took, 700ms);
}

}  // namespace
}  // namespace wi::ingest
