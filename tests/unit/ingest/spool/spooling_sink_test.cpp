// SpoolingSink with fake publishers: direct mode while Kafka confirms, spooling mode on a
// failure or while Kafka is known to be down, the drainer republishing in order, and the
// return to direct mode only once everything spooled is confirmed.

#include "ingest/spool/spooling_sink.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "ingest/spool/record_codec.h"
#include "tests/fakes/fake_clock.h"
#include "tests/unit/ingest/spool/spool_test_support.h"

namespace wi::spool {
namespace {

using namespace std::chrono_literals;
using testing::make_record;
using testing::ScratchDir;

// A Publisher whose verdicts the test sets: succeed or fail at once (as librdkafka does from
// its own thread when a broker answers or a delivery timeout expires). Thread-safe.
class ScriptedPublisher final : public kafka::Publisher {
 public:
  void publish(kafka::OutgoingRecord record, DeliveryCallback cb) override {
    publish_or_return(std::move(record),
                      [cb = std::move(cb)](Result<kafka::Delivery> r, kafka::OutgoingRecord) { cb(std::move(r)); });
  }
  void publish_or_return(kafka::OutgoingRecord record, ReturningCallback cb) override {
    bool fail;
    bool refused;
    {
      std::lock_guard lock(mu_);
      ++attempts_;
      fail = fail_all_ || fail_next_ > 0;
      if (fail_next_ > 0) --fail_next_;
      refused = refused_for_good_.count(*testing::event_id(record)) > 0;
      if (!fail && !refused) published_.push_back(*testing::event_id(record));
    }
    if (refused) {
      // What librdkafka reports for MSG_SIZE_TOO_LARGE or a topic authorisation failure.
      cb(Error{ErrorCode::kTooLarge, "Broker: Message size too large", false}, std::move(record));
    } else if (fail) {
      cb(Error::timeout("Local: Message timed out"), std::move(record));
    } else {
      cb(kafka::Delivery{0, 0}, std::move(record));
    }
  }
  Status flush(std::chrono::milliseconds) override { return {}; }
  std::size_t in_flight() const override { return 0; }

  void fail_all(bool on) {
    std::lock_guard lock(mu_);
    fail_all_ = on;
  }
  void fail_next(int n) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
  }
  // Every attempt to publish this event id is refused for good.
  void refuse_for_good(const std::string& event_id) {
    std::lock_guard lock(mu_);
    refused_for_good_.insert(event_id);
  }
  std::vector<std::string> published() const {
    std::lock_guard lock(mu_);
    return published_;
  }
  int attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }

 private:
  mutable std::mutex mu_;
  bool fail_all_ = false;
  int fail_next_ = 0;
  std::set<std::string> refused_for_good_;
  int attempts_ = 0;
  std::vector<std::string> published_;
};

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

std::vector<std::string> ids(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("ev-" + std::to_string(i));
  return out;
}

class SpoolingSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { open(1 << 30); }
  void open(std::uint64_t max_bytes) {
    sink_.reset();
    spool_.reset();
    auto s = Spool::open({dir_.sub("spool"), max_bytes, 64 << 20}, clock_);
    ASSERT_TRUE(s.ok());
    spool_ = std::move(*s);
  }
  void start_sink() {
    sink_ = std::make_unique<SpoolingSink>(direct_, drain_, *spool_, [this] { return kafka_up_.load(); },
                                           registry_);
    sink_->start();
  }
  Status accept_and_wait(kafka::OutgoingRecord r) {
    auto p = std::make_shared<std::promise<Status>>();
    auto f = p->get_future();
    sink_->accept(std::move(r), [p](Status s) { p->set_value(std::move(s)); });
    if (f.wait_for(30s) != std::future_status::ready) return Error::timeout("no verdict");
    return f.get();
  }
  std::string metrics() const { return registry_.render(); }

  ScratchDir dir_;
  fakes::FakeClock clock_;
  metrics::Registry registry_;
  ScriptedPublisher direct_;
  ScriptedPublisher drain_;
  std::atomic<bool> kafka_up_{true};
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<SpoolingSink> sink_;  // declared last: stopped first
};

