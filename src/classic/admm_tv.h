// ADMM for total-variation deconvolution (scaled form, Boyd et al. 2011, §6.4.1 style splitting):
//   min_x 1/2 ||k ⊛ x - y||^2 + lambda TV(x),   z = D x
//   x <- F^-1[(conj(K)F(y) + rho conj(D)F(z - u)) / (|K|^2 + rho |D|^2)]   (core FourierDataStep)
//   z <- shrink(D x + u, lambda / rho)   (isotropic: group shrinkage; anisotropic: soft threshold)
//   u <- u + D x - z
// Stops when both relative primal and dual residuals fall below `tolerance`.
// The loop updates its buffers in place (out= kernels), so it is not differentiable; learned models
// differentiate through core/data_step.h instead.
#pragma once

#include <torch/torch.h>

#include "core/boundary.h"
#include "core/solver.h"

namespace unroll {

struct AdmmTvOptions {
  double lambda = 1e-3;    ///< TV weight (for [0,1] images); see default_tv_lambda() for a noise-based value
  double rho = 1e-2;       ///< ADMM penalty; the solution does not depend on it, the speed does
  int iterations = 100;    ///< maximum iterations
  double tolerance = 1e-4; ///< relative primal/dual residual for early stopping; 0 = run all iterations
  bool isotropic = true;
  Boundary boundary = Boundary::Circular;
  bool clip = false;
  ProgressCallback progress;
  void validate() const;
};

SolverResult admm_tv(const torch::Tensor& blurred, const torch::Tensor& kernel, const AdmmTvOptions& options = {});

/// A TV weight matched to the noise level sigma ([0,1] scale) for the 1/2||kx-y||^2 + lambda TV(x)
/// form, calibrated on the DPIR protocol (Set3C x Levin kernels); see docs/benchmarks.md.
double default_tv_lambda(double sigma);

}  // namespace unroll
