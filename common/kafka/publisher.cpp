#include "common/kafka/publisher.h"

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace wi::kafka {

Result<Delivery> publish_and_wait(Publisher& publisher, OutgoingRecord record,
                                  std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<Delivery>>>();
  auto future = promise->get_future();
  publisher.publish(std::move(record),
                    [promise](Result<Delivery> outcome) { promise->set_value(std::move(outcome)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Error::timeout("no delivery report within the timeout");
  }
  return future.get();
}

Status publish_all_and_wait(Publisher& publisher, std::vector<OutgoingRecord> records,
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
    publisher.publish(std::move(record), [pending](Result<Delivery> outcome) {
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

}  // namespace wi::kafka
