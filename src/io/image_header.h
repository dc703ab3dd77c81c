// The size of an image read from its file header, before any pixel is decoded, so that a small file
// declaring a huge image (a decompression bomb) is refused before it allocates (issue 28), and the
// completeness of a JPEG's entropy-coded data (a truncated JPEG decodes "successfully", grey below the
// cut, with only libjpeg's own unnamed message on stderr) and the chunk CRCs of a PNG.
#pragma once

#include <cstdint>
#include <string>

namespace unroll {

struct ImageHeader {
  std::string format;        ///< "png", "jpeg", "bmp", "tiff", "pnm", "webp"; "" when not recognised
  int64_t width = 0;         ///< 0 when the format was not recognised or its header was unreadable
  int64_t height = 0;
  bool jpeg_truncated = false;  ///< JPEG only: the file ends before its end-of-image marker
  /// PNG and JPEG (whole files): "" when nothing is wrong; else what is, for the reader's one error line
  /// (libpng / libjpeg would print their own message and OpenCV return nothing). PNG: a chunk cut short or
  /// failing its CRC-32, no IEND, an impossible IHDR, less image data than deflate could expand to the
  /// declared size. JPEG: the file ends before a frame and a scan began.
  std::string damage;
};

/// Reads the header of the image file at `path` (PNG, JPEG, BMP, TIFF, PNM and WebP are recognised;
/// other formats give an empty header). Never throws for malformed content: the decoder reports that.
ImageHeader read_image_header(const std::string& path);

/// The same from bytes in memory: the whole file (`whole_file`: the JPEG truncation and PNG chunk
/// checks), or its beginning (the size only).
ImageHeader parse_image_header(const unsigned char* data, size_t size, bool whole_file = true);

}  // namespace unroll
