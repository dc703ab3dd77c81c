// Evaluation protocols: how a test case (sharp, kernel, degraded input) is made and scored.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "datasets/pair_dataset.h"

namespace unroll {

/// How a restored image is scored against its ground truth. Every metric reports PSNR (dB, peak 1)
/// and SSIM (core/metrics.h: Gaussian 11x11, sigma 1.5, population covariances, all channels,
/// no border crop); the combined score is core/metrics.h combined_score (the seeds' 100*(PSNR/33+SSIM)/2).
enum class Metric {
  /// GoPro / REDS / synthetic: full image, RGB, float: the restored image clamped to [0,1], the
  /// ground truth as read, no alignment, no border crop (what MIMO-UNet / ConvIR / NAFNet report).
  Full,
  /// As Full, both images rounded to 8 bit first (round(clip(x,0,1)*255)): the DPIR protocol's
  /// scoring (dpir_psnr) and the variant for results saved as 8-bit PNG.
  Full8,
  /// RSBlur's official evaluation (eval/aligned_metrics.h): intensity scaling, ECC homography,
  /// masked PSNR/SSIM, aligned images clipped to [0,1].
  RSBlur,
  /// RealBlur's official evaluation: as RSBlur without the clipping.
  RealBlur,
  /// Blind deblurring (Levin et al., CVPR 2009: a blind estimate is only defined up to a shift): both
  /// images rounded to 8 bit, 15 px cropped from the ground truth, the restored image compared at the
  /// best shift within +-5 px in 0.25 px steps (bilinear; core/metrics.h shift_aligned_ssd); PSNR and
  /// SSIM over that window.
  ShiftAligned,
};

/// "full", "full8", "rsblur", "realblur", "shift-aligned"; anything else throws naming the accepted values.
Metric parse_metric(const std::string& name);
std::string metric_name(Metric metric);

struct ImageScores {
  double psnr = 0;
  double ssim = 0;
  double score = 0;  ///< combined_score(psnr, ssim)
};

/// Scores `restored` against `sharp` ([1,C,H,W], the same size) under `metric`.
ImageScores score_image(const torch::Tensor& restored, const torch::Tensor& sharp, Metric metric);

/// The DPIR protocol's cases (below) computed one at a time: pair i is image i / K with kernel i % K
/// (K kernels). Images are read on demand; blurred images are float64, unclipped.
class DpirProtocolDataset : public PairDataset {
 public:
  DpirProtocolDataset(const std::string& images_dir, const std::string& kernels_dir, double sigma, uint64_t seed = 0);
  int64_t size() const override;
  ImagePair get(int64_t index) const override;
  std::string name(int64_t index) const override;

 private:
  std::vector<std::string> images_, kernel_files_;
  std::vector<torch::Tensor> kernels_;
  double sigma_;
  uint64_t seed_;
};

/// The blind synthetic protocol (docs/blind.md): each image of `images_dir` (modcrop 8) x each kernel of
/// `kernels_dir`, blurred linearly (not circularly) -- the scene reflect-extended by the kernel's half
/// size, convolved, and only the pixels whose whole kernel lies in the extended scene kept, so the
/// blurred image has the sharp one's size --, Gaussian noise `sigma` (seed `seed`) and 8-bit
/// quantisation, as a photograph. The true kernel comes with each pair (for the error ratio).
class BlindProtocolDataset : public PairDataset {
 public:
  BlindProtocolDataset(const std::string& images_dir, const std::string& kernels_dir, double sigma, uint64_t seed = 0);
  int64_t size() const override;
  ImagePair get(int64_t index) const override;
  std::string name(int64_t index) const override;

 private:
  std::vector<std::string> images_, kernel_files_;
  std::vector<torch::Tensor> kernels_;
  double sigma_;
  uint64_t seed_;
};

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
