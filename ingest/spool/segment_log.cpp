#include "ingest/spool/segment_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

namespace wi::spool {

namespace {

constexpr const char* kKeyFile = "spool.key";
constexpr std::size_t kKeyBytes = 16;

// A full disk is a local bound, like a full spool: kResourceExhausted (503, not ready).
Error io_error(const std::string& what) {
  const bool out_of_space = errno == ENOSPC || errno == EDQUOT;
  return Error{out_of_space ? ErrorCode::kResourceExhausted : ErrorCode::kUnavailable,
               fmt::format("{}: {}", what, std::strerror(errno)), true};
}

bool write_all(const DiskOps& disk, int fd, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = disk.write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
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

DiskOps DiskOps::system() {
  DiskOps ops;
  ops.write = [](int fd, const void* data, std::size_t n) { return ::write(fd, data, n); };
  ops.free_bytes = [](const std::string& dir) -> std::optional<std::uint64_t> {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  };
  return ops;
}

SegmentLog::SegmentLog(std::string dir, std::uint64_t segment_bytes, DiskOps disk)
    : dir_(std::move(dir)), segment_bytes_(segment_bytes), disk_(std::move(disk)) {}

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

Status SegmentLog::sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("fsync " + dir);
  return {};
}

Status SegmentLog::load_or_create_key(std::uint64_t first_new_segment) {
  const std::string path = dir_ + "/" + kKeyFile;
  std::string bytes;
  if (int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    struct stat st {};
    const bool ok = ::fstat(fd, &st) == 0 && static_cast<std::size_t>(st.st_size) == kKeyBytes + 8 &&
                    read_all(fd, 0, kKeyBytes + 8, bytes);
    ::close(fd);
    // Without its key no keyed frame can be verified: refuse to start rather than call every
    // stored record damage.
    if (!ok) return Error::internal(fmt::format("spool key {} is damaged; restore it", path));
  } else {
    if (errno != ENOENT) return io_error("open " + path);
    // A new spool, or one written before keys: its segments stay unkeyed, new ones are keyed.
    bytes.resize(kKeyBytes);
    if (::getrandom(bytes.data(), kKeyBytes, 0) != static_cast<ssize_t>(kKeyBytes)) {
      return io_error("getrandom");
    }
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((first_new_segment >> (8 * i)) & 0xFF));
    const std::string tmp = path + ".tmp";
    int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) return io_error("create " + tmp);
    const bool ok = write_all(disk_, out, bytes) && ::fsync(out) == 0;
    ::close(out);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) return io_error("write " + path);
    if (auto s = sync_dir(dir_); !s) return s;
  }
  key_ = FrameKey(std::string_view(bytes).substr(0, kKeyBytes));
  first_keyed_segment_ = 0;
  for (int i = 0; i < 8; ++i) {
    first_keyed_segment_ |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[kKeyBytes + i]))
                            << (8 * i);
  }
  return {};
}

Result<Recovered> SegmentLog::open() {
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
  if (auto s = load_or_create_key(ids.empty() ? 1 : ids.back() + 1); !s) return s.error();
  Recovered recovered;
  RecoveryReport& report = recovered.report;
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
    // otherwise be handed to the drainer, which could never read it. The keyed checksum is
    // what keeps a frame-shaped webhook body inside damage from counting.
    const std::string_view view(data);
    const FrameKey& key = key_of(id);
    auto intact_at = [&](std::size_t at) { return decode(view.substr(at), key); };
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
        recovered.records.push_back({id, pos, static_cast<std::uint32_t>(d.frame_bytes)});
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
  return recovered;
}

Status SegmentLog::start_segment(std::uint64_t id) {
  int fd = ::open(path_of(id).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("create " + path_of(id));
  int rfd = ::open(path_of(id).c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) {
    ::close(fd);
    return io_error("open " + path_of(id));
  }
  if (auto s = sync_dir(dir_); !s) {
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
    ssize_t n = disk_.write(active_fd_, blob.data() + written, blob.size() - written);
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
  auto d = decode(frame, key_of(ref.segment));
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
  return sync_dir(dir_);
}

Result<std::string> SegmentLog::keep_rejected(const RecordRef& ref,
                                              const kafka::OutgoingRecord& record) {
  const std::string rejected_dir = dir_ + "/rejected";
  std::error_code ec;
  std::filesystem::create_directories(rejected_dir, ec);
  if (ec) return Error::unavailable(fmt::format("{}: {}", rejected_dir, ec.message()));
  const std::string path = fmt::format("{}/{:020}-{:020}.record", rejected_dir, ref.segment, ref.offset);
  const std::string tmp = path + ".tmp";
  std::string frame;
  encode(record, unkeyed_, frame);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("create " + tmp);
  const bool ok = write_all(disk_, fd, frame) && ::fdatasync(fd) == 0;
  auto failure = ok ? Error{} : io_error("write " + tmp);
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return failure;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("rename " + tmp);
  if (auto s = sync_dir(rejected_dir); !s) return s.error();
  if (auto s = sync_dir(dir_); !s) return s.error();  // the rejected/ entry itself
  return path;
}

}  // namespace wi::spool
