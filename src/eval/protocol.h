// Evaluation protocols: how a test case (sharp, kernel, degraded input) is made and scored.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace unroll {

struct EvalCase {
  std::string name;      ///< "<image>_<kernel>"
  torch::Tensor sharp;   ///< [1,C,H,W]
  torch::Tensor kernel;  ///< [kh,kw] float64
  torch::Tensor blurred; ///< [1,C,H,W], unclipped float
  double sigma = 0.0;    ///< noise level on [0,1]
};

/// The DPIR deblurring protocol (Zhang et al., "Plug-and-Play Image Restoration with Deep Denoiser
/// Prior", TPAMI 2021): every image of `images_dir` (modcrop to a multiple of 8) x every kernel file of
/// `kernels_dir` (.csv preferred, else images), circular blur (true convolution, centre kh/2), Gaussian
/// noise sigma drawn with seed `seed` for every pair, result kept unclipped in float. Scored by PSNR on
/// 8-bit RGB without border crop (dpir_psnr). Unroll's noise generator differs from numpy's, so peers'
/// figures are a reference, not a bit-exact target.
std::vector<EvalCase> dpir_protocol_cases(const std::string& images_dir, const std::string& kernels_dir,
                                          double sigma, uint64_t seed = 0);

/// PSNR as the DPIR protocol scores it: round(clip(x,0,1)*255) vs the 8-bit ground truth, no border.
double dpir_psnr(const torch::Tensor& restored, const torch::Tensor& sharp);

/// Sorted image files (png/jpg/jpeg/tif/tiff/bmp) of a folder; throws if the folder is missing or empty.
std::vector<std::string> list_images(const std::string& dir);

/// Sorted kernel files of a folder: the .csv files if any, else the images.
std::vector<std::string> list_kernels(const std::string& dir);

}  // namespace unroll
