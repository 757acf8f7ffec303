#pragma once
// A WorkerRuntime wired to fakes, run on the test's own thread: the FakeConsumer moves the
// FakeClock on by the poll timeout whenever it has nothing to deliver, so backoffs pass
// without sleeping, and run_until() stops the loop from inside poll() once a condition holds.

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_consumer.h"
#include "tests/fakes/fake_publisher.h"
#include "workers/runtime/worker_runtime.h"

namespace wi::kafka {
// Readable gtest failure messages: in/0@2 rather than the bytes of the struct.
inline void PrintTo(const TopicPartitionOffset& o, std::ostream* os) {
  *os << o.topic << "/" << o.partition << "@" << o.offset;
}
}  // namespace wi::kafka

namespace wi::worker::testing {

// One call of the handler, as the handler saw it.
struct Seen {
  std::string key;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  int attempt = 0;
  SteadyTime at{};
};

// Answers from a script per key (one outcome per attempt, then processed); `before` runs
// first on every call (advance the clock, throw, look at the consumer, ...).
class ScriptedHandler final : public RecordHandler {
 public:
  explicit ScriptedHandler(const Clock& clock) : clock_(clock) {}

  HandleResult handle(const kafka::ConsumedRecord& record, HandlerContext& context) override {
    seen.push_back({record.key.value_or(""), record.partition, record.offset, context.attempt,
                    clock_.steady_now()});
    if (before) before(record, context);
    auto& script = scripts[record.key.value_or("")];
    if (script.empty()) return HandleResult::processed();
    auto next = script.front();
    script.pop_front();
    return next;
  }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& s : seen) out.push_back(s.key + "#" + std::to_string(s.attempt));
    return out;
  }

  std::map<std::string, std::deque<HandleResult>> scripts;
  std::function<void(const kafka::ConsumedRecord&, HandlerContext&)> before;
  std::vector<Seen> seen;

 private:
  const Clock& clock_;
};

inline const std::string kTopic = "in";
inline const kafka::TopicPartition kP0{kTopic, 0};
inline const kafka::TopicPartition kP1{kTopic, 1};

class RuntimeHarness {
 public:
  RuntimeHarness()
      : handler(clock), owned_consumer_(std::make_unique<fakes::FakeConsumer>(&clock)) {
    consumer = owned_consumer_.get();
    options.worker = "test";
    options.group = "g";
    options.topics = {kTopic};
    options.max_attempts = 3;
    options.backoff_initial = std::chrono::milliseconds(1000);
    options.backoff_max = std::chrono::milliseconds(8000);
    options.jitter_seed = 7;
  }

  // Builds and starts the runtime with `options` as they are now.
  void start() {
    RuntimeConsumers consumers;
    consumers.group =
        [this](kafka::RebalanceListener& listener) -> Result<RuntimeConsumers::ConsumerPtr> {
      if (!owned_consumer_) return Error::internal("the group consumer was created twice");
      owned_consumer_->set_listener(&listener);
      return RuntimeConsumers::ConsumerPtr(std::move(owned_consumer_));
    };
    consumers.restore = [this]() -> Result<RuntimeConsumers::ConsumerPtr> {
      if (restore_error) return *restore_error;
      auto reader = std::make_unique<fakes::FakeConsumer>(&clock);
      for (const auto& r : changelog) reader->append(r);
      reader->on_destroy = [this](const fakes::FakeConsumer& c) {
        restore_calls.push_back(c.calls());
      };
      return RuntimeConsumers::ConsumerPtr(std::move(reader));
    };
    runtime = std::make_unique<WorkerRuntime>(options, handler, std::move(consumers), publisher,
                                              registry, clock);
    auto started = runtime->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  // Runs the loop until `done` holds (checked at every poll), then lets it commit and close.
  // Fails the test, rather than hanging, when that takes more than `max_polls` polls.
  void run_until(const std::function<bool()>& done, int max_polls = 20000) {
    consumer->on_poll = [&] {
      if (done()) stop = true;
      if (consumer->polls() > max_polls && !stop) {
        ADD_FAILURE() << "the condition did not hold within " << max_polls << " polls";
        stop = true;
      }
    };
    runtime->run(stop);
  }

  double records(const char* outcome) {
    return registry.counter("worker_records_total", "", {"worker", "outcome"})
        .with({"test", outcome})
        .value();
  }

  fakes::FakeClock clock;
  fakes::FakePublisher publisher;
  metrics::Registry registry;
  ScriptedHandler handler;
  RuntimeOptions options;
  fakes::FakeConsumer* consumer;                 // owned by the runtime once started
  std::vector<kafka::ConsumedRecord> changelog;  // what every restore reader finds
  std::optional<Error> restore_error;
  std::vector<std::vector<std::string>> restore_calls;  // each restore reader's calls
  std::unique_ptr<WorkerRuntime> runtime;
  std::atomic<bool> stop{false};

 private:
  std::unique_ptr<fakes::FakeConsumer> owned_consumer_;
};

}  // namespace wi::worker::testing
