#pragma once
// Spool: the durable local queue that lets ingestd keep acknowledging while Kafka is away
// (SPEC §3 "Acknowledgement"). Thread-safe.
//
// append() queues a record; one writer thread writes everything queued in one go and
// fdatasyncs once (group commit), then reports each record durable. Records are drained in
// append order (next()/confirm()); a segment file is deleted once every record in it is
// confirmed as in Kafka. Recovery on open() keeps every intact record and drops (and counts)
// torn or damaged bytes. A stored record that cannot be read back is skipped (reported to the
// drainer), never retried forever; one Kafka refuses for good is quarantined (quarantine()).
// A full disk (ENOSPC) makes the spool full() until space is back, checked at most once a
// second on the clock.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/clock.h"
#include "common/kafka/record.h"
#include "common/result.h"
#include "ingest/spool/segment_log.h"

namespace wi::spool {

struct SpoolOptions {
  std::string dir;
  std::uint64_t max_bytes = 1ULL << 30;       // INGEST_SPOOL_MAX_BYTES
  std::uint64_t segment_bytes = 64ULL << 20;
  DiskOps disk = DiskOps::system();
};

// A stored record next() could not read back (damaged since it was written, or an I/O
// error): skipped and counted as done, since retrying it would wedge the drain.
struct Unreadable {
  RecordRef ref;
  std::string reason;
};

struct SpoolStats {
  std::uint64_t bytes = 0;    // on disk
  std::uint64_t records = 0;  // stored, not yet confirmed in Kafka
  double oldest_age_seconds = 0;
};

class Spool {
 public:
  using Done = std::function<void(Status)>;

  static Result<std::unique_ptr<Spool>> open(const SpoolOptions& options, const Clock& clock);
  // What open() found and dropped.
  const RecoveryReport& recovery() const { return recovery_; }
  ~Spool();  // completes whatever is still queued with an error

  // `done` runs once, on the writer thread: ok when the record is fsync'd; kResourceExhausted
  // when the spool or the disk is full; kUnavailable on an I/O error.
  void append(kafka::OutgoingRecord record, Done done);

  // The next stored record not yet handed out for draining, with its sequence number. Records
  // that cannot be read back are skipped (and confirmed), each reported to `on_unreadable`.
  std::optional<std::pair<std::uint64_t, kafka::OutgoingRecord>> next(
      const std::function<void(const Unreadable&)>& on_unreadable = {});
  // The record `seq` is in Kafka.
  void confirm(std::uint64_t seq);
  // Kafka refused record `seq` for good: keep it whole under <dir>/rejected/ (durably), then
  // count it as done. Returns the file it went to; on an error the record stays unconfirmed.
  Result<std::string> quarantine(std::uint64_t seq, const kafka::OutgoingRecord& record);
  // Hand out everything unconfirmed again from the start (after a failed drain).
  void rewind();

  // Nothing stored, nothing queued or being written.
  bool empty() const;
  // Every stored record was handed out (there may be some unconfirmed).
  bool all_handed_out() const;
  // No room: the bound is reached, or a record was refused for room and nothing was drained
  // since (so typical records are refused; /readyz says so), or the disk is full (ENOSPC)
  // and has not had room again since.
  bool full() const;
  SpoolStats stats() const;

 private:
  struct Queued {
    kafka::OutgoingRecord record;
    Done done;
  };
  struct Entry {
    std::uint64_t seq;
    RecordRef ref;
    SteadyTime appended_at;
    bool confirmed = false;
  };

  Spool(const SpoolOptions& options, const Clock& clock);
  void writer_loop();
  // Whether the disk was full at the last write and still is; re-checks free space at most
  // once a second. Caller holds mu_.
  bool disk_full_locked() const;
  // Pops confirmed records off the front; calls delete_confirmed_segments() only when a
  // segment may have become deletable.
  void confirm_prefix();
  // Deletes the segments before the first unconfirmed record (rolling the active segment when
  // everything is confirmed). Takes log_mu_.
  void delete_confirmed_segments();

  SpoolOptions options_;
  const Clock& clock_;
  SegmentLog log_;

  // Lock order: mu_ before log_mu_. Request threads take only mu_ (never wait for a disk
  // write); log_mu_ serialises the file operations (append + fdatasync, reads, deletes).
  mutable std::mutex mu_;
  std::mutex log_mu_;
  // log_.bytes_on_disk() as of the last change, readable without log_mu_: request threads
  // check the bound under mu_ alone, and must not wait behind an fdatasync for it. Only ever
  // written from log_ (under log_mu_), so the log stays the one owner of the figure.
  std::atomic<std::uint64_t> bytes_on_disk_{0};
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  std::uint64_t queued_bytes_ = 0;
  std::deque<Entry> entries_;  // stored, in order; confirmed ones leave from the front
  std::size_t handed_out_ = 0;  // entries_[0 .. handed_out_) were given to the drainer
  std::uint64_t next_seq_ = 1;
  bool writing_ = false;  // the writer holds records written but not yet in entries_
  bool out_of_room_ = false;  // a record was refused for room; cleared when a segment goes
  // A write failed with ENOSPC: refuse at once until free space covers `disk_needed_` again.
  mutable bool disk_full_ = false;
  mutable SteadyTime next_space_check_{};
  std::uint64_t disk_needed_ = 0;
  RecoveryReport recovery_;
  std::uint64_t oldest_segment_ = 0;  // the oldest segment file left by the last deletion pass
  std::uint64_t deletions_ = 0;       // deletion passes that freed bytes (writer snapshots it)
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace wi::spool
