#pragma once
// SegmentLog: the spool's files. An append-only sequence of segment files
// (<dir>/<20-digit id>.spool) holding record frames (record_codec.h). Appends are written and
// fdatasync'd before they are acknowledged; a segment is deleted only as a whole, once every
// record in it reached Kafka. Not thread-safe: Spool serialises access.
//
// <dir>/spool.key holds the spool's random frame key (16 bytes) and the first segment written
// with it (u64, little-endian); older segments are read unkeyed. Records Kafka refuses for
// good are kept whole in <dir>/rejected/<segment>-<offset>.record, one unkeyed frame each.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/kafka/record.h"
#include "common/result.h"
#include "ingest/spool/record_codec.h"

namespace wi::spool {

struct RecordRef {
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;
  std::uint32_t frame_bytes = 0;
};

struct RecoveryReport {
  std::size_t records = 0;           // intact records found, to be drained
  std::size_t corrupt_regions = 0;   // damaged stretches skipped (never published)
  std::uint64_t corrupt_bytes = 0;
  std::uint64_t torn_tail_bytes = 0;  // an incomplete last frame, cut off
  std::size_t segments = 0;
};

struct Recovered {
  RecoveryReport report;
  std::vector<RecordRef> records;  // intact records, in order
};

// The system calls behind "the disk is full", replaceable so tests can produce ENOSPC and
// its end without a small filesystem.
struct DiskOps {
  std::function<ssize_t(int fd, const void* data, std::size_t n)> write;
  // Bytes an unprivileged writer can still use in `dir`; nullopt when it cannot be told.
  std::function<std::optional<std::uint64_t>(const std::string& dir)> free_bytes;
  static DiskOps system();
};

class SegmentLog {
 public:
  SegmentLog(std::string dir, std::uint64_t segment_bytes, DiskOps disk = DiskOps::system());
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // Creates the directory (and the frame key) if needed, scans every segment in order, cuts
  // a torn tail, and starts a fresh segment for new appends.
  Result<Recovered> open();

  // The key new frames must be encoded with (append() takes frames, not records).
  const FrameKey& key() const { return key_; }

  // Writes the frames (concatenated in `blob`, sizes in `frame_sizes`) and fdatasyncs; on
  // success returns where each landed. Rolls to a new segment when the active one is full.
  // kResourceExhausted when the disk is full (ENOSPC, EDQUOT), kUnavailable on other errors.
  Result<std::vector<RecordRef>> append(const std::string& blob,
                                        const std::vector<std::uint32_t>& frame_sizes);

  Result<kafka::OutgoingRecord> read(const RecordRef& ref);

  // Keeps `record` (stored at `ref`) whole in <dir>/rejected/, durably; returns the file.
  Result<std::string> keep_rejected(const RecordRef& ref, const kafka::OutgoingRecord& record);

  // Free bytes where the segments live (DiskOps::free_bytes).
  std::optional<std::uint64_t> free_bytes() const { return disk_.free_bytes(dir_); }

  // Starts a new active segment (so the old one can be deleted once drained).
  Status roll() { return start_segment(active_id_ + 1); }

  // Deletes a segment that is not the active one.
  Status remove(std::uint64_t segment);

  std::uint64_t active_segment() const { return active_id_; }
  std::uint64_t bytes_on_disk() const { return bytes_; }
  std::uint64_t segment_size(std::uint64_t segment) const;
  std::vector<std::uint64_t> segments() const;

 private:
  std::string path_of(std::uint64_t id) const;
  Status start_segment(std::uint64_t id);
  Status sync_dir(const std::string& dir);
  // Reads <dir>/spool.key, or creates it (keyed from `first_new_segment` on).
  Status load_or_create_key(std::uint64_t first_new_segment);
  const FrameKey& key_of(std::uint64_t segment) const {
    return segment >= first_keyed_segment_ ? key_ : unkeyed_;
  }

  std::string dir_;
  std::uint64_t segment_bytes_;
  DiskOps disk_;
  FrameKey key_;
  FrameKey unkeyed_;
  std::uint64_t first_keyed_segment_ = 0;
  int active_fd_ = -1;
  std::uint64_t active_id_ = 0;
  std::uint64_t active_size_ = 0;
  std::uint64_t bytes_ = 0;
  std::map<std::uint64_t, std::uint64_t> sizes_;  // segment → bytes
  std::map<std::uint64_t, int> read_fds_;
};

}  // namespace wi::spool
