// Spool: group commit (records queued while a write is under way share the next write and
// its fdatasync), the size bound, in-order draining with confirm(), segment deletion, the
// roll when drained, and what a reopen replays.

#include "ingest/spool/spool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ingest/spool/record_codec.h"
#include "tests/fakes/fake_clock.h"
#include "tests/unit/ingest/spool/spool_test_support.h"

namespace wi::spool {
namespace {

using namespace std::chrono_literals;
using testing::expect_same_record;
using testing::make_record;
using testing::ScratchDir;
using testing::segment_files;

std::size_t frame_size(const kafka::OutgoingRecord& r) {
  std::string out;
  encode(r, FrameKey(), out);  // any key: same size
  return out.size();
}

std::unique_ptr<Spool> open_spool(const SpoolOptions& options, const Clock& clock,
                                  RecoveryReport* report_out = nullptr) {
  auto s = Spool::open(options, clock);
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error().message);
  if (s && report_out) *report_out = (*s)->recovery();
  return s ? std::move(*s) : nullptr;
}

// Appends and waits for the verdict (the writer thread answers; a future, not a sleep).
Status append_and_wait(Spool& spool, kafka::OutgoingRecord record) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  spool.append(std::move(record), [promise](Status s) { promise->set_value(std::move(s)); });
  if (future.wait_for(30s) != std::future_status::ready) return Error::timeout("no verdict");
  return future.get();
}

// Everything not yet handed out, in order.
std::vector<std::pair<std::uint64_t, kafka::OutgoingRecord>> take_all(Spool& spool) {
  std::vector<std::pair<std::uint64_t, kafka::OutgoingRecord>> out;
  while (auto n = spool.next()) out.push_back(std::move(*n));
  return out;
}

std::vector<std::string> event_ids(const std::vector<std::pair<std::uint64_t, kafka::OutgoingRecord>>& rs) {
  std::vector<std::string> out;
  for (const auto& [seq, r] : rs) out.push_back(*testing::event_id(r));
  return out;
}

std::vector<std::string> ids(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("ev-" + std::to_string(i));
  return out;
}

class SpoolTest : public ::testing::Test {
 protected:
  SpoolOptions options(std::uint64_t max_bytes = 1 << 30, std::uint64_t segment_bytes = 64 << 20) {
    return SpoolOptions{dir_.sub("spool"), max_bytes, segment_bytes};
  }
  ScratchDir dir_;
  fakes::FakeClock clock_;
};

