// The SIGTERM drain with a fake clock and a FakeSink holding the accepted requests' records:
// how long it waits for answers, what the flush is given, and what it reports.
#include "ingest/drain.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_sink.h"

namespace wi::ingest {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Requests in flight are records the FakeSink holds (waiting for Kafka's verdict), requests
// being verified (handed to the service, no record yet) and answers not yet written (503s
// queued by refuse_receiving, answers a flush released); requests still being received are a
// count the test changes as bytes "arrive". The flush behaves like rd_kafka_flush: it returns
// at once when no record is held, and otherwise blocks until Kafka's verdicts (at
// `verdicts_at`, when set) or until its bound has passed.
struct DrainHarness {
  fakes::FakeClock clock;
  fakes::FakeSink sink;
  bool accepting = true;
  std::int64_t receiving = 0;
  std::int64_t verifying = 0;               // handed to the service, record not yet handed to Kafka
  std::int64_t answers_unwritten = 0;       // 503s queued by refuse_receiving and the like
  bool refusal_takes = true;                // false: refuse_receiving finds nothing it can answer
  std::optional<milliseconds> verdicts_at;  // since the start: Kafka answers every held record
  std::vector<std::string> events;          // "refuse@<ms>" and "flush@<ms>", in order
  std::vector<milliseconds> flush_bounds;
  Status flush_result;
  int waits = 0;
  // Called at every wait, after the clock moved by the wait's length.
  std::function<void()> on_wait = [] {};
  // Called inside the flush, before it waits for Kafka.
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

  Status flush(milliseconds bound) {
    events.push_back(at("flush"));
    flush_bounds.push_back(bound);
    on_flush();
    if (sink.pending() == 0) return flush_result;
    if (verdicts_at && *verdicts_at <= elapsed() + bound) {
      clock.advance(std::max(milliseconds(0), *verdicts_at - elapsed()));
      while (sink.pending() > 0) sink.complete_next(Status());
      return flush_result;
    }
    clock.advance(bound);
    return Error::timeout(std::to_string(sink.pending()) + " record(s) still in flight");
  }

  DrainReport run(DrainOptions options) {
    start = clock.steady_now();
    DrainSteps steps;
    steps.stop_accepting = [this] { accepting = false; };
    steps.unanswered = [this] {
      return static_cast<std::int64_t>(sink.pending()) + verifying + answers_unwritten;
    };
    steps.receiving = [this] { return receiving; };
    steps.refuse_receiving = [this] {
      events.push_back(at("refuse"));
      if (!refusal_takes) return std::int64_t{0};
      const auto n = receiving;
      answers_unwritten += n;
      receiving = 0;
      return n;
    };
    steps.awaiting_verdict = [this] { return static_cast<std::int64_t>(sink.pending()); };
    steps.flush = [this](milliseconds bound) { return flush(bound); };
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
  auto report = h.run(options(8s, 2s));

  EXPECT_FALSE(h.accepting);
  EXPECT_EQ(h.waits, 5) << "checks stop as soon as nothing is unanswered";
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{8s - 50ms}));
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.unanswered, 0);
  EXPECT_EQ(report.took, 50ms);
}

TEST(Drain, GivesUpWaitingAtTheTimeoutButStillFlushesForTheDeliveryBound) {
  DrainHarness h;
  h.accept(1);  // Kafka never gives its verdict
  auto report = h.run(options(500ms, 2s));

  EXPECT_EQ(h.waits, 50 + 20) << "50 checks to the timeout, 20 in the answer grace";
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{2s}))
      << "records already handed to Kafka must get their verdict even after the timeout";
  EXPECT_FALSE(report.complete());
  EXPECT_FALSE(report.flushed.ok());
  EXPECT_EQ(report.unanswered, 1);
  EXPECT_EQ(report.took, 500ms + 2s + 200ms);
}

TEST(Drain, ReportsWhatItStoppedOnNotALaterLook) {
  // Traffic after SIGTERM: each new request's quick 503 is unanswered for a moment, so every
  // other look sees one. The drain stops on a look that sees none; its report must say so, not
  // count the 503 a later look finds (which read "drain incomplete: 1 requests unanswered" on
  // a clean shutdown under load).
  fakes::FakeClock clock;
  int looks = 0;
  DrainSteps steps;
  steps.stop_accepting = [] {};
  steps.unanswered = [&] { return std::int64_t{++looks % 2 == 0 ? 1 : 0}; };
  steps.receiving = [] { return std::int64_t{0}; };
  steps.refuse_receiving = [] { return std::int64_t{0}; };
  steps.awaiting_verdict = [] { return std::int64_t{0}; };
  steps.flush = [](milliseconds) { return Status(); };
  auto report = drain(steps, options(8s, 2s), clock, [&](milliseconds d) { clock.advance(d); });
  EXPECT_TRUE(report.complete()) << report.unanswered << " unanswered";
  EXPECT_EQ(report.unanswered, 0);
}

TEST(Drain, NothingInFlightFlushesAtOnce) {
  DrainHarness h;
  auto report = h.run(options(8s, 2s));
  EXPECT_EQ(h.waits, 0);
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{8s}));
  EXPECT_TRUE(report.complete());
}

