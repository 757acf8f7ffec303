// test-worker: a worker whose handler the tests steer by record key, to prove the runtime's
// guarantees (at-least-once, retries, dead letters, state restore, rebalancing). Not shipped.
//
//   key "retry-N"  fails retryably on attempts 1..N, then succeeds
//   key "fail"     fails permanently (→ .dlq)
//   key "slow-MS"  takes MS milliseconds (stops early at shutdown)
//   key "count-*"  increments a counter for the key in the state store
//   anything else  succeeds
//
// Every handled record appends "topic partition offset key attempt [count]" to
// TEST_WORKER_OUTPUT, before the runtime may commit it (the side effect, observable).
// TEST_WORKER_SECRET, when set, is read as this kind's own secret while it is built and put in
// a startup line on purpose ("secret probe: ..."), so the tests can see the runtime scrub the
// secrets a kind reads itself. A real worker never logs a secret.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "common/log.h"
#include "workers/runtime/state_store.h"
#include "workers/runtime/worker_app.h"

namespace {

using namespace wi;
using namespace wi::worker;

class TestHandler final : public RecordHandler {
 public:
  explicit TestHandler(std::string output) : output_(std::move(output)) {}

  HandleResult handle(const kafka::ConsumedRecord& record, HandlerContext& ctx) override {
    const std::string key = record.key.value_or("");
    std::string extra;
    if (key.rfind("retry-", 0) == 0 && ctx.attempt <= std::stoi(key.substr(6))) {
      return HandleResult::retry(fmt::format("asked to fail attempt {}", ctx.attempt));
    }
    if (key == "fail") return HandleResult::dead_letter("asked to fail permanently");
    if (key.rfind("slow-", 0) == 0) {
      auto until = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(std::stoi(key.substr(5)));
      while (std::chrono::steady_clock::now() < until) {
        if (ctx.stopping()) return HandleResult::retry("stopping");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (key.rfind("count-", 0) == 0) {
      if (!ctx.state) return HandleResult::dead_letter("no state store");
      int count = std::stoi(ctx.state->get(key).value_or("0")) + 1;
      if (auto s = ctx.state->put(key, std::to_string(count)); !s) return HandleResult::from(s.error());
      extra = " " + std::to_string(count);
    }
    append(fmt::format("{} {} {} {} {}{}\n", record.topic, record.partition, record.offset, key,
                       ctx.attempt, extra));
    return HandleResult::processed();
  }

 private:
  void append(const std::string& line) {
    int fd = ::open(output_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
  }
  std::string output_;
};

}  // namespace

int main(int argc, char** argv) {
  WorkerDescription description;
  description.defaults = {"test", "test-worker", "127.0.0.1:0"};
  description.summary = "test-worker: a steerable worker for the runtime's tests";
  description.config_section = "test_worker";
  description.build = [](config::Loader& loader, const WorkerConfig&, kafka::Publisher&,
                         metrics::Registry&) {
    WorkerParts parts;
    auto topic = loader.string({"test_worker", "topic"}, "TEST_WORKER_TOPIC", "");
    if (topic.empty()) loader.problem("TEST_WORKER_TOPIC: required");
    parts.topics = {topic};
    parts.state_topic = loader.optional_string({"test_worker", "state_topic"}, "TEST_WORKER_STATE_TOPIC");
    parts.handler = std::make_unique<TestHandler>(
        loader.string({"test_worker", "output"}, "TEST_WORKER_OUTPUT", "/dev/null"));
    if (auto secret = loader.secret("TEST_WORKER_SECRET")) {
      log::get("test-worker")->info("secret probe: {}", secret->reveal());
    }
    return parts;
  };
  return run_worker(argc, argv, description);
}
