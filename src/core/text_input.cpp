#include "core/text_input.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/error.h"

namespace unroll {

std::string read_bounded_text(std::istream& in, int64_t max_bytes, const std::string& source, const char* kind) {
  std::string text;
  std::vector<char> buffer(64 * 1024);
  while (in && static_cast<int64_t>(text.size()) <= max_bytes) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    text.append(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  UNROLL_CHECK(in.eof() || static_cast<int64_t>(text.size()) > max_bytes, source, ": cannot read");
  UNROLL_CHECK(static_cast<int64_t>(text.size()) <= max_bytes, source, ": larger than ", max_bytes,
               " bytes, too large for ", kind);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // a UTF-8 byte-order mark
  return text;
}

std::string read_text_file(const std::string& path, int64_t max_bytes, const char* kind) {
  std::error_code ec;
  UNROLL_CHECK(std::filesystem::exists(path, ec), path, ": no such file");
  UNROLL_CHECK(std::filesystem::is_regular_file(path, ec), path, ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  UNROLL_CHECK(in.good(), path, ": cannot open");
  return read_bounded_text(in, max_bytes, path, kind);
}

std::string printable(const std::string& s, size_t max_chars) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace unroll
