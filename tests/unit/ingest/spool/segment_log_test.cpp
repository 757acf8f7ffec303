// SegmentLog: the spool's files. Appends land where they say, segments roll at their size,
// recovery keeps every intact frame (before and after damage), cuts a torn tail, counts what
// it dropped and never returns damaged bytes; removal deletes whole segments.

#include "ingest/spool/segment_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ingest/spool/crc32c.h"
#include "ingest/spool/record_codec.h"
#include "tests/unit/ingest/spool/spool_test_support.h"

namespace wi::spool {
namespace {

using testing::expect_same_record;
using testing::make_record;
using testing::read_file;
using testing::ScratchDir;
using testing::segment_files;
using testing::write_file;

struct Frames {
  std::string blob;
  std::vector<std::uint32_t> sizes;
};

// Frames under `key` (the log's key for appends; any key gives the same sizes).
Frames frames_of(const std::vector<kafka::OutgoingRecord>& records, const FrameKey& key = FrameKey()) {
  Frames f;
  for (const auto& r : records) {
    auto before = f.blob.size();
    encode(r, key, f.blob);
    f.sizes.push_back(static_cast<std::uint32_t>(f.blob.size() - before));
  }
  return f;
}

std::vector<kafka::OutgoingRecord> records(int from, int to, std::size_t value_bytes = 100) {
  std::vector<kafka::OutgoingRecord> out;
  for (int i = from; i < to; ++i) out.push_back(make_record(i, value_bytes));
  return out;
}

// Writes `n` records into a fresh log in `dir` (one append each) and closes it.
std::vector<RecordRef> write_records(const std::string& dir, int n, std::uint64_t segment_bytes = 1 << 20) {
  SegmentLog log(dir, segment_bytes);
  EXPECT_TRUE(log.open().ok());
  std::vector<RecordRef> refs;
  for (int i = 0; i < n; ++i) {
    auto f = frames_of({make_record(i)}, log.key());
    auto r = log.append(f.blob, f.sizes);
    EXPECT_TRUE(r.ok());
    if (r) refs.push_back(r->at(0));
  }
  return refs;
}

struct Reopened {
  RecoveryReport report;
  std::vector<kafka::OutgoingRecord> records;
};

Reopened reopen(const std::string& dir) {
  SegmentLog log(dir, 1 << 20);
  auto opened = log.open();
  EXPECT_TRUE(opened.ok()) << (opened ? "" : opened.error().message);
  Reopened out;
  if (!opened) return out;
  out.report = opened->report;
  for (const auto& ref : opened->records) {
    auto r = log.read(ref);
    EXPECT_TRUE(r.ok());
    if (r) out.records.push_back(std::move(*r));
  }
  return out;
}

std::vector<std::string> event_ids(const std::vector<kafka::OutgoingRecord>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(*testing::event_id(r));
  return out;
}

std::vector<std::string> ids(std::initializer_list<int> is) {
  std::vector<std::string> out;
  for (int i : is) out.push_back("ev-" + std::to_string(i));
  return out;
}

TEST(SpoolSegmentLog, OpensAnEmptyDirectoryAndCreatesIt) {
  ScratchDir scratch;
  SegmentLog log(scratch.sub("spool/nested"), 1 << 20);
  auto opened = log.open();
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_TRUE(opened->records.empty());
  EXPECT_EQ(opened->report.records, 0u);
  EXPECT_EQ(opened->report.corrupt_regions, 0u);
  EXPECT_EQ(opened->report.torn_tail_bytes, 0u);
  EXPECT_EQ(log.bytes_on_disk(), 0u);
  EXPECT_EQ(segment_files(scratch.sub("spool/nested")).size(), 1u);  // the active segment
}

TEST(SpoolSegmentLog, AppendThenReadReturnsEachRecordWhereItLanded) {
  ScratchDir scratch;
  SegmentLog log(scratch.path(), 1 << 20);
  ASSERT_TRUE(log.open().ok());
  auto batch = records(0, 3);
  batch[1].value.clear();
  auto f = frames_of(batch, log.key());
  auto refs = log.append(f.blob, f.sizes);
  ASSERT_TRUE(refs.ok()) << refs.error().message;
  ASSERT_EQ(refs->size(), 3u);
  EXPECT_EQ((*refs)[0].offset, 0u);
  EXPECT_EQ((*refs)[1].offset, f.sizes[0]);
  EXPECT_EQ((*refs)[2].offset, f.sizes[0] + f.sizes[1]);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*refs)[i].frame_bytes, f.sizes[i]);
    auto r = log.read((*refs)[i]);
    ASSERT_TRUE(r.ok()) << r.error().message;
    expect_same_record(*r, batch[i]);
  }
  auto more = frames_of(records(3, 4), log.key());
  auto refs2 = log.append(more.blob, more.sizes);
  ASSERT_TRUE(refs2.ok());
  EXPECT_EQ((*refs2)[0].offset, f.blob.size());
  EXPECT_EQ(log.bytes_on_disk(), f.blob.size() + more.blob.size());
  auto files = segment_files(scratch.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(read_file(files[0]), f.blob + more.blob) << "the file holds exactly the frames";
}

