#include "io/image_header.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/error.h"
#include "core/text_input.h"
#include "core/zip_directory.h"

namespace unroll {
namespace {

// Bounds-checked little/big-endian reads; false when the bytes are not there.
struct Bytes {
  const unsigned char* p;
  size_t n;
  bool has(size_t at, size_t len) const { return at <= n && len <= n - at; }
  uint32_t be(size_t at, int len) const {
    uint32_t v = 0;
    for (int i = 0; i < len; ++i) v = (v << 8) | p[at + i];
    return v;
  }
  uint32_t le(size_t at, int len) const {
    uint32_t v = 0;
    for (int i = len - 1; i >= 0; --i) v = (v << 8) | p[at + i];
    return v;
  }
};

bool starts_with(const Bytes& b, const char* magic, size_t len, size_t at = 0) {
  return b.has(at, len) && std::memcmp(b.p + at, magic, len) == 0;
}

// Chunks: 4-byte length, 4-byte type, data, CRC-32 of type + data; IEND last.
void png(const Bytes& b, bool whole_file, ImageHeader& h) {
  h.format = "png";
  if (!b.has(16, 8) || !starts_with(b, "IHDR", 4, 12)) {
    h.damage = "no IHDR chunk after the signature";
    return;
  }
  h.width = b.be(16, 4);
  h.height = b.be(20, 4);
  if (!whole_file) return;
  // IHDR's fields as the PNG specification allows them (libpng prints its own message for others).
  const unsigned depth = b.p[24], colour = b.p[25];
  const int channels = colour == 0 ? 1 : colour == 2 ? 3 : colour == 3 ? 1 : colour == 4 ? 2 : colour == 6 ? 4 : 0;
  const bool depth_ok = colour == 0 ? (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)
                        : colour == 3 ? (depth == 1 || depth == 2 || depth == 4 || depth == 8)
                                      : (depth == 8 || depth == 16);
  if (h.width < 1 || h.height < 1 || h.width > 0x7FFFFFFF || h.height > 0x7FFFFFFF) {
    h.damage = detail::concat("IHDR declares a ", h.width, "x", h.height, " image");
    return;
  }
  if (channels == 0 || !depth_ok || b.p[26] != 0 || b.p[27] != 0 || b.p[28] > 1) {
    h.damage = detail::concat("IHDR holds an invalid format (colour type ", colour, ", bit depth ", depth, ")");
    return;
  }
  // Deflate packs at most 1032 bytes into one, so image data this short cannot hold the declared size.
  const double raw = static_cast<double>(h.height) * (1.0 + std::ceil(static_cast<double>(h.width) * channels * depth / 8.0));
  uint64_t idat = 0;
  size_t at = 8;
  while (true) {
    if (!b.has(at, 8)) {
      h.damage = "the file ends before its IEND chunk (truncated)";
      return;
    }
    const uint32_t len = b.be(at, 4);
    const std::string type(reinterpret_cast<const char*>(b.p + at + 4), 4);
    const std::string name = detail::concat("chunk '", printable(type), "' at byte ", at);
    if (len > 0x7FFFFFFFu) {
      h.damage = name + " declares a length over 2^31";
      return;
    }
    if (!b.has(at + 8, size_t{len} + 4)) {
      h.damage = name + " is cut short (truncated file)";
      return;
    }
    if (crc32_of(b.p + at + 4, size_t{len} + 4) != b.be(at + 8 + len, 4)) {
      h.damage = name + " fails its CRC-32 check (damaged file)";
      return;
    }
    at += size_t{len} + 12;
    if (type == "IDAT") idat += len;
    if (type == "IEND") {
      if (static_cast<double>(idat) * 1100.0 < raw)
        h.damage = detail::concat("its image data (", idat, " bytes) is too short for the ", h.width, "x", h.height,
                                  " pixels IHDR declares");
      return;
    }
  }
}

// Walks the marker segments; the size comes from the first start-of-frame. Entropy-coded data after a
// start-of-scan is skipped byte by byte (0xFF00 is a stuffed byte, 0xFFD0-D7 restart markers); the image
// is complete when an end-of-image marker is reached, truncated when the bytes run out first.
void jpeg(const Bytes& b, bool whole_file, ImageHeader& h) {
  h.format = "jpeg";
  size_t at = 2;
  bool frame = false, scan = false;
  while (true) {
    while (b.has(at, 1) && b.p[at] != 0xFF) ++at;       // garbage between segments: libjpeg skips it too
    while (b.has(at + 1, 1) && b.p[at + 1] == 0xFF) ++at;  // fill bytes
    if (!b.has(at, 2)) break;
    const unsigned marker = b.p[at + 1];
    at += 2;
    if (marker == 0xD9) {                                // end of image: complete, if it held a picture
      if (!(frame && scan)) h.damage = "the JPEG holds no image data (no frame and scan before its end)";
      return;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (!b.has(at, 2)) break;
    const uint32_t len = b.be(at, 2);
    if (len < 2) break;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof && !frame && b.has(at, 7)) {
      h.height = b.be(at + 3, 2);
      h.width = b.be(at + 5, 2);
      frame = true;
    }
    at += len;
    if (marker == 0xDA) {  // start of scan: skip the entropy-coded data up to the next real marker
      scan = true;
      while (b.has(at, 2) && !(b.p[at] == 0xFF && b.p[at + 1] != 0x00 && !(b.p[at + 1] >= 0xD0 && b.p[at + 1] <= 0xD7)))
        ++at;
    }
  }
  // Ran out of bytes: after a scan began, the picture is cut short (libjpeg fills the rest: a warning);
  // before, there is no picture at all (libjpeg would print its own message, then fail).
  if (whole_file && !(frame && scan)) h.damage = "the file ends before its image data (truncated JPEG)";
  h.jpeg_truncated = frame && scan && whole_file;
}

void bmp(const Bytes& b, ImageHeader& h) {
  h.format = "bmp";
  if (!b.has(14, 4)) return;
  const uint32_t dib = b.le(14, 4);
  if (dib == 12 && b.has(18, 4)) {
    h.width = b.le(18, 2);
    h.height = b.le(20, 2);
  } else if (dib >= 40 && b.has(18, 8)) {
    h.width = static_cast<int32_t>(b.le(18, 4));
    h.height = static_cast<int32_t>(b.le(22, 4));
    if (h.width < 0) h.width = -h.width;
    if (h.height < 0) h.height = -h.height;  // top-down bitmaps store a negative height
  }
}

void tiff(const Bytes& b, ImageHeader& h) {
  h.format = "tiff";
  const bool little = b.p[0] == 'I';
  auto rd = [&](size_t at, int len) { return little ? b.le(at, len) : b.be(at, len); };
  if (!b.has(4, 4)) return;
  const size_t ifd = rd(4, 4);
  if (!b.has(ifd, 2)) return;
  const uint32_t entries = rd(ifd, 2);
  for (uint32_t i = 0; i < entries; ++i) {
    const size_t e = ifd + 2 + size_t{12} * i;
    if (!b.has(e, 12)) return;
    const uint32_t tag = rd(e, 2), type = rd(e + 2, 2);
    const uint32_t value = type == 3 ? rd(e + 8, 2) : type == 4 ? rd(e + 8, 4) : 0;
    if (tag == 256) h.width = value;
    if (tag == 257) h.height = value;
  }
}

void pnm(const Bytes& b, ImageHeader& h) {
  h.format = "pnm";
  size_t at = 2;
  int64_t numbers[2] = {0, 0};
  for (int64_t& v : numbers) {
    while (b.has(at, 1)) {  // whitespace and comments
      if (b.p[at] == '#') {
        while (b.has(at, 1) && b.p[at] != '\n') ++at;
      } else if (std::strchr(" \t\r\n", b.p[at]) != nullptr) {
        ++at;
      } else {
        break;
      }
    }
    bool digits = false;
    while (b.has(at, 1) && b.p[at] >= '0' && b.p[at] <= '9' && v < (int64_t{1} << 40)) {
      v = v * 10 + (b.p[at++] - '0');
      digits = true;
    }
    if (!digits) return;
  }
  h.width = numbers[0];
  h.height = numbers[1];
}

void webp(const Bytes& b, ImageHeader& h) {
  h.format = "webp";
  if (starts_with(b, "VP8X", 4, 12) && b.has(24, 6)) {
    h.width = int64_t{b.le(24, 3)} + 1;
    h.height = int64_t{b.le(27, 3)} + 1;
  } else if (starts_with(b, "VP8L", 4, 12) && b.has(21, 4)) {
    const uint32_t bits = b.le(21, 4);
    h.width = (bits & 0x3FFF) + 1;
    h.height = ((bits >> 14) & 0x3FFF) + 1;
  } else if (starts_with(b, "VP8 ", 4, 12) && b.has(26, 4)) {
    h.width = b.le(26, 2) & 0x3FFF;
    h.height = b.le(28, 2) & 0x3FFF;
  }
}

}  // namespace

ImageHeader parse_image_header(const unsigned char* data, size_t size, bool whole_file) {
  const Bytes b{data, size};
  ImageHeader h;
  if (starts_with(b, "\x89PNG\r\n\x1a\n", 8)) {
    png(b, whole_file, h);
  } else if (b.has(0, 3) && b.p[0] == 0xFF && b.p[1] == 0xD8 && b.p[2] == 0xFF) {
    jpeg(b, whole_file, h);
  } else if (starts_with(b, "BM", 2)) {
    bmp(b, h);
  } else if (starts_with(b, "II*\0", 4) || starts_with(b, "MM\0*", 4)) {
    tiff(b, h);
  } else if (b.has(0, 2) && b.p[0] == 'P' && b.p[1] >= '1' && b.p[1] <= '7') {
    pnm(b, h);
  } else if (starts_with(b, "RIFF", 4) && starts_with(b, "WEBP", 4, 8)) {
    webp(b, h);
  }
  return h;
}

ImageHeader read_image_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  // JPEG and PNG need the whole file (a JPEG's end tells whether it was cut short, a PNG's chunks carry
  // CRCs); the other formats keep their
  // size in the first bytes (a TIFF's first directory is almost always within them; if not, the size
  // stays unknown and is checked after decoding).
  std::vector<unsigned char> head(64 * 1024);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  // (Files over 512 MiB skip the check rather than being read twice.)
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  const bool jpeg = head.size() >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
  const bool png = head.size() >= 8 && std::memcmp(head.data(), "\x89PNG\r\n\x1a\n", 8) == 0;
  if ((jpeg || png) && in && !ec && bytes <= (uintmax_t{512} << 20)) {
    head.insert(head.end(), std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return parse_image_header(head.data(), head.size(), in.eof());
}

}  // namespace unroll
