#include "core/zip_directory.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace unroll {
namespace {

uint64_t le(const unsigned char* p, int len) {
  uint64_t v = 0;
  for (int i = len - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::vector<unsigned char> read_at(std::istream& in, uint64_t offset, uint64_t len, const std::string& what) {
  std::vector<unsigned char> out(len);
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(len));
  UNROLL_CHECK(static_cast<uint64_t>(in.gcount()) == len, what, ": truncated zip archive (cannot read ", len,
               " bytes at offset ", offset, ")");
  return out;
}

}  // namespace

std::vector<ZipEntry> read_zip_directory(std::istream& in, uint64_t size, const std::string& what, size_t max_entries) {
  // End of central directory: 22 bytes plus a comment of up to 65535, at the end of the file.
  const uint64_t tail_len = std::min<uint64_t>(size, 22 + 65535);
  const auto tail = read_at(in, size - tail_len, tail_len, what);
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i)
    if (le(&tail[i], 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  UNROLL_CHECK(eocd >= 0, what, ": not a zip archive (no end-of-directory record: corrupt, truncated or another format)");
  const unsigned char* e = &tail[eocd];
  uint64_t entries = le(e + 10, 2), dir_size = le(e + 12, 4), dir_offset = le(e + 16, 4);
  if (entries == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF) {
    // zip64: a locator (20 bytes) just before the record points at the zip64 end-of-directory record.
    const uint64_t eocd_pos = size - tail_len + static_cast<uint64_t>(eocd);
    UNROLL_CHECK(eocd_pos >= 20, what, ": corrupt zip64 archive (no locator)");
    const auto loc = read_at(in, eocd_pos - 20, 20, what);
    UNROLL_CHECK(le(loc.data(), 4) == 0x07064b50, what, ": corrupt zip64 archive (no locator)");
    const uint64_t rec_pos = le(loc.data() + 8, 8);
    UNROLL_CHECK(rec_pos <= size && size - rec_pos >= 56, what, ": corrupt zip64 archive (record out of the file)");
    const auto rec = read_at(in, rec_pos, 56, what);
    UNROLL_CHECK(le(rec.data(), 4) == 0x06064b50, what, ": corrupt zip64 archive (bad end-of-directory record)");
    entries = le(rec.data() + 32, 8);
    dir_size = le(rec.data() + 40, 8);
    dir_offset = le(rec.data() + 48, 8);
  }
  UNROLL_CHECK(entries <= max_entries, what, ": the zip directory declares ", entries, " entries (more than ",
               max_entries, ")");
  UNROLL_CHECK(dir_offset <= size && dir_size <= size - dir_offset, what,
               ": corrupt zip archive (the directory lies outside the file)");
  const auto dir = read_at(in, dir_offset, dir_size, what);
  std::vector<ZipEntry> out;
  out.reserve(entries);
  size_t at = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    UNROLL_CHECK(dir.size() - at >= 46 && le(&dir[at], 4) == 0x02014b50, what, ": corrupt zip directory (entry ", i,
                 ")");
    const unsigned char* h = &dir[at];
    ZipEntry z;
    z.method = static_cast<uint16_t>(le(h + 10, 2));
    z.crc32 = static_cast<uint32_t>(le(h + 16, 4));
    z.compressed = le(h + 20, 4);
    z.uncompressed = le(h + 24, 4);
    const size_t name_len = le(h + 28, 2), extra_len = le(h + 30, 2), comment_len = le(h + 32, 2);
    UNROLL_CHECK(dir.size() - at - 46 >= name_len + extra_len + comment_len, what, ": corrupt zip directory (entry ",
                 i, ")");
    z.name.assign(reinterpret_cast<const char*>(h + 46), name_len);
    // zip64 extra field (id 1): the 64-bit sizes, present only for the fields saturated at 0xFFFFFFFF.
    const unsigned char* x = h + 46 + name_len;
    for (size_t j = 0; j + 4 <= extra_len;) {
      const uint64_t id = le(x + j, 2), len = le(x + j + 2, 2);
      if (j + 4 + len > extra_len) break;
      if (id == 1) {
        size_t k = j + 4;
        if (z.uncompressed == 0xFFFFFFFF && k + 8 <= j + 4 + len) z.uncompressed = le(x + k, 8), k += 8;
        if (z.compressed == 0xFFFFFFFF && k + 8 <= j + 4 + len) z.compressed = le(x + k, 8);
      }
      j += 4 + len;
    }
    out.push_back(std::move(z));
    at += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

uint32_t crc32_of(const void* data, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace unroll
