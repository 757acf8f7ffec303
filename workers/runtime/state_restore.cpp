#include "workers/runtime/state_restore.h"

#include <fmt/format.h>

#include <set>
#include <stdexcept>

#include "common/log.h"

namespace wi::worker {

using namespace std::chrono_literals;

namespace {

constexpr auto kRestoreLimit = 120s;
constexpr auto kRetryPause = 500ms;

// One restore's deadline, shared by the retries of its setup calls and the drain, so a
// broker that keeps answering "not leader" cannot stretch a restore beyond kRestoreLimit.
class RestoreDeadline {
 public:
  RestoreDeadline(const Clock& clock, const std::string& changelog)
      : clock_(clock), changelog_(changelog), deadline_(clock.steady_now() + kRestoreLimit) {}

  void check() const {
    if (clock_.steady_now() > deadline_) {
      throw std::runtime_error(fmt::format("state restore of {} did not finish in {} s",
                                           changelog_, kRestoreLimit.count()));
    }
  }

  // Runs `call` until it succeeds. A non-retryable error fails the restore at once; a
  // retryable one (a freshly created topic whose leaders are still being elected) is logged
  // and retried after a pause, until the deadline.
  template <class Call>
  auto retry(const char* what, kafka::Consumer& reader, Call call) {
    static auto logger = log::get("state-restore");
    for (int attempt = 1;; ++attempt) {
      auto result = call();
      if (result) return result;
      const auto& error = result.error();
      if (!error.retryable) {
        throw std::runtime_error(fmt::format("state restore: {}", error.message));
      }
      check();
      logger->warn("state restore of {}: {} failed (attempt {}), retrying: {}", changelog_, what,
                   attempt, error.message);
      pause(reader);
    }
  }

 private:
  // Waits by polling the reader: nothing is assigned before a successful assign, so poll only
  // waits (and serves librdkafka's callbacks); a fake consumer moves its fake clock instead.
  void pause(kafka::Consumer& reader) const {
    auto until = clock_.steady_now() + kRetryPause;
    while (clock_.steady_now() < until) {
      (void)reader.poll(std::chrono::duration_cast<std::chrono::milliseconds>(
          until - clock_.steady_now()));
    }
  }

  const Clock& clock_;
  const std::string& changelog_;
  SteadyTime deadline_;
};

}  // namespace

RestoreReport restore_state(kafka::Consumer& reader, kafka::Publisher& publisher,
                            const std::string& changelog,
                            const std::vector<std::int32_t>& partitions,
                            std::map<std::int32_t, std::unique_ptr<StateStore>>& stores,
                            const Clock& clock) {
  RestoreReport report;
  RestoreDeadline deadline(clock, changelog);
  auto ends =
      deadline.retry("end offsets", reader, [&] { return reader.end_offsets(changelog, 30s); });
  std::map<std::int32_t, std::int64_t> end_of;
  for (const auto& e : *ends) end_of[e.partition] = e.offset;
  std::vector<kafka::TopicPartitionOffset> start;
  std::set<std::int32_t> remaining;
  for (auto p : partitions) {
    stores[p] = std::make_unique<StateStore>(publisher, changelog, p);
    if (end_of[p] > 0) {
      start.push_back({changelog, p, kafka::Consumer::kOffsetBeginning});
      remaining.insert(p);
    }
  }
  if (!start.empty()) {
    (void)deadline.retry("assign", reader, [&] { return reader.assign(start); });
    while (!remaining.empty()) {
      deadline.check();
      auto r = reader.poll(200ms);
      if (!r || !*r) continue;
      const auto& rec = **r;
      if (rec.key) {
        stores[rec.partition]->apply(
            *rec.key, rec.null_value ? std::nullopt : std::optional<std::string>(rec.value));
        ++report.applied;
      }
      if (rec.offset + 1 >= end_of[rec.partition]) remaining.erase(rec.partition);
    }
  }
  reader.close();
  for (const auto& [p, store] : stores) report.keys += store->size();
  return report;
}

}  // namespace wi::worker
