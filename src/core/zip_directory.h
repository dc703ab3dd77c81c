// The central directory of a zip archive, read without decompressing anything: what a checkpoint
// declares before LibTorch's reader (miniz) is asked for any record. LibTorch's build of miniz checks
// neither CRC-32 nor the decompressed size against the file, so a bit-flipped checkpoint loads and a
// 400 KB file can expand to 400 MB; checkpoint.cpp uses this directory to refuse both (issue 28).
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace unroll {

struct ZipEntry {
  std::string name;            ///< full name inside the archive ("archive/data.pkl")
  uint16_t method = 0;         ///< 0 = stored, 8 = deflate, ...
  uint64_t compressed = 0;     ///< bytes in the file
  uint64_t uncompressed = 0;   ///< bytes once decompressed
  uint32_t crc32 = 0;          ///< CRC-32 of the uncompressed bytes
};

/// Reads the central directory of the zip archive in `in` (`size` bytes long; zip64 included).
/// Throws unroll::Error naming `what` when the end-of-directory record or an entry is malformed, or
/// when the directory declares more than `max_entries` entries.
std::vector<ZipEntry> read_zip_directory(std::istream& in, uint64_t size, const std::string& what,
                                         size_t max_entries = 1'000'000);

/// CRC-32 (the zip / PNG polynomial 0xEDB88320) of `n` bytes.
uint32_t crc32_of(const void* data, size_t n);

}  // namespace unroll
