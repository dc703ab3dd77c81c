// RSBlur / RealBlur-style evaluation: PSNR and SSIM after undoing a global intensity change and a
// small misalignment between the restored image and the ground truth, as real-blur datasets need
// (the two photographs of a pair come from different cameras or shots).
//
// The procedure is the one of the datasets' official evaluation scripts (Rim et al., "Real-World
// Blur Dataset for Learning and Benchmarking Deblurring Algorithms", ECCV 2020: RealBlur's
// evaluation_RealBlur_ecc.py; Rim et al., "Realistic Blur Synthesis for Learning Image Deblurring",
// ECCV 2022: RSBlur's evaluation/evaluate_RSBlur.py), itself based on Koehler et al.'s benchmark.
// For a restored image z and the sharp image x, RGB [0,1], H x W:
//  1. (quantize_input) both are rounded to 8 bit first: the official scripts score saved PNGs;
//  2. global intensity scaling  zs = (sum x*z / sum z*z) * z  (sums over every pixel and channel);
//  3. ECC alignment (Evangelidis & Psarakis 2008): cv::findTransformECC(template = grey(x), input =
//     grey(zs), initial warp = identity, MOTION_HOMOGRAPHY, COUNT|EPS criteria with 100 iterations and
//     eps 0, no mask, Gaussian filter size 5); grey = 0.299 R + 0.587 G + 0.114 B (cv::COLOR_RGB2GRAY);
//  4. inverse warp of zs onto x's grid: warpPerspective(INTER_CUBIC | WARP_INVERSE_MAP,
//     BORDER_REFLECT), and of an all-ones image with INTER_NEAREST, BORDER_CONSTANT 0: the validity
//     mask cr (1 where the warped pixel comes from inside the restored image); zr = zr * cr, xr = x * cr;
//  5. RSBlur only: zr and xr are clipped to [0,1] (RealBlur's script does not clip);
//  6. masked PSNR: 10 log10(1 / MSE), MSE = sum (xr - zr)^2 / sum cr (cr counted per channel);
//  7. masked SSIM: the SSIM map of (xr, zr) (core/metrics.h ssim_map: Gaussian 11x11, sigma 1.5,
//     population covariances, data range 1 -- skimage's gaussian_weights=True map cropped by the
//     5-pixel window radius), weighted by cr cropped by the same 5 pixels: per channel
//     sum(S * cr) / sum(cr), then the mean over channels.
// Computed in float32 where the scripts are (the images handed to OpenCV) and float64 otherwise, so
// values agree with the scripts to about 1e-3 dB (tests/eval/aligned_metrics_test.cpp checks this
// against a reimplementation with Python's cv2 and scikit-image when they are installed).
// Grey images skip the colour conversion. A failed ECC (OpenCV cannot converge, or images without
// texture) throws unroll::Error; the harness records it for that image.
#pragma once

#include <torch/torch.h>

namespace unroll {

struct AlignedMetricOptions {
  enum class Variant {
    RSBlur,   ///< evaluate_RSBlur.py: clip the aligned images to [0,1] before scoring
    RealBlur  ///< evaluation_RealBlur_ecc.py: no clipping
  };
  Variant variant = Variant::RSBlur;
  bool quantize_input = true;  ///< round both images to 8 bit first (what the scripts read from PNG)
  int iterations = 100;        ///< ECC iterations (> 0)
  int gauss_filter_size = 5;   ///< ECC Gaussian pre-filter (odd, >= 1)
  void validate() const;
};

struct AlignedScores {
  double psnr = 0;             ///< masked PSNR, dB
  double ssim = 0;             ///< masked SSIM
  double intensity_scale = 1;  ///< the factor of step 2
  double ecc = 0;              ///< the correlation coefficient findTransformECC reached
  double valid_fraction = 1;   ///< share of pixels inside the validity mask
  torch::Tensor warp;          ///< [3,3] float64 homography (maps x's grid into z's: zs(W p) ~ x(p))
};

/// Scores `restored` against `sharp` (both [1,C,H,W] or [C,H,W], C = 1 or 3, the same size, at least
/// 11 x 11). See the header comment for the steps.
AlignedScores aligned_scores(const torch::Tensor& restored, const torch::Tensor& sharp,
                             const AlignedMetricOptions& options = {});

/// PSNR (data range 1) over the elements where `mask` (same shape, 0/1) is 1: 10 log10(1 / (sum mask *
/// (x - ref)^2 / sum mask)). Throws when the mask is empty.
double masked_psnr(const torch::Tensor& x, const torch::Tensor& ref, const torch::Tensor& mask);

/// SSIM map of (x, ref) weighted by `mask` cropped by the window radius: per channel sum(S m) / sum(m),
/// averaged over channels (step 7 above). With an all-ones mask it equals core/metrics.h ssim().
double masked_ssim(const torch::Tensor& x, const torch::Tensor& ref, const torch::Tensor& mask);

}  // namespace unroll
