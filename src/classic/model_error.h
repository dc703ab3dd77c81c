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
};

/// The model error of `blurred` ([N,C,H,W] / [C,H,W] / [H,W] in [0,1]) under `kernel` ([k,k] or one per
/// image, [N,1,k,k]) at pixel noise `sigma` ([0,1] scale): one figure for the whole batch. `boundary`
/// is the one the deconvolution uses; a window cut from a larger image is treated as a real photo
/// (Liu-Jia extension), since it does not wrap around. Costs two HQS-TV solves.
ModelError measure_model_error(const torch::Tensor& blurred, const torch::Tensor& kernel, double sigma,
                               Boundary boundary, const ModelErrorOptions& options = {});

/// The noise level a method is told when it should absorb the model error too: sqrt(sigma^2 + (scale x
/// excess)^2). `scale` converts the fit's residual into the noise level the method needs: the TV fit
/// explains most of a wrong kernel's effect, so what it leaves is a small part of it (the shipped
/// unrolled network's scale is measured in docs/blind.md).
double model_error_sigma(double sigma, const ModelError& error, double scale);

}  // namespace unroll
