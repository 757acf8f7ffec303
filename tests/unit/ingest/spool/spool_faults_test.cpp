// Spool under faults: a stored record that can no longer be read back is skipped (and
// reported), never handed out again forever; a record Kafka refuses for good is quarantined
// whole; a full disk (ENOSPC) makes the spool full() until free space is back, and it
// recovers by itself.

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "ingest/spool/record_codec.h"
#include "ingest/spool/spool.h"
#include "tests/fakes/fake_clock.h"
#include "tests/unit/ingest/spool/spool_test_support.h"

namespace wi::spool {
namespace {

using namespace std::chrono_literals;
using testing::expect_same_record;
using testing::make_record;
using testing::read_file;
using testing::ScratchDir;
using testing::segment_files;
using testing::write_file;

Status append_and_wait(Spool& spool, kafka::OutgoingRecord record) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  spool.append(std::move(record), [promise](Status s) { promise->set_value(std::move(s)); });
  if (future.wait_for(30s) != std::future_status::ready) return Error::timeout("no verdict");
  return future.get();
}

std::unique_ptr<Spool> open_spool(const SpoolOptions& options, const Clock& clock) {
  auto s = Spool::open(options, clock);
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error().message);
  return s ? std::move(*s) : nullptr;
}

// A disk that can be made full: writes fail with ENOSPC while `full` is set, and free_bytes()
// reports `free`.
struct FillableDisk {
  std::atomic<bool> full{false};
  std::atomic<std::uint64_t> free{1ULL << 40};
  DiskOps ops() {
    DiskOps ops = DiskOps::system();
    ops.write = [this, real = ops.write](int fd, const void* data, std::size_t n) -> ssize_t {
      if (full.load()) {
        errno = ENOSPC;
        return -1;
      }
      return real(fd, data, n);
    };
    ops.free_bytes = [this](const std::string&) -> std::optional<std::uint64_t> { return free.load(); };
    return ops;
  }
};

class SpoolFaultsTest : public ::testing::Test {
 protected:
  SpoolOptions options() {
    SpoolOptions o{dir_.sub("spool"), 1 << 30, 64 << 20};
    o.disk = disk_.ops();
    return o;
  }
  ScratchDir dir_;
  fakes::FakeClock clock_;
  FillableDisk disk_;
};

TEST_F(SpoolFaultsTest, ARecordThatCannotBeReadBackIsSkippedAndReportedNotRetriedForever) {
  auto spool = open_spool(options(), clock_);
  ASSERT_TRUE(spool);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_and_wait(*spool, make_record(i)).ok());
  // Damage record 1 on disk after it was acknowledged (a flipped bit on the medium).
  auto files = segment_files(dir_.sub("spool"));
  ASSERT_EQ(files.size(), 1u);
  std::string bytes = read_file(files[0]);
  std::string frame0;
  encode(make_record(0), FrameKey(), frame0);
  const std::size_t in_record_1 = frame0.size() + 40;
  bytes[in_record_1] = static_cast<char>(bytes[in_record_1] ^ 0x01);
  write_file(files[0], bytes);

  std::vector<Unreadable> unreadable;
  auto report = [&](const Unreadable& u) { unreadable.push_back(u); };
  std::vector<std::string> handed;
  std::vector<std::uint64_t> seqs;
  while (auto n = spool->next(report)) {
    handed.push_back(*testing::event_id(n->second));
    seqs.push_back(n->first);
  }
  EXPECT_EQ(handed, (std::vector<std::string>{"ev-0", "ev-2"}));
  ASSERT_EQ(unreadable.size(), 1u);
  EXPECT_EQ(unreadable[0].ref.offset, frame0.size());
  EXPECT_NE(unreadable[0].reason.find("no longer checks out"), std::string::npos) << unreadable[0].reason;
  // Skipped means done: confirming the others empties the spool.
  for (auto seq : seqs) spool->confirm(seq);
  EXPECT_TRUE(spool->empty());
  spool->rewind();
  EXPECT_FALSE(spool->next(report)) << "nothing is handed out again";
  EXPECT_EQ(unreadable.size(), 1u);
}

TEST_F(SpoolFaultsTest, QuarantineKeepsTheWholeRecordAndTheDrainGoesOnInOrder) {
  auto spool = open_spool(options(), clock_);
  ASSERT_TRUE(spool);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_and_wait(*spool, make_record(i, 2000)).ok());
  auto first = spool->next();
  auto refused = spool->next();
  auto third = spool->next();
  ASSERT_TRUE(first && refused && third);
  auto kept = spool->quarantine(refused->first, refused->second);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(std::filesystem::path(*kept).parent_path(), std::filesystem::path(dir_.sub("spool/rejected")));
  auto d = decode(read_file(*kept), FrameKey());
  ASSERT_EQ(d.status, DecodeStatus::kOk);
  expect_same_record(d.record, make_record(1, 2000));
  EXPECT_FALSE(spool->empty());
  spool->confirm(first->first);
  spool->confirm(third->first);
  EXPECT_TRUE(spool->empty()) << "a quarantined record counts as done";
  EXPECT_FALSE(spool->quarantine(refused->first, refused->second).ok()) << "no longer waiting";
}

TEST_F(SpoolFaultsTest, DiskFullMakesTheSpoolFullUntilSpaceReturnsThenItAcceptsAgain) {
  auto spool = open_spool(options(), clock_);
  ASSERT_TRUE(spool);
  ASSERT_TRUE(append_and_wait(*spool, make_record(0)).ok());
  EXPECT_FALSE(spool->full());

  disk_.full = true;
  disk_.free = 0;
  auto refused = append_and_wait(*spool, make_record(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kResourceExhausted) << refused.error().message;
  EXPECT_TRUE(spool->full()) << "readiness must say not ready while the disk is full";

  // Still no room after a second: still full, and new records are refused without a write.
  clock_.advance(1500ms);
  EXPECT_TRUE(spool->full());
  auto again = append_and_wait(*spool, make_record(2));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kResourceExhausted);

  // Space comes back (another process deleted files): noticed within a second, no restart.
  disk_.full = false;
  disk_.free = 1ULL << 30;
  EXPECT_TRUE(spool->full()) << "checked at most once a second";
  clock_.advance(1500ms);
  EXPECT_FALSE(spool->full());
  ASSERT_TRUE(append_and_wait(*spool, make_record(3)).ok());
  std::vector<std::string> handed;
  while (auto n = spool->next()) handed.push_back(*testing::event_id(n->second));
  EXPECT_EQ(handed, (std::vector<std::string>{"ev-0", "ev-3"})) << "nothing refused was stored";
}

}  // namespace
}  // namespace wi::spool