TEST_F(SpoolingSinkTest, KafkaConfirmingMeansDirectAndNothingSpooled) {
  start_sink();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(accept_and_wait(make_record(i)).ok());
  EXPECT_EQ(direct_.published(), ids(0, 5));
  EXPECT_TRUE(drain_.published().empty());
  EXPECT_FALSE(sink_->spooling());
  EXPECT_TRUE(spool_->empty());
}

TEST_F(SpoolingSinkTest, AnUnconfirmedRecordIsSpooledAcknowledgedAndDrainedInOrder) {
  start_sink();
  direct_.fail_all(true);
  ASSERT_TRUE(accept_and_wait(make_record(0)).ok()) << "acknowledged once fsync'd";
  EXPECT_TRUE(sink_->spooling() || !drain_.published().empty());
  // Spooling: later records skip the direct path and queue behind it.
  for (int i = 1; i < 6; ++i) ASSERT_TRUE(accept_and_wait(make_record(i)).ok());
  ASSERT_TRUE(sink_->wait_drained(10s));
  EXPECT_EQ(drain_.published(), ids(0, 6));
  EXPECT_FALSE(sink_->spooling());
  EXPECT_NE(metrics().find("ingest_spool_drained_total 6"), std::string::npos) << metrics();
  EXPECT_NE(metrics().find("ingest_spool_records 0"), std::string::npos) << metrics();
  // Back in direct mode.
  direct_.fail_all(false);
  ASSERT_TRUE(accept_and_wait(make_record(6)).ok());
  EXPECT_EQ(direct_.published(), ids(6, 7));
}

TEST_F(SpoolingSinkTest, WhileKafkaIsDownRecordsGoStraightToTheSpoolAndWait) {
  kafka_up_ = false;
  start_sink();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(accept_and_wait(make_record(i)).ok());
  EXPECT_EQ(direct_.attempts(), 0) << "no record waits for a broker known to be down";
  EXPECT_TRUE(sink_->spooling());
  EXPECT_TRUE(drain_.published().empty()) << "nothing drains while Kafka is down";
  EXPECT_NE(metrics().find("ingest_spool_records 20"), std::string::npos) << metrics();
  kafka_up_ = true;
  ASSERT_TRUE(sink_->wait_drained(10s));
  EXPECT_EQ(drain_.published(), ids(0, 20));
  EXPECT_FALSE(sink_->spooling());
}

TEST_F(SpoolingSinkTest, RecordsSpooledBeforeARestartDrainFirst) {
  for (int i = 0; i < 4; ++i) {
    std::promise<Status> p;
    spool_->append(make_record(i), [&](Status s) { p.set_value(s); });
    ASSERT_TRUE(p.get_future().get().ok());
  }
  // A restart: the spool is reopened with its records.
  spool_.reset();
  auto s = Spool::open({dir_.sub("spool"), 1 << 30, 64 << 20}, clock_);
  ASSERT_TRUE(s.ok());
  spool_ = std::move(*s);
  ASSERT_EQ(spool_->recovery().records, 4u);
  kafka_up_ = false;
  start_sink();
  EXPECT_TRUE(sink_->spooling()) << "new records must queue behind the recovered ones";
  ASSERT_TRUE(accept_and_wait(make_record(4)).ok());
  EXPECT_EQ(direct_.attempts(), 0);
  kafka_up_ = true;
  ASSERT_TRUE(sink_->wait_drained(10s));
  EXPECT_EQ(drain_.published(), ids(0, 5));
}

TEST_F(SpoolingSinkTest, ARefusedDrainIsRetriedAndNothingIsLostOrReordered) {
  kafka_up_ = false;
  start_sink();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(accept_and_wait(make_record(i)).ok());
  drain_.fail_next(1);
  kafka_up_ = true;
  ASSERT_TRUE(sink_->wait_drained(15s));
  auto published = drain_.published();
  // The refused record comes again, and the ones after it may come twice; the last
  // occurrences are in order and nothing is missing.
  std::vector<std::string> last_run(published.end() - 5, published.end());
  EXPECT_EQ(last_run, ids(0, 5)) << ::testing::PrintToString(published);
}

TEST_F(SpoolingSinkTest, ModeSwitchesBackOnlyAfterEverySpooledRecordIsDrained) {
  // A record being written (taken from the queue, not yet indexed) must not let the drainer
  // declare the spool empty: it would switch to direct mode and strand that record.
  start_sink();
  direct_.fail_all(true);
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(accept_and_wait(make_record(i)).ok());
    ASSERT_TRUE(eventually([&] { return spool_->empty() && !sink_->spooling(); }, 5s))
        << "record " << i << " stranded in the spool: " << spool_->stats().records << " stored";
  }
  EXPECT_EQ(drain_.published(), ids(0, 40));
}