TEST(Drain, AFlushThatTimesOutMakesTheDrainIncomplete) {
  DrainHarness h;
  h.flush_result = Error::timeout("2 record(s) still in flight");
  auto report = h.run(options(8s, 2s));
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
  h.on_flush = [&] { h.answers_unwritten = 1; };
  h.on_wait = [&] {
    if (h.waits == 2) h.answers_unwritten = 0;
  };
  auto report = h.run(options(8s, 2s));
  EXPECT_EQ(h.waits, 2);
  EXPECT_TRUE(report.complete()) << report.unanswered << " unanswered";
  EXPECT_EQ(report.took, 20ms);
}

TEST(Drain, ARecordHandedToKafkaOnlyAfterTheFlushIsFlushedAgain) {
  // A body completes just before the cutoff and is still being verified (HMAC and JSON over
  // up to 25 MiB) when the flush finds nothing queued; its record reaches Kafka at 610 ms and
  // Kafka answers at 1.5 s, past the answer grace. Ending after the answer grace would leave its
  // delivery callback to run while the process tears down what it answers through.
  DrainHarness h;
  h.receiving = 1;
  h.verdicts_at = 1500ms;
  h.on_wait = [&] {
    if (h.elapsed() == 490ms) {
      h.receiving = 0;
      h.verifying = 1;
    }
    if (h.elapsed() == 610ms) {
      h.verifying = 0;
      h.accept(1);
    }
  };
  auto report = h.run(options(500ms, 2s));

  EXPECT_EQ(h.events, (std::vector<std::string>{"flush@500", "flush@610"}));
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{2s, 2500ms - 610ms}))
      << "the second flush keeps to the first one's end";
  EXPECT_TRUE(report.complete()) << report.unanswered << " unanswered";
  EXPECT_EQ(report.took, 1500ms);
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
  auto report = h.run(options(8s, 2s));

  EXPECT_EQ(h.waits, 40);
  EXPECT_EQ(h.events, (std::vector<std::string>{"flush@400"})) << "nothing refused";
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{8s - 400ms}));
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.refused, 0);
  EXPECT_EQ(report.took, 400ms);
}

TEST(Drain, ABodyStillArrivingAtTheTimeoutIsRefusedBeforeTheFlushAndItsAnswerWaitedFor) {
  DrainHarness h;
  h.receiving = 1;  // never completes
  h.on_wait = [&] {
    if (h.answers_unwritten > 0) h.answers_unwritten = 0;  // the 503 is written
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

// ---- SPEC §3: exit within 10 s, whatever the configuration -------------------------------------

TEST(Drain, TheReceiveCutoffLeavesTheDeliveryBoundAndTheGraceBeforeTheShutdownLimit) {
  EXPECT_EQ(receive_cutoff(options(8s, 6s)), 10s - 6s - 200ms);  // the defaults: 3.8 s
  EXPECT_EQ(receive_cutoff(options(1s, 6s)), 1s) << "the drain timeout when it comes first";
  EXPECT_EQ(receive_cutoff(options(8s, 10s)), 0ms) << "no room: refuse at once";
  EXPECT_EQ(receive_cutoff(options(8s, 9900ms)), 0ms);
}

TEST(Drain, ABodyCompletingJustBeforeTheCutoffIsAnsweredWithinTheShutdownLimit) {
  // The defaults: drain timeout 8 s, publish timeout 5 s (delivery bound 6 s). The body's
  // last bytes arrive 10 ms before the cutoff and Kafka takes its whole publish timeout. With
  // the cutoff at the drain timeout the verdict would come at 13 s.
  DrainHarness h;
  const auto cutoff = receive_cutoff(options(8s, 6s));
  h.receiving = 1;
  h.verdicts_at = cutoff - 10ms + 5s;
  h.on_wait = [&] {
    if (h.elapsed() == cutoff - 10ms) {
      h.receiving = 0;
      h.accept(1);
    }
  };
  auto report = h.run(options(8s, 6s));

  EXPECT_EQ(h.events, (std::vector<std::string>{"flush@" + std::to_string(cutoff.count())}))
      << "nothing refused";
  EXPECT_TRUE(report.complete()) << report.unanswered << " unanswered";
  EXPECT_EQ(report.took, *h.verdicts_at);
  EXPECT_LE(report.took, kShutdownLimit);
}

TEST(Drain, KafkaNeverAnsweringStillEndsTheDrainAtTheShutdownLimit) {
  // The largest allowed settings: INGEST_DRAIN_TIMEOUT_MS=9500, INGEST_PUBLISH_TIMEOUT_MS=9000
  // (delivery bound 10 s). No room is left for a body still arriving: it is refused at once,
  // and the flush and the answer grace end by the limit even though Kafka never answers.
  DrainHarness h;
  h.receiving = 1;
  h.accept(1);
  h.on_wait = [&] { h.answers_unwritten = 0; };
  auto report = h.run(options(9500ms, 10s));

  EXPECT_EQ(h.events, (std::vector<std::string>{"refuse@0", "flush@0"}));
  EXPECT_EQ(h.flush_bounds, (std::vector<milliseconds>{kShutdownLimit - 200ms}));
  EXPECT_EQ(report.refused, 1);
  EXPECT_FALSE(report.complete());
  EXPECT_EQ(report.unanswered, 1);
  EXPECT_EQ(report.took, kShutdownLimit);
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
