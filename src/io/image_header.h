// The size of an image read from its file header, before any pixel is decoded, so that a small file
// declaring a huge image (a decompression bomb) is refused before it allocates (issue 28), and the
// completeness of a JPEG's entropy-coded data (a truncated JPEG decodes "successfully", grey below the
// cut, with only libjpeg's own unnamed message on stderr).
#pragma once

#include <cstdint>
#include <string>

namespace unroll {

struct ImageHeader {
  std::string format;        ///< "png", "jpeg", "bmp", "tiff", "pnm", "webp"; "" when not recognised
  int64_t width = 0;         ///< 0 when the format was not recognised or its header was unreadable
  int64_t height = 0;
  bool jpeg_truncated = false;  ///< JPEG only: the file ends before its end-of-image marker
};

/// Reads the header of the image file at `path` (PNG, JPEG, BMP, TIFF, PNM and WebP are recognised;
/// other formats give an empty header). Never throws for malformed content: the decoder reports that.
ImageHeader read_image_header(const std::string& path);

/// The same from bytes in memory (the file's beginning, or all of it for the JPEG truncation check).
ImageHeader parse_image_header(const unsigned char* data, size_t size);

}  // namespace unroll