TEST_F(SpoolTest, RecordsQueuedDuringAWriteShareTheNextWrite) {
  auto spool = open_spool(options(), clock_);
  ASSERT_TRUE(spool);
  // Hold the writer inside the first record's acknowledgement (callbacks run on it) ...
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_done;
  spool->append(make_record(0), [&, released](Status s) {
    EXPECT_TRUE(s.ok());
    first_done.set_value();
    released.wait();
  });
  first_done.get_future().wait();
  // ... while four threads queue 25 records each.
  constexpr int kThreads = 4, kEach = 25;
  std::mutex mu;
  std::vector<std::uint64_t> stored_when_acknowledged;
  std::set<std::thread::id> acknowledging_threads;
  std::atomic<int> done{0};
  std::promise<void> all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        spool->append(make_record(1 + t * kEach + i), [&](Status s) {
          EXPECT_TRUE(s.ok());
          {
            std::lock_guard lock(mu);
            stored_when_acknowledged.push_back(spool->stats().records);
            acknowledging_threads.insert(std::this_thread::get_id());
          }
          if (++done == kThreads * kEach) all_done.set_value();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  release.set_value();
  ASSERT_EQ(all_done.get_future().wait_for(30s), std::future_status::ready);
  // When the first of them was acknowledged, all of them were already stored: one write and
  // one fdatasync made the whole group durable.
  ASSERT_EQ(stored_when_acknowledged.size(), static_cast<std::size_t>(kThreads * kEach));
  for (auto n : stored_when_acknowledged) EXPECT_EQ(n, 1u + kThreads * kEach);
  EXPECT_EQ(acknowledging_threads.size(), 1u);
  EXPECT_EQ(take_all(*spool).size(), 1u + kThreads * kEach);
}

TEST_F(SpoolTest, ConcurrentAppendsAllCompleteAndDrainInEachThreadsOrder) {
  auto spool = open_spool(options(1 << 30, 16 * 1024), clock_);  // small segments: many rolls
  ASSERT_TRUE(spool);
  constexpr int kThreads = 8, kEach = 150;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Half wait for each verdict (a request), half fire and forget (a burst).
        auto record = make_record(t * 1000 + i, 200);
        if (i % 2 == 0) {
          (append_and_wait(*spool, std::move(record)).ok() ? ok : failed)++;
        } else {
          spool->append(std::move(record), [&](Status s) { (s.ok() ? ok : failed)++; });
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  // The writer answers in order: once the last record of every thread is stored, all are.
  ASSERT_TRUE(append_and_wait(*spool, make_record(99999)).ok());
  EXPECT_EQ(ok.load(), kThreads * kEach);
  EXPECT_EQ(failed.load(), 0);
  auto all = take_all(*spool);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach + 1));
  std::map<int, int> next_of_thread;
  std::uint64_t last_seq = 0;
  for (const auto& [seq, r] : all) {
    EXPECT_GT(seq, last_seq);
    last_seq = seq;
    int id = std::stoi(testing::event_id(r)->substr(3));
    if (id == 99999) continue;
    EXPECT_EQ(id % 1000, next_of_thread[id / 1000]++) << "thread " << id / 1000 << " out of order";
    expect_same_record(r, make_record(id, 200));
  }
  EXPECT_GT(segment_files(options().dir).size(), 2u);
}

TEST_F(SpoolTest, NextHandsOutInOrderAndConfirmDropsOnlyAConfirmedPrefix) {
  auto spool = open_spool(options(), clock_);
  ASSERT_TRUE(spool);
  EXPECT_TRUE(spool->empty());
  EXPECT_FALSE(spool->next());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(append_and_wait(*spool, make_record(i)).ok());
  EXPECT_FALSE(spool->empty());
  EXPECT_FALSE(spool->all_handed_out());
  auto first = take_all(*spool);
  ASSERT_EQ(event_ids(first), ids(0, 10));
  for (int i = 0; i < 10; ++i) expect_same_record(first[i].second, make_record(i));
  EXPECT_TRUE(spool->all_handed_out());
  EXPECT_FALSE(spool->next()) << "each record is handed out once";
  EXPECT_EQ(spool->stats().records, 10u);

  spool->confirm(first[2].first);  // out of order: nothing leaves yet
  EXPECT_EQ(spool->stats().records, 10u);
  spool->confirm(first[0].first);
  EXPECT_EQ(spool->stats().records, 9u);
  spool->confirm(first[1].first);  // 0, 1, 2 are now a confirmed prefix
  EXPECT_EQ(spool->stats().records, 7u);
  spool->confirm(first[1].first);  // confirming twice or an unknown seq is harmless
  spool->confirm(123456);
  EXPECT_EQ(spool->stats().records, 7u);

  // A failed drain hands out everything unconfirmed again, from the oldest.
  spool->confirm(first[5].first);
  spool->rewind();
  EXPECT_FALSE(spool->all_handed_out());
  auto again = take_all(*spool);
  EXPECT_EQ(event_ids(again), ids(3, 10));
  EXPECT_EQ(again.front().first, first[3].first) << "same sequence numbers";
  for (const auto& [seq, r] : again) spool->confirm(seq);
  EXPECT_EQ(spool->stats().records, 0u);
  EXPECT_TRUE(spool->empty());
}

TEST_F(SpoolTest, EmptyOnlyOnceEveryAcceptedRecordIsConfirmed) {
  // The drainer leaves spooling mode when the spool is empty: a record between the queue and
  // the file (being written and fsync'd) must not look like "nothing stored".
  auto spool = open_spool(options(), clock_);
  ASSERT_TRUE(spool);
  for (int i = 0; i < 30; ++i) {
    std::atomic<bool> done{false};
    spool->append(make_record(i), [&](Status s) {
      EXPECT_TRUE(s.ok());
      done = true;
    });
    int seen_empty = 0;
    while (!done) seen_empty += spool->empty() ? 1 : 0;
    ASSERT_EQ(seen_empty, 0) << "record " << i << " was invisible while being written";
    ASSERT_FALSE(spool->empty());
    auto n = spool->next();
    ASSERT_TRUE(n);
    EXPECT_FALSE(spool->empty()) << "handed out but not confirmed";
    spool->confirm(n->first);
    EXPECT_TRUE(spool->empty());
  }
}

TEST_F(SpoolTest, FullRefusesWithResourceExhaustedAndStoresNothingMore) {
  const std::size_t frame = frame_size(make_record(0, 1000));
  const std::uint64_t max = 10 * frame + frame / 2;
  auto spool = open_spool(options(max), clock_);
  ASSERT_TRUE(spool);
  EXPECT_FALSE(spool->full());
  int accepted = 0;
  std::vector<int> refused;
  for (int i = 0; i < 14; ++i) {
    auto s = append_and_wait(*spool, make_record(i, 1000));
    if (s.ok()) {
      ++accepted;
      continue;
    }
    EXPECT_EQ(s.error().code, ErrorCode::kResourceExhausted) << s.error().message;
    EXPECT_TRUE(s.error().retryable);
    refused.push_back(i);
  }
  EXPECT_EQ(accepted, 10);
  EXPECT_EQ(refused, (std::vector<int>{10, 11, 12, 13}));
  EXPECT_TRUE(spool->full()) << "readiness must say so once records are refused";
  EXPECT_LE(spool->stats().bytes, max);
  EXPECT_LE(testing::total_bytes(segment_files(options().dir)), max);
  // A small record that still fits is taken; the spool stays "full" for readiness until
  // room is freed (typical records would still be refused).
  EXPECT_TRUE(append_and_wait(*spool, make_record(30, 10)).ok());
  EXPECT_TRUE(spool->full());
  auto stored = take_all(*spool);
  auto expected = ids(0, 10);
  expected.push_back("ev-30");
  EXPECT_EQ(event_ids(stored), expected) << "nothing refused is stored";
  // Drained and confirmed: the room comes back.
  for (const auto& [seq, r] : stored) spool->confirm(seq);
  EXPECT_EQ(spool->stats().bytes, 0u);
  EXPECT_FALSE(spool->full());
  EXPECT_TRUE(append_and_wait(*spool, make_record(20, 1000)).ok());
  EXPECT_EQ(event_ids(take_all(*spool)), ids(20, 21));
}

TEST_F(SpoolTest, ASegmentIsDeletedOnceEveryRecordInItIsConfirmed) {
  const std::size_t frame = frame_size(make_record(0));
  auto spool = open_spool(options(1 << 30, 2 * frame), clock_);  // two records per segment
  ASSERT_TRUE(spool);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(append_and_wait(*spool, make_record(i)).ok());
  const std::string dir = options().dir;
  auto files = segment_files(dir);
  ASSERT_EQ(files.size(), 3u);
  auto all = take_all(*spool);
  ASSERT_EQ(all.size(), 6u);
  spool->confirm(all[0].first);
  EXPECT_EQ(segment_files(dir).size(), 3u) << "record 1 of the first segment is not confirmed";
  spool->confirm(all[3].first);
  EXPECT_EQ(segment_files(dir).size(), 3u);
  spool->confirm(all[1].first);
  auto frames = [](int from, int to) {
    std::uint64_t n = 0;
    for (int i = from; i < to; ++i) n += frame_size(make_record(i));
    return n;
  };
  EXPECT_EQ(segment_files(dir), std::vector<std::string>(files.begin() + 1, files.end()));
  EXPECT_EQ(spool->stats().bytes, frames(2, 6));
  spool->confirm(all[2].first);  // 2 and 3: the second segment
  EXPECT_EQ(segment_files(dir), std::vector<std::string>(files.begin() + 2, files.end()));
  EXPECT_EQ(spool->stats().bytes, frames(4, 6));
  EXPECT_EQ(spool->stats().records, 2u);
}

TEST_F(SpoolTest, ADrainedSpoolKeepsNoDataSoARestartReplaysNothing) {
  {
    auto spool = open_spool(options(), clock_);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_and_wait(*spool, make_record(i)).ok());
    for (auto& [seq, r] : take_all(*spool)) spool->confirm(seq);
    EXPECT_TRUE(spool->empty());
    EXPECT_EQ(spool->stats().bytes, 0u);
    auto files = segment_files(options().dir);
    EXPECT_EQ(files.size(), 1u);
    EXPECT_EQ(testing::total_bytes(files), 0u);
    // Still usable after the roll.
    ASSERT_TRUE(append_and_wait(*spool, make_record(3)).ok());
    for (auto& [seq, r] : take_all(*spool)) spool->confirm(seq);
  }
  RecoveryReport report;
  auto reopened = open_spool(options(), clock_, &report);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(report.records, 0u);
  EXPECT_TRUE(reopened->empty());
  EXPECT_FALSE(reopened->next());
}

