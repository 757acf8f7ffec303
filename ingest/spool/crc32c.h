#pragma once
// CRC-32C (Castagnoli), the checksum of every spooled record: catches torn writes and flipped
// bits. Table-driven, slicing by 8 (about 1-2 GB/s), no CPU-specific instructions.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wi::spool {

std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

}  // namespace wi::spool
