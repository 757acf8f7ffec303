#pragma once
// Helpers shared by the spool unit tests (tests/unit/spool_*_test.cpp): a scratch directory,
// distinctive records, raw file access for damaging spool files on purpose.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/kafka/record.h"
#include "tests/support/spool_files.h"

namespace wi::spool::testing {

using wi::testing::read_file;
using wi::testing::segment_files;
using wi::testing::write_file;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string base = std::filesystem::temp_directory_path().string() + "/wi-spool-unit-XXXXXX";
    if (::mkdtemp(base.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = base;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  // A subdirectory that does not exist yet (the spool must create it).
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Every byte value, the magic and NULs inside: what a binary webhook body can hold.
inline std::string binary_value(std::size_t n, unsigned seed) {
  std::string v(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : v) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  if (n >= 8) v.replace(n / 2, 4, "WISP");
  return v;
}

// Record `i`: distinct topic suffix, key, headers and value, so a mix-up shows.
inline kafka::OutgoingRecord make_record(int i, std::size_t value_bytes = 100) {
  kafka::OutgoingRecord r;
  r.topic = "webhooks.t" + std::to_string(i % 3);
  if (i % 4 != 3) r.key = "key-" + std::to_string(i % 5);
  r.headers = {{"event-id", "ev-" + std::to_string(i)}, {"source", "github"}};
  r.value = binary_value(value_bytes, static_cast<unsigned>(i));
  return r;
}

inline void expect_same_record(const kafka::OutgoingRecord& got, const kafka::OutgoingRecord& want) {
  EXPECT_EQ(got.topic, want.topic);
  EXPECT_EQ(got.key, want.key);
  EXPECT_EQ(got.headers, want.headers);
  EXPECT_TRUE(got.value == want.value) << "values differ (" << got.value.size() << " vs "
                                       << want.value.size() << " bytes)";
}

inline const std::string* event_id(const kafka::OutgoingRecord& r) {
  return kafka::find_header(r.headers, "event-id");
}


inline std::uint64_t total_bytes(const std::vector<std::string>& files) {
  std::uint64_t n = 0;
  for (const auto& f : files) n += std::filesystem::file_size(f);
  return n;
}

}  // namespace wi::spool::testing