TEST_F(SpoolTest, RestartsOfAnEmptySpoolLeaveNoFilesBehind) {
  for (int round = 0; round < 4; ++round) {
    auto spool = open_spool(options(), clock_);
    ASSERT_TRUE(spool);
    EXPECT_TRUE(spool->empty());
  }
  EXPECT_EQ(segment_files(options().dir).size(), 1u) << "one empty active segment, no pile-up";
}

TEST_F(SpoolTest, ReopenReplaysExactlyTheUnconfirmedRecords) {
  // One record per segment, so confirmation is exact to the record.
  {
    auto spool = open_spool(options(1 << 30, 1), clock_);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(append_and_wait(*spool, make_record(i)).ok());
    auto all = take_all(*spool);
    for (int i = 0; i < 4; ++i) spool->confirm(all[i].first);
  }
  RecoveryReport report;
  auto spool = open_spool(options(1 << 30, 1), clock_, &report);
  ASSERT_TRUE(spool);
  EXPECT_EQ(report.records, 6u);
  EXPECT_EQ(report.corrupt_regions, 0u);
  EXPECT_FALSE(spool->empty());
  auto replay = take_all(*spool);
  EXPECT_EQ(event_ids(replay), ids(4, 10));
  for (const auto& [seq, r] : replay) {
    expect_same_record(r, make_record(std::stoi(testing::event_id(r)->substr(3))));
  }
  // New records queue behind the recovered ones; confirming everything empties the spool.
  ASSERT_TRUE(append_and_wait(*spool, make_record(10)).ok());
  auto tail = take_all(*spool);
  EXPECT_EQ(event_ids(tail), ids(10, 11));
  for (const auto& [seq, r] : replay) spool->confirm(seq);
  for (const auto& [seq, r] : tail) spool->confirm(seq);
  EXPECT_TRUE(spool->empty());
  EXPECT_EQ(spool->stats().bytes, 0u);
  EXPECT_EQ(testing::total_bytes(segment_files(options().dir)), 0u);
}

