// Plug-and-play half-quadratic splitting with a denoiser prior (DPIR):
//
//   Zhang, Li, Zuo, Zhang, Van Gool, Timofte, "Plug-and-Play Image Restoration with Deep Denoiser
//   Prior", TPAMI 2021 (https://github.com/cszn/DPIR, main_dpir_deblur.py, utils/utils_pnp.py).
//
//   x_0 = y
//   for k = 1..K:
//     x_k = argmin_x ||k ⊛ x - y||^2 + a_k ||x - z_{k-1}||^2     (core FourierDataStep; z_0 = y)
//     z_k = D(x_k, sigma_k)                                       (any Prior)
//   output z_K
// Schedule (DPIR get_rho_sigma with w = 1): sigma_k = logspace from sigma_start = 49/255 down to the
// model noise level over K points (float32 like numpy's astype), and
//   a_k = lambda * s^2 / sigma_k^2,  lambda = 0.23,  s = max(sigma_floor, sigma), sigma_floor = 0.255/255.
// DPIR's deblurring script sets modelSigma2 = sigma * 255 without a floor (log10(0) for a noise-free
// input); here the end point of the logspace uses the same floored s, which equals DPIR for every
// sigma >= 0.255/255. Defaults: K = 8 (DPIR deblurring), no transform alternation.
// Transform alternation (DPIR's x8 for PnP, alternate_transforms): iteration k denoises the input
// transformed by the k mod 8-th of the eight flips/rotations and transforms the result back
// (augment_img_tensor4 convention); the same compute, a self-ensemble across iterations. `unroll
// deblur --method pnp` switches it on by default (+0.15 / +0.12 dB with the shipped denoiser on the
// DPIR protocol at 2.55 / 7.65, models/README.md).
// Boundaries: the observation is extended with core extend_for_deconvolution (Circular = DPIR
// protocol, exact for circularly blurred input) and the result cropped back.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "core/boundary.h"
#include "core/data_step.h"
#include "core/solver.h"
#include "priors/prior.h"

namespace unroll {

struct PnpHqsOptions {
  int iterations = 8;                 ///< K (DPIR deblurring: 8)
  double sigma_start = 49.0 / 255.0;  ///< first denoiser level (modelSigma1 = 49)
  double sigma_floor = 0.255 / 255.0; ///< lower bound on the noise level used by the schedule
  double lambda = 0.23;               ///< trade-off in a_k = lambda sigma^2 / sigma_k^2
  bool alternate_transforms = false;  ///< DPIR's x8 flip/rotation alternation across iterations
  Boundary boundary = Boundary::Circular;
  bool clip = false;                  ///< clamp the final image to [0,1]
  /// Relative L2 error assumed in the kernel (0 = exact): the data step is then
  /// FourierDataStep::solve_uncertain (core/data_step.h), which trusts the data less where the
  /// kernel's error outweighs the signal. For estimated or otherwise approximate kernels.
  double kernel_error = 0.0;
  ProgressCallback progress;
  void validate() const;  ///< throws unroll::Error naming the bad field
};

/// The DPIR schedule for noise level `sigma` ([0,1] scale): K denoiser levels and data weights.
struct PnpSchedule {
  std::vector<double> sigmas;  ///< sigma_k, decreasing from sigma_start
  std::vector<double> alphas;  ///< a_k
};
PnpSchedule dpir_schedule(double sigma, const PnpHqsOptions& options = {});

/// Restores `blurred` [N,C,H,W] (or [H,W] / [C,H,W]) blurred by `kernel` ([kh,kw] or [N,1,kh,kw]) with
/// additive Gaussian noise of level `sigma` ([0,1] scale), using `prior` as the denoiser. The prior is
/// called without gradients only if the caller disables them (the loop itself is differentiable).
/// Returns the image in the input's shape; `residual` is the relative change of the last iteration
/// ||z_K - z_{K-1}|| / ||z_{K-1}||; stop_reason ScheduleEnd.
SolverResult pnp_hqs(const torch::Tensor& blurred, const torch::Tensor& kernel, double sigma, Prior& prior,
                     const PnpHqsOptions& options = {});

/// The same iteration around any data step (core/data_step.h DataStepFn), on the observation `y`
/// [N,C,H,W] as given (no boundary extension; options.boundary is ignored): z_0 = y, x_k =
/// data_step(z_{k-1}, a_k), z_k = D(x_k, sigma_k). Returns z_K ([N,C,H,W]) with the same residual and
/// stop reason as pnp_hqs. Used with core/polar.h RotationalDataStep for rotational blur.
SolverResult pnp_hqs_with(const DataStepFn& data_step, const torch::Tensor& y, double sigma, Prior& prior,
                          const PnpHqsOptions& options = {});

/// The eight dihedral transforms of DPIR's augment_img_tensor4 (mode 0..7) on [N,C,H,W] and their
/// inverses: inverse_augment(augment(x, m), m) == x.
torch::Tensor augment(const torch::Tensor& x, int mode);
torch::Tensor inverse_augment(const torch::Tensor& x, int mode);

}  // namespace unroll
