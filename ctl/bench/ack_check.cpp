#include "ctl/bench/ack_check.h"

#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

namespace wi::ctl {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kMetadataTimeout = std::chrono::seconds(5);
// Record timestamps come from ingestd's clock (or the drainer's), not ours: start this much
// earlier than the load so that a skewed clock cannot hide acknowledged records.
constexpr std::int64_t kClockSkewMarginMs = 60'000;

// Calls `query` until it succeeds, fails for good, or `give_up` passes. A topic created a moment
// ago answers NOT_LEADER for a while; a stopped broker answers transport errors until it is back.
template <typename Query>
auto retry_until(Clock::time_point give_up, Query query) {
  while (true) {
    auto result = query();
    if (result || !result.error().retryable || Clock::now() >= give_up) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Result<std::vector<kafka::TopicPartitionOffset>> end_offsets(kafka::Consumer& consumer,
                                                             const std::string& topic,
                                                             Clock::time_point give_up) {
  return retry_until(give_up, [&] { return consumer.end_offsets(topic, kMetadataTimeout); });
}

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<AckCheck> AckCheck::start(const kafka::ClientOptions& client, const std::string& topic) {
  kafka::ConsumerOptions options;
  options.client = client;
  auto consumer = kafka::RdKafkaConsumer::create(options);
  if (!consumer) return consumer.error();
  auto ends = end_offsets(**consumer, topic, Clock::now() + std::chrono::seconds(5));
  if (!ends && (ends.error().code == ErrorCode::kUnavailable ||
                ends.error().code == ErrorCode::kTimeout)) {
    // The broker is down (a spool measurement): remember when the load began instead.
    return AckCheck(std::move(*consumer), topic, {}, wall_clock_ms() - kClockSkewMarginMs);
  }
  if (!ends) return ends.error();
  if (ends->empty()) return Error::not_found("topic " + topic + " has no partitions");
  return AckCheck(std::move(*consumer), topic, std::move(*ends), 0);
}

Result<AckCheckResult> AckCheck::verify(const std::vector<std::string>& acked,
                                        std::chrono::milliseconds timeout) {
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  AckCheckResult out;
  std::unordered_map<std::string, std::uint32_t> seen;  // acknowledged id → copies read
  seen.reserve(acked.size());
  for (const auto& id : acked) seen.emplace(id, 0);
  out.acknowledged = seen.size();
  if (seen.empty()) return out;

  // Where the topic ends now, after the load: with durable acks every acknowledged record is
  // below this, and so are the duplicates a retrying producer wrote. Read at least this far.
  // (Asked before assign(): once the consumer fetches, each such query waits behind a fetch.)
  if (start_.empty()) {
    auto from = retry_until(deadline, [&] {
      return consumer_->offsets_for_time(topic_, since_ms_, kMetadataTimeout);
    });
    if (!from) return from.error();
    start_ = std::move(*from);
  }
  auto ends = end_offsets(*consumer_, topic_, deadline);
  if (!ends) return ends.error();
  std::map<std::int32_t, std::int64_t> finish, position;  // position: next offset to read
  for (const auto& e : *ends) finish[e.partition] = e.offset;
  for (const auto& p : start_) position[p.partition] = p.offset;
  auto caught_up = [&] {
    for (const auto& [partition, end] : finish) {
      if (position[partition] < end) return false;
    }
    return true;
  };
  if (auto s = consumer_->assign(start_); !s) return s.error();

  // Records acknowledged but not yet below `finish` (spooled, or INGEST_ACK=enqueued) are
  // waited for until the timeout.
  // Once every id is found, reaching `finish` only counts duplicates: give it a short while
  // (an offset taken by something other than a record would never be reached).
  std::optional<Clock::time_point> all_found_at;
  while (true) {
    const auto now = Clock::now();
    if (!all_found_at && out.found == out.acknowledged) all_found_at = now;
    if (all_found_at && (caught_up() || now > *all_found_at + std::chrono::seconds(5))) break;
    if (now >= deadline) break;
    auto record = consumer_->poll(std::chrono::milliseconds(200));
    if (!record) {
      if (!record.error().retryable) return record.error();
      continue;
    }
    if (!*record) continue;
    const kafka::ConsumedRecord& r = **record;
    ++out.records_read;
    position[r.partition] = r.offset + 1;
    const std::string* id = kafka::find_header(r.headers, "event-id");
    if (id == nullptr) continue;
    auto it = seen.find(*id);
    if (it == seen.end()) continue;  // not ours, or not acknowledged
    if (++it->second == 1) {
      ++out.found;
    } else if (it->second == 2) {
      ++out.duplicates;
    }
  }
  consumer_->close();
  out.missing = out.acknowledged - out.found;
  out.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return out;
}

}  // namespace wi::ctl
