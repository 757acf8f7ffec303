#pragma once
// SegmentLog: the spool's files. An append-only sequence of segment files
// (<dir>/<20-digit id>.spool) holding record frames (record_codec.h). Appends are written and
// fdatasync'd before they are acknowledged; a segment is deleted only as a whole, once every
// record in it reached Kafka. Not thread-safe: Spool serialises access.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/kafka/record.h"
#include "common/result.h"

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

class SegmentLog {
 public:
  SegmentLog(std::string dir, std::uint64_t segment_bytes);
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // Creates the directory if needed, scans every segment in order (intact records into
  // `recovered`), cuts a torn tail, and starts a fresh segment for new appends.
  Result<RecoveryReport> open(std::vector<RecordRef>& recovered);

  // Writes the frames (concatenated in `blob`, sizes in `frame_sizes`) and fdatasyncs; on
  // success returns where each landed. Rolls to a new segment when the active one is full.
  Result<std::vector<RecordRef>> append(const std::string& blob,
                                        const std::vector<std::uint32_t>& frame_sizes);

  Result<kafka::OutgoingRecord> read(const RecordRef& ref);

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
  Status sync_dir();

  std::string dir_;
  std::uint64_t segment_bytes_;
  int active_fd_ = -1;
  std::uint64_t active_id_ = 0;
  std::uint64_t active_size_ = 0;
  std::uint64_t bytes_ = 0;
  std::map<std::uint64_t, std::uint64_t> sizes_;  // segment → bytes
  std::map<std::uint64_t, int> read_fds_;
};

}  // namespace wi::spool
