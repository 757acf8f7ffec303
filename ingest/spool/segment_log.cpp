#include "ingest/spool/segment_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "ingest/spool/record_codec.h"

namespace wi::spool {

namespace {

Error io_error(const std::string& what) {
  return Error{ErrorCode::kUnavailable, fmt::format("{}: {}", what, std::strerror(errno)), true};
}

bool read_all(int fd, std::uint64_t offset, std::size_t n, std::string& out) {
  out.resize(n);
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

SegmentLog::SegmentLog(std::string dir, std::uint64_t segment_bytes)
    : dir_(std::move(dir)), segment_bytes_(segment_bytes) {}

SegmentLog::~SegmentLog() {
  if (active_fd_ >= 0) ::close(active_fd_);
  for (auto& [id, fd] : read_fds_) ::close(fd);
}

std::string SegmentLog::path_of(std::uint64_t id) const {
  return fmt::format("{}/{:020}.spool", dir_, id);
}

std::uint64_t SegmentLog::segment_size(std::uint64_t segment) const {
  auto it = sizes_.find(segment);
  return it == sizes_.end() ? 0 : it->second;
}

std::vector<std::uint64_t> SegmentLog::segments() const {
  std::vector<std::uint64_t> out;
  for (const auto& [id, size] : sizes_) out.push_back(id);
  return out;
}

Status SegmentLog::sync_dir() {
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open " + dir_);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("fsync " + dir_);
  return {};
}

Result<RecoveryReport> SegmentLog::open(std::vector<RecordRef>& recovered) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Error::unavailable(fmt::format("spool directory {}: {}", dir_, ec.message()));
  std::vector<std::uint64_t> ids;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    auto name = entry.path().filename().string();
    if (name.size() == 26 && name.ends_with(".spool")) {
      try {
        ids.push_back(std::stoull(name.substr(0, 20)));
      } catch (const std::exception&) {
        // not ours
      }
    }
  }
  std::sort(ids.begin(), ids.end());
  RecoveryReport report;
  report.segments = ids.size();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto id = ids[i];
    const bool last = i + 1 == ids.size();
    int fd = ::open(path_of(id).c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return io_error("open " + path_of(id));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      auto e = io_error("stat " + path_of(id));
      ::close(fd);
      return e;
    }
    std::string data;
    if (!read_all(fd, 0, static_cast<std::size_t>(st.st_size), data)) {
      ::close(fd);
      return io_error("read " + path_of(id));
    }
    // A frame counts only when it decodes into a record: a checksum that matches over bytes
    // that are not a record (another writer, a frame-shaped stretch inside damage) would
    // otherwise be handed to the drainer, which could never read it.
    const std::string_view view(data);
    auto intact_at = [&](std::size_t at) { return decode(view.substr(at)); };
    // The next offset after `from` where an intact frame starts (the magic plus a record that
    // checks out), or npos.
    auto next_intact = [&](std::size_t from) {
      for (std::size_t at = data.find(kMagic, from); at != std::string::npos;
           at = data.find(kMagic, at + 1)) {
        if (intact_at(at).status == DecodeStatus::kOk) return at;
      }
      return std::string::npos;
    };
    std::size_t pos = 0;
    std::size_t valid_end = 0;
    while (pos < data.size()) {
      auto d = intact_at(pos);
      if (d.status == DecodeStatus::kOk) {
        recovered.push_back({id, pos, static_cast<std::uint32_t>(d.frame_bytes)});
        ++report.records;
        pos += d.frame_bytes;
        valid_end = pos;
        continue;
      }
      std::size_t next = next_intact(pos + 1);
      if (d.status == DecodeStatus::kIncomplete && last && next == std::string::npos) {
        // A write cut short by a crash: it was never acknowledged (no fdatasync completed).
        // Only when nothing intact follows: a damaged length field also reads as "incomplete",
        // and the records after it were acknowledged.
        report.torn_tail_bytes += data.size() - pos;
        break;
      }
      // Damage: skip to the next frame that checks out.
      ++report.corrupt_regions;
      report.corrupt_bytes += (next == std::string::npos ? data.size() : next) - pos;
      if (next == std::string::npos) break;
      pos = next;
    }
    if (last && report.torn_tail_bytes > 0 && valid_end < data.size()) {
      if (::ftruncate(fd, static_cast<off_t>(valid_end)) != 0 || ::fdatasync(fd) != 0) {
        ::close(fd);
        return io_error("truncate " + path_of(id));
      }
      data.resize(valid_end);
    }
    sizes_[id] = data.size();
    bytes_ += data.size();
    read_fds_[id] = fd;
  }
  // New appends always go to a fresh segment: recovered files are only read and deleted.
  if (auto s = start_segment(ids.empty() ? 1 : ids.back() + 1); !s) return s.error();
  return report;
}