TEST(SpoolSegmentLog, RollsToANewSegmentAtTheSegmentSize) {
  ScratchDir scratch;
  const std::size_t frame = frames_of({make_record(0)}).blob.size();
  SegmentLog log(scratch.path(), 2 * frame + frame / 2);  // room for two frames per segment
  ASSERT_TRUE(log.open().ok());
  std::vector<RecordRef> refs;
  for (int i = 0; i < 5; ++i) {
    auto f = frames_of({make_record(i)}, log.key());
    auto r = log.append(f.blob, f.sizes);
    ASSERT_TRUE(r.ok());
    refs.push_back(r->at(0));
  }
  EXPECT_EQ(refs[0].segment, refs[1].segment);
  EXPECT_EQ(refs[2].segment, refs[0].segment + 1);
  EXPECT_EQ(refs[3].segment, refs[2].segment);
  EXPECT_EQ(refs[4].segment, refs[2].segment + 1);
  EXPECT_EQ(refs[2].offset, 0u);
  EXPECT_EQ(log.active_segment(), refs[4].segment);
  EXPECT_EQ(log.segments().size(), 3u);
  EXPECT_EQ(segment_files(scratch.path()).size(), 3u);
  for (std::size_t i = 0; i < refs.size(); ++i) {
    auto r = log.read(refs[i]);
    ASSERT_TRUE(r.ok());
    expect_same_record(*r, make_record(static_cast<int>(i)));
  }
  // A batch larger than a segment still goes in whole, into a segment of its own.
  auto big = frames_of(records(10, 14), log.key());
  auto r = log.append(big.blob, big.sizes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->front().segment, refs[4].segment + 1);
  EXPECT_EQ(r->back().segment, r->front().segment);
}

TEST(SpoolSegmentLog, ReopenRecoversEveryRecordInOrderAcrossSegments) {
  ScratchDir scratch;
  const std::size_t frame = frames_of({make_record(0)}).blob.size();
  write_records(scratch.path(), 7, 3 * frame);
  auto again = reopen(scratch.path());
  EXPECT_EQ(again.report.records, 7u);
  EXPECT_EQ(again.report.corrupt_regions, 0u);
  EXPECT_EQ(again.report.torn_tail_bytes, 0u);
  ASSERT_EQ(again.records.size(), 7u);
  for (int i = 0; i < 7; ++i) expect_same_record(again.records[i], make_record(i));
}