TEST_F(SpoolingSinkTest, AFullSpoolRefusesWithResourceExhausted) {
  open(1 << 20);  // the smallest bound the config allows
  kafka_up_ = false;
  start_sink();
  int accepted = 0;
  Status last;
  for (int i = 0; i < 40 && last.ok(); ++i) {
    last = accept_and_wait(make_record(i, 64 * 1024));
    if (last.ok()) ++accepted;
  }
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().code, ErrorCode::kResourceExhausted);
  EXPECT_GE(accepted, 14);
  EXPECT_LE(accepted, 16);
  EXPECT_TRUE(spool_->full());
  kafka_up_ = true;
  ASSERT_TRUE(sink_->wait_drained(10s));
  EXPECT_EQ(drain_.published(), ids(0, accepted)) << "exactly what was acknowledged";
  EXPECT_FALSE(spool_->full());
}

TEST_F(SpoolingSinkTest, ARecordKafkaRefusesForGoodIsQuarantinedAndTheRestDrainInOrder) {
  kafka_up_ = false;
  start_sink();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(accept_and_wait(make_record(i)).ok());
  drain_.refuse_for_good("ev-2");
  kafka_up_ = true;
  ASSERT_TRUE(sink_->wait_drained(10s)) << "one refused record must not wedge the drain";
  EXPECT_EQ(drain_.published(), (std::vector<std::string>{"ev-0", "ev-1", "ev-3", "ev-4", "ev-5"}));
  EXPECT_NE(metrics().find("ingest_spool_rejected_total 1"), std::string::npos) << metrics();
  EXPECT_NE(metrics().find("ingest_spool_drained_total 5"), std::string::npos) << metrics();
  std::vector<std::string> kept;
  for (const auto& e : std::filesystem::directory_iterator(dir_.sub("spool/rejected"))) {
    kept.push_back(e.path().string());
  }
  ASSERT_EQ(kept.size(), 1u);
  auto d = decode(testing::read_file(kept[0]), FrameKey());
  ASSERT_EQ(d.status, DecodeStatus::kOk);
  testing::expect_same_record(d.record, make_record(2));
}

// Straight from the edge (Kafka up): a record Kafka refuses for good is refused to the client
// too. Spooling it would answer 200 for a record the drain can only quarantine.
TEST_F(SpoolingSinkTest, ARecordKafkaRefusesForGoodOnTheDirectPathIsRefusedNotSpooled) {
  start_sink();
  direct_.refuse_for_good("ev-1");
  ASSERT_TRUE(accept_and_wait(make_record(0)).ok());
  const Status refused = accept_and_wait(make_record(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kTooLarge);
  ASSERT_TRUE(accept_and_wait(make_record(2)).ok());
  EXPECT_EQ(direct_.published(), (std::vector<std::string>{"ev-0", "ev-2"}));
  EXPECT_FALSE(sink_->spooling()) << "one refused record says nothing about Kafka's health";
  EXPECT_TRUE(spool_->empty());
  EXPECT_TRUE(drain_.published().empty());
  EXPECT_EQ(drain_.attempts(), 0);
}

TEST_F(SpoolingSinkTest, ASpooledRecordThatCannotBeReadBackIsCountedAndSkipped) {
  kafka_up_ = false;
  start_sink();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(accept_and_wait(make_record(i)).ok());
  auto files = testing::segment_files(dir_.sub("spool"));
  ASSERT_EQ(files.size(), 1u);
  std::string bytes = testing::read_file(files[0]);
  bytes[bytes.size() - 1] = static_cast<char>(bytes[bytes.size() - 1] ^ 0x20);  // the last record
  testing::write_file(files[0], bytes);
  kafka_up_ = true;
  ASSERT_TRUE(sink_->wait_drained(10s)) << "an unreadable record must not wedge the drain";
  EXPECT_EQ(drain_.published(), ids(0, 2));
  EXPECT_NE(metrics().find("ingest_spool_corrupt_total 1"), std::string::npos) << metrics();
}

}  // namespace
}  // namespace wi::spool