TEST_F(SpoolTest, ReopenWithSharedSegmentsReplaysEveryUnconfirmedRecordInOrder) {
  // Confirmed records that share a segment with unconfirmed ones come back too (the
  // documented duplicates), never anything out of order or missing.
  {
    auto spool = open_spool(options(), clock_);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(append_and_wait(*spool, make_record(i)).ok());
    auto all = take_all(*spool);
    for (int i = 0; i < 4; ++i) spool->confirm(all[i].first);
  }
  auto spool = open_spool(options(), clock_);
  ASSERT_TRUE(spool);
  auto replay = event_ids(take_all(*spool));
  ASSERT_GE(replay.size(), 6u);
  auto expected_tail = ids(4, 10);
  EXPECT_TRUE(std::equal(expected_tail.rbegin(), expected_tail.rend(), replay.rbegin()));
  auto all_ids = ids(0, 10);
  EXPECT_TRUE(std::equal(replay.rbegin(), replay.rend(), all_ids.rbegin())) << "a suffix, in order";
}

TEST_F(SpoolTest, StatsCountRecordsBytesAndTheOldestAge) {
  auto spool = open_spool(options(), clock_);
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stats().records, 0u);
  EXPECT_EQ(spool->stats().bytes, 0u);
  EXPECT_EQ(spool->stats().oldest_age_seconds, 0.0);
  ASSERT_TRUE(append_and_wait(*spool, make_record(0)).ok());
  clock_.advance(30s);
  ASSERT_TRUE(append_and_wait(*spool, make_record(1)).ok());
  clock_.advance(12s);
  auto s = spool->stats();
  EXPECT_EQ(s.records, 2u);
  EXPECT_EQ(s.bytes, frame_size(make_record(0)) + frame_size(make_record(1)));
  EXPECT_DOUBLE_EQ(s.oldest_age_seconds, 42.0);
  auto first = spool->next();
  ASSERT_TRUE(first);
  spool->confirm(first->first);
  EXPECT_DOUBLE_EQ(spool->stats().oldest_age_seconds, 12.0);
}

TEST_F(SpoolTest, ClosingAnswersEveryQueuedRecordExactlyOnce) {
  auto spool = open_spool(options(), clock_);
  ASSERT_TRUE(spool);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> blocked;
  spool->append(make_record(0), [&, released](Status) {
    blocked.set_value();
    released.wait();
  });
  blocked.get_future().wait();
  std::atomic<int> answers{0};
  for (int i = 1; i <= 20; ++i) spool->append(make_record(i), [&](Status) { ++answers; });
  std::thread closer([&] { spool.reset(); });
  release.set_value();
  closer.join();
  EXPECT_EQ(answers.load(), 20);
}

}  // namespace
}  // namespace wi::spool
