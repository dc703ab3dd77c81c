// Image quality metrics. Inputs are [N,C,H,W] (or [C,H,W], [H,W]) in [0,1] unless data_range says
// otherwise. Values are averaged over the batch.
#pragma once

#include <torch/torch.h>

namespace unroll {

struct PsnrOptions {
  double data_range = 1.0;  ///< peak value
  int64_t border = 0;       ///< pixels cropped from every side before measuring
  bool y_channel = false;   ///< measure on ITU-R BT.601 luma (RGB input) instead of all channels
  bool round_8bit = false;  ///< quantise both images to 8 bit (round(clip(x,0,1)*255)) first (DPIR protocol)
};

struct SsimOptions {
  double data_range = 1.0;
  int64_t border = 0;
  bool y_channel = false;
  bool round_8bit = false;
  int64_t window = 11;  ///< Gaussian window side
  double sigma = 1.5;   ///< Gaussian window sigma
  double k1 = 0.01, k2 = 0.03;
};

/// Mean squared error over all elements (per-sample values averaged).
double mse(const torch::Tensor& x, const torch::Tensor& ref);

/// PSNR in dB, computed per sample and averaged. Identical images give +inf.
double psnr(const torch::Tensor& x, const torch::Tensor& ref, const PsnrOptions& options = {});

/// Per-sample PSNR, [N].
torch::Tensor psnr_per_sample(const torch::Tensor& x, const torch::Tensor& ref, const PsnrOptions& options = {});

/// SSIM of Wang et al. 2004 with a Gaussian window (11x11, sigma 1.5, K1 0.01, K2 0.03), population
/// covariances, mean over the valid windows of every channel and sample -- the same number as
/// skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False).
/// Differentiable: returns a 0-dim tensor that carries gradients.
torch::Tensor ssim(const torch::Tensor& x, const torch::Tensor& ref, const SsimOptions& options = {});

/// Per-sample SSIM, [N] (differentiable).
torch::Tensor ssim_per_sample(const torch::Tensor& x, const torch::Tensor& ref, const SsimOptions& options = {});

/// The local SSIM values behind ssim(): [N,C,H-window+1,W-window+1] (after the border crop), one per
/// window position lying wholly inside the image -- position (i,j) is the window centred on pixel
/// (i + window/2, j + window/2). skimage's `full=True` map cropped by window/2 on every side is the
/// same array; masked evaluations (eval/aligned_metrics.h) weight it. Differentiable.
torch::Tensor ssim_map(const torch::Tensor& x, const torch::Tensor& ref, const SsimOptions& options = {});

/// The seed-000 combined score: 100 * (PSNR/33 + SSIM) / 2.
double combined_score(double psnr_db, double ssim_value);

/// ITU-R BT.601 luma of an RGB [N,3,H,W] image in [0,1] (MATLAB rgb2ycbcr's Y, rescaled to [0,1]).
torch::Tensor rgb_to_y(const torch::Tensor& rgb);

/// Levin et al. 2009's comparison up to a shift ("Understanding and evaluating blind deconvolution
/// algorithms", CVPR 2009): a blind estimate is only defined up to a translation, so `x` is compared with
/// `ref` at every sub-pixel shift and the best is kept.
struct ShiftAlignedOptions {
  int64_t crop = 15;       ///< pixels cropped from every side of `ref` (>= 0)
  double max_shift = 5.0;  ///< shifts searched in [-max_shift, max_shift] on each axis (< crop + 1)
  double step = 0.25;      ///< shift step in pixels (> 0); x is sampled bilinearly at fractional shifts
  void validate() const;
};

struct ShiftAlignedError {
  double ssd = 0;      ///< min over shifts of sum((x(p + shift) - ref(p))^2) over ref's cropped window, all channels
  double shift_y = 0;  ///< the best shift (rows, columns) in pixels: x(p + shift) matches ref(p)
  double shift_x = 0;
};

/// x(p + shift) over ref's cropped window ([N,C,H-2crop,W-2crop]), bilinear at fractional shifts, positions
/// beyond the image clamped to the edge: the window shift_aligned_ssd compares with ref's.
torch::Tensor shifted_window(const torch::Tensor& x, double shift_y, double shift_x, int64_t crop);

/// Minimum SSD of `x` against `ref` ([N,C,H,W], [C,H,W] or [H,W], same shape, N = 1) over shifts.
ShiftAlignedError shift_aligned_ssd(const torch::Tensor& x, const torch::Tensor& ref,
                                    const ShiftAlignedOptions& options = {});

/// Levin et al.'s error ratio: shift-aligned SSD of the result with the estimated kernel over that of
/// the same method's result with the true kernel (1 = as good as knowing the kernel; Levin's success
/// threshold is 3). A perfect reference result (SSD 0) gives +inf unless both are 0 (then 1).
double shift_aligned_error_ratio(const torch::Tensor& with_estimate, const torch::Tensor& with_true_kernel,
                                 const torch::Tensor& ref, const ShiftAlignedOptions& options = {});

}  // namespace unroll
