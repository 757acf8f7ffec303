#include "workers/runtime/state_restore.h"

#include <set>
#include <stdexcept>

namespace wi::worker {

using namespace std::chrono_literals;

RestoreReport restore_state(kafka::Consumer& reader, kafka::Publisher& publisher,
                            const std::string& changelog,
                            const std::vector<std::int32_t>& partitions,
                            std::map<std::int32_t, std::unique_ptr<StateStore>>& stores,
                            const Clock& clock) {
  RestoreReport report;
  auto ends = reader.end_offsets(changelog, 30s);
  if (!ends) throw std::runtime_error("state restore: " + ends.error().message);
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
    if (auto s = reader.assign(start); !s) {
      throw std::runtime_error("state restore: " + s.error().message);
    }
    auto deadline = clock.steady_now() + 120s;
    while (!remaining.empty()) {
      if (clock.steady_now() > deadline) {
        throw std::runtime_error("state restore of " + changelog + " did not finish in 120 s");
      }
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