TEST(SpoolSegmentLog, TornTailAtEveryCutIsDroppedCountedAndCutOff) {
  const std::size_t frame = frames_of({make_record(2)}).blob.size();
  for (std::size_t keep = 0; keep < frame; keep += (keep < 16 ? 1 : 13)) {
    SCOPED_TRACE("the last frame keeps " + std::to_string(keep) + " bytes");
    ScratchDir scratch;
    write_records(scratch.path(), 3);
    auto files = segment_files(scratch.path());
    ASSERT_EQ(files.size(), 1u);
    std::string bytes = read_file(files[0]);
    const std::size_t intact = bytes.size() - frame;
    ASSERT_EQ(::truncate(files[0].c_str(), static_cast<off_t>(intact + keep)), 0);

    auto again = reopen(scratch.path());
    EXPECT_EQ(event_ids(again.records), ids({0, 1}));
    EXPECT_EQ(again.report.torn_tail_bytes, keep);
    EXPECT_EQ(again.report.corrupt_regions, 0u);
    // Cut off on disk, so the next recovery is clean and never sees it again.
    EXPECT_EQ(std::filesystem::file_size(files[0]), intact);
    auto third = reopen(scratch.path());
    EXPECT_EQ(event_ids(third.records), ids({0, 1}));
    EXPECT_EQ(third.report.torn_tail_bytes, 0u);
    EXPECT_EQ(third.report.corrupt_regions, 0u);
  }
}

TEST(SpoolSegmentLog, FlippedByteAnywhereInAMiddleRecordKeepsTheRecordsAroundIt) {
  // Records 0..4 in one segment (the last one: where a torn tail could also be); a byte of
  // record 2 damaged — magic, length, checksum or payload.
  ScratchDir proto;
  auto refs = write_records(proto.path(), 5);
  const std::string pristine = read_file(segment_files(proto.path())[0]);
  const std::string key_file = read_file(proto.path() + "/spool.key");
  const RecordRef victim = refs[2];
  for (std::size_t at = 0; at < victim.frame_bytes; ++at) {
    for (unsigned char mask : {0x01, 0x80, 0xFF}) {
      SCOPED_TRACE("byte " + std::to_string(at) + " of the middle frame, xor " + std::to_string(mask));
      ScratchDir scratch;
      std::string damaged = pristine;
      damaged[victim.offset + at] = static_cast<char>(damaged[victim.offset + at] ^ mask);
      write_file(scratch.path() + "/00000000000000000001.spool", damaged);
      write_file(scratch.path() + "/spool.key", key_file);
      auto again = reopen(scratch.path());
      ASSERT_EQ(event_ids(again.records), ids({0, 1, 3, 4}));
      for (const auto& r : again.records) {
        int i = std::stoi(testing::event_id(r)->substr(3));
        expect_same_record(r, make_record(i));
      }
      EXPECT_EQ(again.report.records, 4u);
      EXPECT_EQ(again.report.corrupt_regions, 1u);
      EXPECT_EQ(again.report.corrupt_bytes, victim.frame_bytes);
      EXPECT_EQ(again.report.torn_tail_bytes, 0u);
    }
  }
}

TEST(SpoolSegmentLog, DamageInAnOlderSegmentKeepsLaterSegmentsAndIsCountedOnce) {
  ScratchDir scratch;
  const std::size_t frame = frames_of({make_record(0)}).blob.size();
  auto refs = write_records(scratch.path(), 6, 3 * frame);  // segments: [0,1,2] [3,4,5]
  ASSERT_EQ(refs[0].segment, refs[2].segment);
  ASSERT_NE(refs[2].segment, refs[3].segment);
  auto files = segment_files(scratch.path());
  std::string first = read_file(files[0]);
  first[refs[1].offset + frame / 2] ^= 0x20;  // inside record 1's payload
  write_file(files[0], first);
  auto again = reopen(scratch.path());
  EXPECT_EQ(event_ids(again.records), ids({0, 2, 3, 4, 5}));
  EXPECT_EQ(again.report.corrupt_regions, 1u);
  EXPECT_EQ(again.report.torn_tail_bytes, 0u);
}

