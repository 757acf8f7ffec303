#include "ingest/drain.h"

#include <algorithm>

namespace wi::ingest {

DrainReport drain(const DrainSteps& steps, const DrainOptions& options, const Clock& clock,
                  const std::function<void(std::chrono::milliseconds)>& wait) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto started = clock.steady_now();
  const auto deadline = started + options.timeout;
  steps.stop_accepting();
  while (steps.unanswered() > 0 && clock.steady_now() < deadline) wait(options.check_every);
  // Every direct record gets its verdict within the delivery bound: wait for all of them, even
  // past the drain timeout.
  auto remaining = duration_cast<milliseconds>(deadline - clock.steady_now());
  DrainReport report;
  report.flushed = steps.flush(std::max(remaining, options.delivery_bound));
  // The flush served delivery reports whose answers the reactor writes a moment later (and a
  // client still connecting may be getting its 503): give them until the timeout, or at least
  // the answer grace, before counting anything as unanswered.
  const auto answers_by = std::max(deadline, clock.steady_now() + options.answer_grace);
  while (steps.unanswered() > 0 && clock.steady_now() < answers_by) wait(options.check_every);
  report.unanswered = steps.unanswered();
  report.took = duration_cast<milliseconds>(clock.steady_now() - started);
  return report;
}

}  // namespace wi::ingest
