#include "ctl/topic_scan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace wi::ctl {

Result<std::vector<ScanRange>> plan_scan(kafka::Consumer& consumer, const std::string& topic,
                                         const std::vector<kafka::TopicPartitionOffset>& start,
                                         std::chrono::milliseconds timeout) {
  auto ends = consumer.end_offsets(topic, timeout);
  if (!ends) return ends.error();
  // The Consumer port has no "low watermark"; the first record at or after timestamp 0 is the
  // oldest one still in the log (the end offset when the partition holds none), which is what
  // a scan needs to know so that an emptied partition does not look unfinished forever.
  auto oldest = consumer.offsets_for_time(topic, 0, timeout);
  if (!oldest) return oldest.error();
  std::map<std::int32_t, std::int64_t> first_available;
  for (const auto& o : *oldest) first_available[o.partition] = o.offset;
  std::map<std::int32_t, std::int64_t> wanted;
  for (const auto& s : start) {
    if (s.topic == topic) wanted[s.partition] = s.offset;
  }

  std::vector<ScanRange> ranges;
  for (const auto& end : *ends) {
    ScanRange r;
    r.partition = end.partition;
    r.to = end.offset;
    std::int64_t floor = first_available.count(end.partition) ? first_available[end.partition] : 0;
    auto it = wanted.find(end.partition);
    std::int64_t from = (it == wanted.end() || it->second < 0) ? floor : it->second;
    r.from = std::max(from, std::min(floor, r.to));
    ranges.push_back(r);
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const ScanRange& a, const ScanRange& b) { return a.partition < b.partition; });
  return ranges;
}

Status scan_ranges(kafka::Consumer& consumer, const std::string& topic,
                   const std::vector<ScanRange>& ranges, const ScanVisitor& visit,
                   std::chrono::milliseconds stall_limit, const std::atomic<bool>& interrupted) {
  // Next offset expected per unfinished partition.
  std::map<std::int32_t, std::int64_t> next;
  std::map<std::int32_t, std::int64_t> end;
  std::vector<kafka::TopicPartitionOffset> assignment;
  for (const auto& r : ranges) {
    if (r.empty()) continue;
    next[r.partition] = r.from;
    end[r.partition] = r.to;
    assignment.push_back({topic, r.partition, r.from});
  }
  if (assignment.empty()) return {};
  if (auto s = consumer.assign(assignment); !s) return s;

  auto where = [&] {
    std::string out;
    for (const auto& [p, n] : next) {
      out += fmt::format("{}partition {} at {} of {}", out.empty() ? "" : ", ", p, n, end[p]);
    }
    return out;
  };
  auto last_progress = std::chrono::steady_clock::now();
  while (!next.empty()) {
    if (interrupted) return Error::internal(fmt::format("interrupted ({})", where()));
    auto polled = consumer.poll(std::chrono::milliseconds(200));
    if (!polled && !polled.error().retryable) return polled.error();
    if (!polled || !*polled) {
      if (std::chrono::steady_clock::now() - last_progress > stall_limit) {
        return Error::timeout(
            fmt::format("reading {} stalled: no record for {} s ({}){}", topic,
                        std::chrono::duration_cast<std::chrono::seconds>(stall_limit).count(),
                        where(), polled ? "" : "; last error: " + polled.error().message));
      }
      continue;
    }
    const kafka::ConsumedRecord& rec = **polled;
    auto it = next.find(rec.partition);
    // Records past the end taken at the start (or of a finished partition) are not ours.
    if (rec.topic != topic || it == next.end() || rec.offset >= end[rec.partition]) continue;
    last_progress = std::chrono::steady_clock::now();
    if (auto s = visit(rec); !s) return s;
    it->second = rec.offset + 1;
    if (it->second >= end[rec.partition]) {
      next.erase(it);
      // Stop fetching what this scan will ignore anyway.
      (void)consumer.pause({{topic, rec.partition}});
    }
  }
  return {};
}

}  // namespace wi::ctl
