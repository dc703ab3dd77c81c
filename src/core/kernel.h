// Kernel (PSF) validation and text I/O. Image-file kernels are read by io/image_io.h.
#pragma once

#include <torch/torch.h>

#include <string>

namespace unroll {

/// Validates and normalises a kernel [kh,kw] (or [N,1,kh,kw]) to sum 1 per kernel. Non-finite
/// values, an empty kernel or a non-positive sum are errors; small negative values (above -1e-3 of
/// the maximum) are clipped to 0 with a warning; larger ones are errors. `source` names the origin
/// (file name) in messages.
torch::Tensor normalize_kernel(const torch::Tensor& k, const std::string& source);

/// Reads a kernel from a text file: rows of numbers separated by commas, spaces or tabs (CSV,
/// MATLAB dlmwrite, numpy.savetxt). Values are parsed exactly (float64) and normalised. Errors
/// name the file and line.
torch::Tensor read_kernel_text(const std::string& path);

/// Parses the same format from a string (`source` is used in error messages).
torch::Tensor parse_kernel_text(const std::string& text, const std::string& source);

/// Writes a [kh,kw] kernel as CSV with full float64 precision (atomically).
void write_kernel_text(const std::string& path, const torch::Tensor& k);

}  // namespace unroll