Status SegmentLog::start_segment(std::uint64_t id) {
  int fd = ::open(path_of(id).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("create " + path_of(id));
  int rfd = ::open(path_of(id).c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) {
    ::close(fd);
    return io_error("open " + path_of(id));
  }
  if (auto s = sync_dir(); !s) {
    ::close(fd);
    ::close(rfd);
    return s;
  }
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = fd;
  active_id_ = id;
  active_size_ = 0;
  sizes_[id] = 0;
  read_fds_[id] = rfd;
  return {};
}

Result<std::vector<RecordRef>> SegmentLog::append(const std::string& blob,
                                                  const std::vector<std::uint32_t>& frame_sizes) {
  if (active_size_ > 0 && active_size_ + blob.size() > segment_bytes_) {
    if (auto s = start_segment(active_id_ + 1); !s) return s.error();
  }
  std::size_t written = 0;
  std::optional<Error> failure;
  while (written < blob.size()) {
    ssize_t n = ::write(active_fd_, blob.data() + written, blob.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failure = io_error("write " + path_of(active_id_));
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (!failure && ::fdatasync(active_fd_) != 0) failure = io_error("fdatasync " + path_of(active_id_));
  // Whatever reached the file counts, failed or not: the offsets handed out for later appends
  // must match where they land.
  const std::uint64_t start = active_size_;
  active_size_ += written;
  sizes_[active_id_] = active_size_;
  bytes_ += written;
  if (failure) {
    // The segment may now end in a partial or unsynced frame (recovery sorts that out); none
    // of it is acknowledged. Later appends go to a fresh segment.
    (void)start_segment(active_id_ + 1);
    return *failure;
  }
  std::vector<RecordRef> refs;
  refs.reserve(frame_sizes.size());
  std::uint64_t offset = start;
  for (auto size : frame_sizes) {
    refs.push_back({active_id_, offset, size});
    offset += size;
  }
  return refs;
}

Result<kafka::OutgoingRecord> SegmentLog::read(const RecordRef& ref) {
  auto it = read_fds_.find(ref.segment);
  if (it == read_fds_.end()) return Error::internal(fmt::format("segment {} is gone", ref.segment));
  std::string frame;
  if (!read_all(it->second, ref.offset, ref.frame_bytes, frame)) {
    return io_error(fmt::format("read segment {} at {}", ref.segment, ref.offset));
  }
  auto d = decode(frame);
  if (d.status != DecodeStatus::kOk) {
    return Error::internal(fmt::format("segment {} at {}: record no longer checks out",
                                       ref.segment, ref.offset));
  }
  return std::move(d.record);
}

Status SegmentLog::remove(std::uint64_t segment) {
  if (segment == active_id_) return Error::invalid("the active segment cannot be removed");
  if (auto it = read_fds_.find(segment); it != read_fds_.end()) {
    ::close(it->second);
    read_fds_.erase(it);
  }
  if (::unlink(path_of(segment).c_str()) != 0 && errno != ENOENT) {
    return io_error("unlink " + path_of(segment));
  }
  bytes_ -= segment_size(segment);
  sizes_.erase(segment);
  return sync_dir();
}

}  // namespace wi::spool
