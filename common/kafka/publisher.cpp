#include "common/kafka/publisher.h"

#include <future>
#include <memory>

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

}  // namespace wi::kafka