TEST(SpoolSegmentLog, ZeroFilledAndGarbageRegionsAreSkippedNeverReturned) {
  ScratchDir scratch;
  write_records(scratch.path(), 2);
  auto files = segment_files(scratch.path());
  std::string bytes = read_file(files[0]);
  const std::string good = bytes;
  // Garbage between the two records, zeros at the end (what a crash can leave on some
  // filesystems: the size grew, the data did not land).
  const std::size_t frame = bytes.size() / 2;
  std::string mixed = good.substr(0, frame) + "garbage WIS garbage" + good.substr(frame) +
                      std::string(300, '\0');
  write_file(files[0], mixed);
  auto again = reopen(scratch.path());
  EXPECT_EQ(event_ids(again.records), ids({0, 1}));
  EXPECT_EQ(again.report.corrupt_regions, 2u);
  EXPECT_EQ(again.report.corrupt_bytes, 19u + 300u);
}

TEST(SpoolSegmentLog, AFrameThatChecksOutButDoesNotParseIsDamageNotARecord) {
  // Its checksum is right but the payload is not a record (another writer, a frame-shaped
  // stretch inside a damaged region): recovery must not hand it to the drainer, which could
  // never read it.
  ScratchDir scratch;
  write_records(scratch.path(), 2);
  auto files = segment_files(scratch.path());
  std::string bytes = read_file(files[0]);
  std::string bogus_payload = "\xff\xff not a record";
  std::string bogus(kMagic);
  for (int i = 0; i < 4; ++i) bogus.push_back(static_cast<char>((bogus_payload.size() >> (8 * i)) & 0xFF));
  // Checked under the spool's own key: the structure check, not the key, must refuse it.
  const FrameKey key(read_file(scratch.path() + "/spool.key").substr(0, 16));
  std::uint32_t crc = crc32c(bogus_payload, key.seed());
  for (int i = 0; i < 4; ++i) bogus.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  bogus += bogus_payload;
  const std::size_t frame = bytes.size() / 2;
  write_file(files[0], bytes.substr(0, frame) + bogus + bytes.substr(frame));
  auto again = reopen(scratch.path());
  EXPECT_EQ(event_ids(again.records), ids({0, 1}));
  EXPECT_EQ(again.report.records, 2u);
  EXPECT_EQ(again.report.corrupt_regions, 1u);
}

TEST(SpoolSegmentLog, IgnoresFilesThatAreNotSegments) {
  ScratchDir scratch;
  write_records(scratch.path(), 1);
  write_file(scratch.path() + "/notes.txt", "WISP hello");
  write_file(scratch.path() + "/12345.spool", "WISP short name");
  auto again = reopen(scratch.path());
  EXPECT_EQ(event_ids(again.records), ids({0}));
  EXPECT_EQ(again.report.corrupt_regions, 0u);
  EXPECT_TRUE(std::filesystem::exists(scratch.path() + "/notes.txt"));
}

TEST(SpoolSegmentLog, NewAppendsAfterRecoveryGoToAFreshSegment) {
  ScratchDir scratch;
  auto before = write_records(scratch.path(), 2);
  SegmentLog log(scratch.path(), 1 << 20);
  auto opened = log.open();
  ASSERT_TRUE(opened.ok());
  const auto& recovered = opened->records;
  ASSERT_EQ(recovered.size(), 2u);
  auto f = frames_of({make_record(7)}, log.key());
  auto r = log.append(f.blob, f.sizes);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->at(0).segment, before.back().segment);
  EXPECT_EQ(r->at(0).offset, 0u);
  // The recovered records are still readable next to the new one.
  for (const auto& ref : recovered) EXPECT_TRUE(log.read(ref).ok());
  EXPECT_EQ(log.bytes_on_disk(), testing::total_bytes(segment_files(scratch.path())));
}

