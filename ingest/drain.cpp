#include "ingest/drain.h"

#include <algorithm>

namespace wi::ingest {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::chrono::milliseconds receive_cutoff(const DrainOptions& options) {
  // A body complete at the cutoff is verified and handed to Kafka (the margin in the
  // delivery bound covers the verification), gets its verdict within the delivery bound, and
  // its answer is written within the answer grace: all of that must end by kShutdownLimit.
  const auto latest = kShutdownLimit - options.delivery_bound - options.answer_grace;
  return std::max(milliseconds(0), std::min(options.timeout, latest));
}

DrainReport drain(const DrainSteps& steps, const DrainOptions& options, const Clock& clock,
                  const std::function<void(std::chrono::milliseconds)>& wait) {
  const auto started = clock.steady_now();
  const auto deadline = started + options.timeout;
  const auto limit = started + kShutdownLimit;
  const auto cutoff = started + receive_cutoff(options);
  auto left_until = [&](SteadyTime until) {
    return std::max(milliseconds(0), duration_cast<milliseconds>(until - clock.steady_now()));
  };
  DrainReport report;
  // One look at what is still in flight, kept for the report: the drain stops on what it saw.
  // A later look could find a request begun since (a new connection's quick 503 being
  // written) and call a clean drain incomplete.
  auto busy = [&] {
    report.unanswered = steps.unanswered();
    report.receiving = steps.receiving();
    return report.unanswered > 0 || report.receiving > 0;
  };
  steps.stop_accepting();
  // A request still arriving becomes an unanswered one when its body is complete (and is
  // then verified, published and answered as usual): wait for both kinds until the cutoff.
  while (busy() && clock.steady_now() < cutoff) wait(options.check_every);
  // Bodies not complete by the cutoff will not be handled: answer them 503 (retry later)
  // rather than let the shutdown cut them off without a word.
  if (steps.receiving() > 0) report.refused += steps.refuse_receiving();
  // Every record handed to Kafka gets its verdict within the delivery bound: wait for all of
  // them, even past the drain timeout, but never past the SPEC's limit (less the grace for
  // the answers the verdicts release). Nothing handed over before the cutoff needs longer.
  const auto flush_until = std::min(std::max(deadline, clock.steady_now() + options.delivery_bound),
                                    limit - options.answer_grace);
  report.flushed = steps.flush(left_until(flush_until));
  // The flush served delivery reports whose answers the reactor writes a moment later (and a
  // client refused at the cutoff may be getting its 503): give them until the timeout, or at
  // least the answer grace, before counting anything as unanswered. A request that was still
  // being verified when the flush began hands its record to Kafka only now: flush again for
  // it, or the process would exit (and the producer purge it) under its delivery callback.
  auto answers_by = std::min(std::max(deadline, clock.steady_now() + options.answer_grace), limit);
  while (busy() && clock.steady_now() < answers_by) {
    wait(options.check_every);
    if (steps.awaiting_verdict() > 0 && clock.steady_now() < flush_until) {
      report.flushed = steps.flush(left_until(flush_until));
      answers_by = std::min(std::max(answers_by, clock.steady_now() + options.answer_grace), limit);
    }
  }
  report.took = duration_cast<milliseconds>(clock.steady_now() - started);
  return report;
}

}  // namespace wi::ingest
