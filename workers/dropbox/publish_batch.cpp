#include "workers/dropbox/publish_batch.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

namespace wi::dropbox {

Status publish_batch(kafka::Publisher& publisher, std::vector<kafka::OutgoingRecord> records,
                     std::chrono::milliseconds timeout) {
  if (records.empty()) return {};
  // Shared with the callbacks, which may run after a timeout made us return.
  struct Pending {
    std::mutex mu;
    std::condition_variable done;
    std::size_t remaining = 0;
    std::optional<Error> first_error;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = records.size();
  for (auto& record : records) {
    publisher.publish(std::move(record), [pending](Result<kafka::Delivery> outcome) {
      std::lock_guard lock(pending->mu);
      if (!outcome && !pending->first_error) pending->first_error = outcome.error();
      if (--pending->remaining == 0) pending->done.notify_all();
    });
  }
  std::unique_lock lock(pending->mu);
  if (!pending->done.wait_for(lock, timeout, [&] { return pending->remaining == 0; })) {
    return Error::timeout("publish: " + std::to_string(pending->remaining) +
                          " record(s) not confirmed in time");
  }
  if (pending->first_error) return *pending->first_error;
  return {};
}

}  // namespace wi::dropbox