TEST(SpoolSegmentLog, RemoveDeletesAWholeSegmentButNeverTheActiveOne) {
  ScratchDir scratch;
  const std::size_t frame = frames_of({make_record(0)}).blob.size();
  SegmentLog log(scratch.path(), 2 * frame);
  ASSERT_TRUE(log.open().ok());
  std::vector<RecordRef> refs;
  for (int i = 0; i < 5; ++i) {
    auto f = frames_of({make_record(i)}, log.key());
    auto r = log.append(f.blob, f.sizes);
    ASSERT_TRUE(r.ok());
    refs.push_back(r->at(0));
  }
  ASSERT_EQ(log.segments().size(), 3u);
  const auto first = refs[0].segment;
  const auto bytes = log.bytes_on_disk();
  ASSERT_TRUE(log.remove(first).ok());
  EXPECT_EQ(log.bytes_on_disk(), bytes - 2 * frame);
  EXPECT_EQ(log.segments().size(), 2u);
  EXPECT_EQ(segment_files(scratch.path()).size(), 2u);
  EXPECT_FALSE(log.read(refs[0]).ok());
  EXPECT_TRUE(log.read(refs[2]).ok());
  EXPECT_FALSE(log.remove(log.active_segment()).ok());
  EXPECT_TRUE(log.read(refs[4]).ok());
  // roll() makes the old active segment removable.
  const auto was_active = log.active_segment();
  ASSERT_TRUE(log.roll().ok());
  EXPECT_NE(log.active_segment(), was_active);
  ASSERT_TRUE(log.remove(refs[2].segment).ok());
  ASSERT_TRUE(log.remove(was_active).ok());
  EXPECT_EQ(log.bytes_on_disk(), 0u);
  EXPECT_EQ(testing::total_bytes(segment_files(scratch.path())), 0u);
  auto again = reopen(scratch.path());
  EXPECT_TRUE(again.records.empty());
}

// A webhook body that carries a well-formed spool frame (topic and headers of the sender's
// choosing), written without the spool's key: the sender cannot know it.
kafka::OutgoingRecord record_carrying_a_forged_frame(std::string* forged_frame) {
  kafka::OutgoingRecord forged;
  forged.topic = "webhooks.evil";
  forged.headers = {{"event-id", "forged"}, {"replayed-from", "attacker"}};
  forged.value = "{\"ref\":\"refs/heads/main\"}";
  std::string frame;
  encode(forged, FrameKey(), frame);                         // no key (plain CRC-32C)
  encode(forged, FrameKey("a guessed key"), frame);          // a wrong guess
  *forged_frame = frame;
  kafka::OutgoingRecord carrier = make_record(2);
  carrier.value = "{\"payload\":\"" + frame + std::string(300, 'x') + "\"}";
  return carrier;
}

TEST(SpoolSegmentLog, AFrameInsideABodyCaughtInATornFrameIsNeverRecovered) {
  ScratchDir scratch;
  std::string forged_frame;
  RecordRef carrier_ref;
  {
    SegmentLog log(scratch.path(), 1 << 20);
    ASSERT_TRUE(log.open().ok());
    auto f = frames_of({make_record(0), make_record(1), record_carrying_a_forged_frame(&forged_frame)},
                       log.key());
    auto refs = log.append(f.blob, f.sizes);
    ASSERT_TRUE(refs.ok());
    carrier_ref = refs->at(2);
  }
  // A crash while the carrier was being written: the file ends inside it, after the forged
  // frame. Resync searches the torn bytes for a frame that checks out.
  auto files = segment_files(scratch.path());
  const std::string bytes = read_file(files[0]);
  const auto forged_at = bytes.find(forged_frame);
  ASSERT_NE(forged_at, std::string::npos);
  ASSERT_GT(forged_at, carrier_ref.offset);
  const std::size_t cut = forged_at + forged_frame.size() + 10;
  ASSERT_LT(cut, carrier_ref.offset + carrier_ref.frame_bytes);
  write_file(files[0], bytes.substr(0, cut));
  auto again = reopen(scratch.path());
  EXPECT_EQ(event_ids(again.records), ids({0, 1}));
  for (const auto& r : again.records) EXPECT_NE(r.topic, "webhooks.evil");
  EXPECT_EQ(again.report.torn_tail_bytes, cut - carrier_ref.offset);
  EXPECT_EQ(again.report.corrupt_regions, 0u);
}

