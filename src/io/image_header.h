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
  /// PNG only: "" when every chunk is whole, its CRC-32 matches and IEND ends the file; else what is
  /// wrong ("chunk 'IDAT' at byte 57 fails its CRC-32 check"). libpng would print its own message and
  /// OpenCV return nothing, so the reader refuses the file with this one.
  std::string png_damage;
};

/// Reads the header of the image file at `path` (PNG, JPEG, BMP, TIFF, PNM and WebP are recognised;
/// other formats give an empty header). Never throws for malformed content: the decoder reports that.
ImageHeader read_image_header(const std::string& path);

/// The same from bytes in memory: the whole file (`whole_file`: the JPEG truncation and PNG chunk
/// checks), or its beginning (the size only).
ImageHeader parse_image_header(const unsigned char* data, size_t size, bool whole_file = true);

}  // namespace unroll
