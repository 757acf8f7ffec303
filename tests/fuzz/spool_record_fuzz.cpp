// libFuzzer harness for the spool's record reader and recovery (ingest/spool/):
//   decode()  — arbitrary bytes as a frame: a frame that decodes re-encodes to the same bytes,
//               and check() agrees with it on the extent;
//   recovery  — arbitrary bytes as a segment file: SegmentLog::open() never crashes, every
//               record it reports reads back, and what it counts adds up to the file.

#include <fuzzer/FuzzedDataProvider.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "ingest/spool/record_codec.h"
#include "ingest/spool/segment_log.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace wi::spool;

// One scratch directory per process, emptied before each input and removed at exit. Its key
// file says "keyed from segment 2^64-1", so the fuzzed segment is read unkeyed: seeds can be
// plain frames.
struct ScratchDir {
  ScratchDir() {
    path = std::filesystem::temp_directory_path().string() + "/wi-spool-fuzz-XXXXXX";
    FUZZ_CHECK(::mkdtemp(path.data()) != nullptr);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

const std::string& scratch() {
  static const ScratchDir dir;
  return dir.path;
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void check_frame(std::string_view bytes, const FrameKey& key) {
  const Decoded d = decode(bytes, key);
  const Decoded c = check(bytes, key);
  if (d.status == DecodeStatus::kOk) {
    FUZZ_CHECK(c.status == DecodeStatus::kOk && c.frame_bytes == d.frame_bytes);
    std::string again;
    encode(d.record, key, again);
    FUZZ_CHECK(again == bytes.substr(0, d.frame_bytes));
  }
  if (c.status != DecodeStatus::kOk) FUZZ_CHECK(d.status == c.status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_frame(bytes, FrameKey());
  check_frame(bytes, FrameKey("fuzz key"));

  const std::string& dir = scratch();
  for (const auto& e : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(e.path());
  write_file(dir + "/spool.key", std::string(16, 'k') + std::string(8, '\xff'));
  write_file(dir + "/00000000000000000001.spool", bytes);
  SegmentLog log(dir, 1 << 20);
  auto opened = log.open();
  FUZZ_CHECK(opened.ok());
  const RecoveryReport& report = opened->report;
  FUZZ_CHECK(report.records == opened->records.size());
  std::uint64_t record_bytes = 0;
  for (const auto& ref : opened->records) {
    auto record = log.read(ref);
    FUZZ_CHECK(record.ok());
    record_bytes += ref.frame_bytes;
  }
  FUZZ_CHECK(record_bytes + report.corrupt_bytes + report.torn_tail_bytes == size);
  return 0;
}
