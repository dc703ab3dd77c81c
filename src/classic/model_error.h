// How much worse an observation fits the kernel it is given than its pixel noise allows: the model error
// (a wrong or estimated kernel, a capture that is not one convolution) that a non-blind method should
// treat as extra noise.
//
// The cue is the residual of a quick TV-regularised fit with the given kernel: x = hqs_tv(y, k) at the
// noise-matched data weight, r = rms(k * x - y) away from the border. The fit leaves most of the pixel
// noise and, with a wrong kernel, also the part of y that no image blurred by that kernel explains. What
// a right kernel would leave is measured, not assumed: the same fit on k * x plus fresh noise of level
// sigma, an observation whose kernel is exact by construction (a parametric bootstrap). On the DPIR
// protocol's images (Set3C x Levin, 2.55/255) the two agree to within 4% for exact kernels, and the
// residual exceeds the baseline by 5-15% at 5% kernel perturbation, 10-30% at 10%, 15-45% at 20%.
// The excess, sqrt(max(0, r^2 - (tolerance x baseline)^2)), is the model error; model_error_sigma()
// turns it into the noise level a learned method is told.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "core/boundary.h"

namespace unroll {

struct ModelErrorOptions {
  /// How far above the exact-kernel baseline the residual must be before it counts (exact kernels
  /// measured up to 1.04 x the baseline on the DPIR protocol).
  double tolerance = 1.05;
  /// Larger images are measured on their central window of this side (the cue is a global statistic).
  int64_t max_side = 512;
  uint64_t seed = 0;  ///< the bootstrap's noise
  void validate() const;
};

struct ModelError {
  double residual = 0.0;  ///< rms of k * fit - observation over the measured window, [0,1] scale
  double baseline = 0.0;  ///< the same for the exact-kernel bootstrap observation
  double excess = 0.0;    ///< sqrt(max(0, residual^2 - (tolerance x baseline)^2)), [0,1] scale
  double sigma = 0.0;     ///< the pixel noise level it was measured at, [0,1] scale
  /// The HQS-TV fit with the kernel (noise-matched data weight), [N,C,H,W]: of the whole observation,
  /// or of its central window when `windowed`.
  torch::Tensor fit;
  bool windowed = false;
};

/// The model error of `blurred` ([N,C,H,W] / [C,H,W] / [H,W] in [0,1]) under `kernel` ([k,k] or one per
/// image, [N,1,k,k]) at pixel noise `sigma` ([0,1] scale): one figure for the whole batch. `boundary`
/// is the one the deconvolution uses; a window cut from a larger image is treated as a real photo
/// (Liu-Jia extension), since it does not wrap around. Costs two HQS-TV solves.
ModelError measure_model_error(const torch::Tensor& blurred, const torch::Tensor& kernel, double sigma,
                               Boundary boundary, const ModelErrorOptions& options = {});

/// The share of the HQS-TV fit (ModelError::fit) a learned method averages into its result: `hedge` x a
/// shape of the ratio residual / baseline. Exact kernels measured 0.95-1.03 (Set3C, Set12 and McMaster x
/// Levin at 2.55/255: median 0.97, 95% below 1.012), kernels perturbed by 5% 0.96-1.17. Below `start`
/// the kernel fits like an exact one (share 0). From `full` to `fall_from` it is slightly wrong, too
/// little for model_error_sigma to make a network cautious: a network trusts it fully and rings, where
/// the TV fit suppresses that ringing (full share; the best share of single cases there was 0.7-1). Above
/// `fall_from` the raised noise level has made the network cautious and the TV fit rings: the share falls
/// to `floor` x hedge at `fall_to` (best single-case shares 0.1-0.5). The exact kernels' ratios creep up
/// with the noise (median 0.964 at 0.5/255, 0.977 at 7.65, 0.988 at 12.75), so `start` and `full` move up
/// by `drift` per 1/255 of noise above `drift_from` (at most up to `fall_from`). Fitted on the
/// perturbed-kernel protocol (docs/blind.md).
struct HedgeShape {
  double start = 0.98, full = 1.0, fall_from = 1.04, fall_to = 1.24, floor = 0.5;
  double drift = 0.0017, drift_from = 2.55;
  void validate() const;
};
double hedge_share(const ModelError& error, double hedge, const HedgeShape& shape = {});

/// The noise level a method is told when it should absorb the model error too: sqrt(sigma^2 + (scale x
/// excess)^2). `scale` converts the fit's residual into the noise level the method needs: the TV fit
/// explains most of a wrong kernel's effect, so what it leaves is a small part of it (the shipped
/// unrolled network's scale is measured in docs/blind.md).
double model_error_sigma(double sigma, const ModelError& error, double scale);

}  // namespace unroll
