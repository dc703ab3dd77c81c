// Fuzz target: image files through io/image_io.h (OpenCV's codecs pick the format from the content),
// read as an image and as a kernel image. The first byte picks the file's extension, which only
// read_kernel looks at (.csv is its text path, covered by fuzz_kernel_text).
#include "fuzz_util.h"
#include "io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kExtensions[] = {".png", ".jpg", ".tif", ".bmp", ".pgm", ".webp", ".hdr", ".exr"};
  const std::string ext = kExtensions[data[0] % (sizeof kExtensions / sizeof *kExtensions)];
  const std::string path = unroll::fuzz::write_scratch("image" + ext, data + 1, size - 1);
  unroll::fuzz::expect_errors_only([&] { unroll::read_image(path); });
  unroll::fuzz::expect_errors_only([&] { unroll::read_kernel(path); });
  return 0;
}
