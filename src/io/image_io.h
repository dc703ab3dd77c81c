// Image and kernel files (OpenCV codecs): PNG, JPEG, TIFF, BMP, ... 8- and 16-bit (and float TIFF),
// grey, RGB or RGBA. Images come back as float32 [1,C,H,W] in [0,1] in R,G,B order (C = 1 or 3).
#pragma once

#include <torch/torch.h>

#include <string>

namespace unroll {

struct ImageReadOptions {
  bool grey = false;  ///< convert colour images to one luminance channel
  bool rgb = false;   ///< expand grey images to 3 channels
};

/// Reads an image file. Errors (missing, unreadable, corrupt, truncated) name the file. An alpha
/// channel is dropped with a warning.
torch::Tensor read_image(const std::string& path, const ImageReadOptions& options = {});

/// Writes [C,H,W] or [1,C,H,W] (C = 1 or 3) atomically. `bits` is 8 or 16 (values clipped to [0,1] and
/// rounded; 16 needs PNG or TIFF), or 32: float32 TIFF holding the values as they are (read back
/// unchanged by read_image).
void write_image(const std::string& path, const torch::Tensor& image, int bits = 8);

/// What write_image will refuse, checked before any work: an empty name, a folder, an extension no
/// encoder knows (.png, .jpg, .tif, .bmp, .webp, .ppm, ...), a bit depth the format cannot hold, a folder
/// that cannot be created. `flag` names the option in the error ("--output").
void check_image_output(const std::string& path, int bits, const std::string& flag);

/// Reads a kernel: text files (.csv, .txt, .dat, .asc) exactly, anything else as an image (grey,
/// normalised to sum 1). Returns float64 [kh,kw].
torch::Tensor read_kernel(const std::string& path);

/// Writes a kernel for viewing: scaled so its maximum is white, 16-bit PNG.
void write_kernel_image(const std::string& path, const torch::Tensor& kernel);

}  // namespace unroll
