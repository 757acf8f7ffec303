#include "ingest/spool/spool.h"

#include <fmt/format.h>

#include "common/thread_name.h"
#include "ingest/spool/record_codec.h"

namespace wi::spool {

namespace {
// One group commit writes at most this much (plus one oversize record): bounds latency.
constexpr std::uint64_t kMaxBatchBytes = 32ULL << 20;
// After ENOSPC, ready again once this much more than the failed write is free.
constexpr std::uint64_t kDiskHeadroomBytes = 1ULL << 20;
constexpr auto kSpaceCheckInterval = std::chrono::seconds(1);
}  // namespace

Spool::Spool(const SpoolOptions& options, const Clock& clock)
    : options_(options), clock_(clock), log_(options.dir, options.segment_bytes, options.disk) {}

Result<std::unique_ptr<Spool>> Spool::open(const SpoolOptions& options, const Clock& clock) {
  std::unique_ptr<Spool> spool(new Spool(options, clock));
  auto r = spool->log_.open();
  if (!r) return r.error();
  spool->recovery_ = r->report;
  auto now = clock.steady_now();
  for (const auto& ref : r->records) spool->entries_.push_back({spool->next_seq_++, ref, now});
  {
    // Segments older than the first recovered record hold nothing to drain (emptied by a
    // roll, or only damage, already counted): without this they would pile up, one per
    // restart, since only a confirm() deletes segments.
    std::lock_guard lock(spool->mu_);
    spool->delete_confirmed_segments();
  }
  spool->bytes_on_disk_ = spool->log_.bytes_on_disk();
  spool->writer_ = std::thread([s = spool.get()] {
    name_this_thread("spool:writer");
    s->writer_loop();
  });
  return spool;
}

Spool::~Spool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  for (auto& q : queue_) q.done(Error::unavailable("spool closed"));
}

void Spool::append(kafka::OutgoingRecord record, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stop_) {
      queued_bytes_ += record.value.size();
      queue_.push_back({std::move(record), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Error::unavailable("spool closed"));
}

void Spool::writer_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    // Take what is queued, up to the batch bound, and make it durable with one fdatasync.
    std::vector<Queued> batch;
    std::uint64_t batch_bytes = 0;
    writing_ = true;
    while (!queue_.empty() && (batch.empty() || batch_bytes < kMaxBatchBytes)) {
      batch_bytes += queue_.front().record.value.size();
      queued_bytes_ -= queue_.front().record.value.size();
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    const std::uint64_t on_disk = bytes_on_disk_.load();
    const std::uint64_t deletions_before = deletions_;
    // The disk was full at the last write and still is: refuse without writing (each failed
    // write would also leave a new, empty segment behind).
    const bool disk_full = disk_full_locked();
    lock.unlock();

    std::string blob;
    std::vector<std::uint32_t> sizes;
    std::vector<Queued*> accepted;
    std::vector<Queued*> refused;
    for (auto& q : batch) {
      if (disk_full) {
        refused.push_back(&q);
        continue;
      }
      auto before = blob.size();
      encode(q.record, log_.key(), blob);
      auto size = blob.size() - before;
      if (on_disk + blob.size() > options_.max_bytes) {
        blob.resize(before);
        refused.push_back(&q);
        continue;
      }
      sizes.push_back(static_cast<std::uint32_t>(size));
      accepted.push_back(&q);
    }
    Result<std::vector<RecordRef>> refs = std::vector<RecordRef>{};
    if (!accepted.empty()) {
      {
        std::lock_guard log_lock(log_mu_);
        refs = log_.append(blob, sizes);
        bytes_on_disk_ = log_.bytes_on_disk();
      }
      if (refs) {
        lock.lock();
        auto now = clock_.steady_now();
        for (const auto& ref : *refs) entries_.push_back({next_seq_++, ref, now});
        lock.unlock();
      }
    }
    lock.lock();
    writing_ = false;
    // Out of room for what arrives: say so (readiness) until draining frees some. Set before
    // the refusals are answered, so nobody sees a 503 while readiness still says ready.
    // Not when segments were deleted meanwhile: the refusal used the older, larger size.
    if (!refused.empty() && !disk_full && deletions_ == deletions_before) out_of_room_ = true;
    if (!accepted.empty()) {
      if (refs) {
        disk_full_ = false;
      } else if (refs.error().code == ErrorCode::kResourceExhausted) {
        // The disk (not our bound) is full: not ready until free space covers this write.
        disk_full_ = true;
        disk_needed_ = blob.size() + kDiskHeadroomBytes;
        next_space_check_ = clock_.steady_now() + kSpaceCheckInterval;
      }
    }
    lock.unlock();
    for (auto* q : refused) {
      q->done(Error{ErrorCode::kResourceExhausted,
                    disk_full ? std::string("spool disk full")
                              : fmt::format("spool full ({} bytes of {})", on_disk, options_.max_bytes),
                    true});
    }
    for (auto* q : accepted) q->done(refs ? Status() : Status(refs.error()));
    lock.lock();
  }
}

