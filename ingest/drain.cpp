#include "ingest/drain.h"

#include <algorithm>

namespace wi::ingest {

DrainReport drain(const DrainSteps& steps, const DrainOptions& options, const Clock& clock,
                  const std::function<void(std::chrono::milliseconds)>& wait) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto started = clock.steady_now();
  const auto deadline = started + options.timeout;
  DrainReport report;
  auto busy = [&] { return steps.unanswered() > 0 || steps.receiving() > 0; };
  // Bodies not complete by the deadline will not be handled: answer them 503 (retry later)
  // rather than let the shutdown cut them off without a word.
  auto refuse_receiving = [&] {
    if (steps.receiving() == 0) return false;
    report.refused += steps.refuse_receiving();
    return true;
  };
  steps.stop_accepting();
  // A request still arriving becomes an unanswered one when its body is complete (and is
  // then verified, published and answered as usual): wait for both kinds until the timeout.
  while (busy() && clock.steady_now() < deadline) wait(options.check_every);
  refuse_receiving();
  // Every direct record gets its verdict within the delivery bound: wait for all of them, even
  // past the drain timeout.
  auto remaining = duration_cast<milliseconds>(deadline - clock.steady_now());
  report.flushed = steps.flush(std::max(remaining, options.delivery_bound));
  // The flush served delivery reports whose answers the reactor writes a moment later (and a
  // client still connecting, or one refused at the timeout, may be getting its 503): give
  // them until the timeout, or at least the answer grace, before counting anything as
  // unanswered.
  auto answers_by = std::max(deadline, clock.steady_now() + options.answer_grace);
  while (busy() && clock.steady_now() < answers_by) {
    wait(options.check_every);
    // A request that began arriving after the first wait ended is refused at the deadline
    // too; its 503 gets the answer grace past the deadline, never more (new connections
    // cannot stretch the drain).
    if (clock.steady_now() >= deadline && refuse_receiving()) {
      answers_by = std::max(answers_by, deadline + options.answer_grace);
    }
  }
  report.unanswered = steps.unanswered();
  report.receiving = steps.receiving();
  report.took = duration_cast<milliseconds>(clock.steady_now() - started);
  return report;
}

}  // namespace wi::ingest