TEST(SpoolSegmentLog, AFrameInsideABodyBehindADamagedHeaderIsNeverRecovered) {
  ScratchDir scratch;
  std::string forged_frame;
  RecordRef carrier_ref;
  {
    SegmentLog log(scratch.path(), 1 << 20);
    ASSERT_TRUE(log.open().ok());
    auto f = frames_of({make_record(0), make_record(1), record_carrying_a_forged_frame(&forged_frame),
                        make_record(3)},
                       log.key());
    auto refs = log.append(f.blob, f.sizes);
    ASSERT_TRUE(refs.ok());
    carrier_ref = refs->at(2);
  }
  auto files = segment_files(scratch.path());
  std::string bytes = read_file(files[0]);
  bytes[carrier_ref.offset + 5] = static_cast<char>(bytes[carrier_ref.offset + 5] ^ 0x40);  // length
  write_file(files[0], bytes);
  auto again = reopen(scratch.path());
  EXPECT_EQ(event_ids(again.records), ids({0, 1, 3}));
  for (const auto& r : again.records) EXPECT_NE(r.topic, "webhooks.evil");
  EXPECT_EQ(again.report.corrupt_regions, 1u);
  EXPECT_EQ(again.report.corrupt_bytes, carrier_ref.frame_bytes);
}

TEST(SpoolSegmentLog, SegmentsWrittenBeforeKeysAreStillRecoveredAndNewOnesAreKeyed) {
  ScratchDir scratch;
  std::string unkeyed;
  encode(make_record(0), FrameKey(), unkeyed);
  encode(make_record(1), FrameKey(), unkeyed);
  write_file(scratch.path() + "/00000000000000000004.spool", unkeyed);
  {
    SegmentLog log(scratch.path(), 1 << 20);
    auto opened = log.open();
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    ASSERT_EQ(opened->records.size(), 2u);
    auto f = frames_of({make_record(2)}, log.key());
    auto r = log.append(f.blob, f.sizes);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->at(0).segment, 5u);
    EXPECT_EQ(decode(f.blob, FrameKey()).status, DecodeStatus::kCorrupt) << "new frames are keyed";
  }
  auto again = reopen(scratch.path());
  EXPECT_EQ(event_ids(again.records), ids({0, 1, 2}));
  EXPECT_EQ(again.report.corrupt_regions, 0u);
}

TEST(SpoolSegmentLog, ADamagedKeyFileRefusesToOpen) {
  ScratchDir scratch;
  write_records(scratch.path(), 1);
  write_file(scratch.path() + "/spool.key", "short");
  SegmentLog log(scratch.path(), 1 << 20);
  auto opened = log.open();
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("spool.key"), std::string::npos) << opened.error().message;
}

TEST(SpoolSegmentLog, KeepRejectedStoresTheWholeRecordDurablyAndReadableWithoutTheKey) {
  ScratchDir scratch;
  SegmentLog log(scratch.path(), 1 << 20);
  ASSERT_TRUE(log.open().ok());
  const auto record = make_record(6, 3000);
  auto kept = log.keep_rejected({9, 1234, 0}, record);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(*kept, scratch.path() + "/rejected/00000000000000000009-00000000000000001234.record");
  auto d = decode(read_file(*kept), FrameKey());
  ASSERT_EQ(d.status, DecodeStatus::kOk);
  expect_same_record(d.record, record);
  EXPECT_EQ(d.frame_bytes, read_file(*kept).size());
}

}  // namespace
}  // namespace wi::spool