bool Spool::disk_full_locked() const {
  if (!disk_full_) return false;
  const auto now = clock_.steady_now();
  if (now < next_space_check_) return true;
  next_space_check_ = now + kSpaceCheckInterval;
  const auto free = log_.free_bytes();
  if (free && *free >= disk_needed_) disk_full_ = false;
  return disk_full_;
}

std::optional<std::pair<std::uint64_t, kafka::OutgoingRecord>> Spool::next(
    const std::function<void(const Unreadable&)>& on_unreadable) {
  while (true) {
    std::uint64_t seq;
    RecordRef ref;
    {
      std::lock_guard lock(mu_);
      if (handed_out_ >= entries_.size()) return std::nullopt;
      seq = entries_[handed_out_].seq;
      ref = entries_[handed_out_].ref;
      ++handed_out_;
    }
    Result<kafka::OutgoingRecord> record = Error::internal("unread");
    {
      std::lock_guard log_lock(log_mu_);
      record = log_.read(ref);
    }
    if (record) return std::make_pair(seq, std::move(*record));
    // Damaged since it was written, or the disk cannot read it: retrying would hand out the
    // same failure forever while the spool fills behind it. Skip it, and say so.
    confirm(seq);
    if (on_unreadable) on_unreadable({ref, record.error().message});
  }
}

Result<std::string> Spool::quarantine(std::uint64_t seq, const kafka::OutgoingRecord& record) {
  RecordRef ref;
  {
    std::lock_guard lock(mu_);
    if (entries_.empty() || seq < entries_.front().seq ||
        seq - entries_.front().seq >= entries_.size()) {
      return Error::not_found(fmt::format("spooled record {} is not waiting", seq));
    }
    ref = entries_[static_cast<std::size_t>(seq - entries_.front().seq)].ref;
  }
  Result<std::string> kept = Error::internal("not kept");
  {
    std::lock_guard log_lock(log_mu_);
    kept = log_.keep_rejected(ref, record);
  }
  if (kept) confirm(seq);
  return kept;
}

void Spool::confirm(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  if (entries_.empty() || seq < entries_.front().seq) return;
  auto index = static_cast<std::size_t>(seq - entries_.front().seq);
  if (index >= entries_.size()) return;
  entries_[index].confirmed = true;
  confirm_prefix();
}

void Spool::confirm_prefix() {
  std::size_t dropped = 0;
  while (!entries_.empty() && entries_.front().confirmed && dropped < handed_out_) {
    entries_.pop_front();
    ++dropped;
  }
  handed_out_ -= dropped;
  // Most confirmations leave the oldest unconfirmed record in the oldest segment file: no file
  // can go, so log_mu_ is not taken. That matters because the writer holds log_mu_ across its
  // fdatasync, and we hold mu_, which every new request needs to enqueue.
  if (dropped == 0 || (!entries_.empty() && entries_.front().ref.segment == oldest_segment_)) {
    return;
  }
  delete_confirmed_segments();
}

void Spool::delete_confirmed_segments() {
  // A segment older than the oldest unconfirmed record is entirely in Kafka.
  std::lock_guard log_lock(log_mu_);
  // Fully drained: leave the active segment too, so no drained record is replayed after a
  // restart. Only when no write is between the file and entries_.
  if (entries_.empty() && queue_.empty() && !writing_ &&
      log_.segment_size(log_.active_segment()) > 0) {
    (void)log_.roll();
  }
  std::uint64_t keep_from = entries_.empty() ? log_.active_segment() : entries_.front().ref.segment;
  const std::uint64_t before = log_.bytes_on_disk();
  for (auto id : log_.segments()) {
    if (id < keep_from && id != log_.active_segment()) (void)log_.remove(id);
  }
  bytes_on_disk_ = log_.bytes_on_disk();
  if (bytes_on_disk_.load() < before) {
    out_of_room_ = false;
    ++deletions_;
  }
  auto left = log_.segments();
  oldest_segment_ = left.empty() ? log_.active_segment() : left.front();
}

void Spool::rewind() {
  std::lock_guard lock(mu_);
  handed_out_ = 0;
  while (handed_out_ < entries_.size() && entries_[handed_out_].confirmed) ++handed_out_;
}

bool Spool::empty() const {
  std::lock_guard lock(mu_);
  // writing_: records taken from the queue are not in entries_ until their write completes.
  return entries_.empty() && queue_.empty() && !writing_;
}

bool Spool::all_handed_out() const {
  std::lock_guard lock(mu_);
  return handed_out_ >= entries_.size();
}

bool Spool::full() const {
  std::lock_guard lock(mu_);
  return out_of_room_ || disk_full_locked() ||
         bytes_on_disk_.load() + queued_bytes_ >= options_.max_bytes;
}

SpoolStats Spool::stats() const {
  std::lock_guard lock(mu_);
  SpoolStats s;
  s.bytes = bytes_on_disk_.load();
  s.records = entries_.size();
  if (!entries_.empty()) {
    s.oldest_age_seconds =
        std::chrono::duration<double>(clock_.steady_now() - entries_.front().appended_at).count();
  }
  return s;
}

}  // namespace wi::spool
