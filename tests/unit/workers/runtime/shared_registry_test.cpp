// Two WorkerRuntimes in one process (a worker's stages) share one metrics registry: the lag
// of both consumers is reported, and the shared gauges add up both runtimes' values.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "tests/unit/workers/runtime/runtime_harness.h"
#include "workers/runtime/consumer_lag_gauge.h"

namespace wi::worker::testing {
namespace {

// One runtime on `topic` with its own FakeConsumer, registered in a shared registry.
struct Stage {
  Stage(const std::string& topic, fakes::FakeClock& clock, fakes::FakePublisher& publisher,
        metrics::Registry& registry, ConsumerLagGauge& lag)
      : handler(clock), owned(std::make_unique<fakes::FakeConsumer>(&clock)) {
    consumer = owned.get();
    consumer->create_topic(topic, 2);
    for (int i = 0; i < 3; ++i) consumer->append(topic, 0, "k" + std::to_string(i));
    RuntimeOptions options;
    options.worker = "test";
    options.group = "g." + topic;
    options.topics = {topic};
    RuntimeConsumers consumers;
    consumers.group =
        [this](kafka::RebalanceListener& listener) -> Result<RuntimeConsumers::ConsumerPtr> {
      owned->set_listener(&listener);
      return RuntimeConsumers::ConsumerPtr(std::move(owned));
    };
    consumers.restore = []() -> Result<RuntimeConsumers::ConsumerPtr> {
      return Error::internal("no state topic");
    };
    runtime = std::make_unique<WorkerRuntime>(options, handler, std::move(consumers), publisher,
                                              registry, clock, &lag);
    EXPECT_TRUE(runtime->start().ok());
    consumer->assign_partitions({{topic, 0}, {topic, 1}});
  }

  // Runs until the assignment was taken and a few empty polls passed, then stops.
  void run_a_little() {
    std::atomic<bool> stop{false};
    consumer->on_poll = [&] {
      if (consumer->polls() >= 3) stop = true;
    };
    consumer->set_fetch_size(1);  // one record per batch: the lag is seen mid-way
    runtime->run(stop);
  }

  ScriptedHandler handler;
  std::unique_ptr<fakes::FakeConsumer> owned;
  fakes::FakeConsumer* consumer;
  std::unique_ptr<WorkerRuntime> runtime;
};

TEST(WorkerRuntimeSharedRegistry, BothStagesReportLagAndTheirPartitionsAddUp) {
  fakes::FakeClock clock;
  fakes::FakePublisher publisher;
  metrics::Registry registry;
  ConsumerLagGauge lag(registry);
  Stage fan_out("notifications", clock, publisher, registry, lag);
  Stage poll("accounts", clock, publisher, registry, lag);

  fan_out.run_a_little();
  poll.run_a_little();

  auto text = registry.render();
  EXPECT_NE(text.find(R"(worker_consumer_lag{topic="notifications",partition="0"})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(worker_consumer_lag{topic="accounts",partition="0"})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(worker_assigned_partitions{worker="test"} 4)"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace wi::worker::testing
