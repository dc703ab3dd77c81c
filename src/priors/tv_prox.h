// Total-variation denoiser as a Prior: the ROF model
//     u = argmin_u  1/2 ||u - x||^2 + lambda * TV(u),   TV(u) = sum_pixels ||(D_x u, D_y u)||_2  (isotropic)
// solved by Chambolle's dual projection algorithm (A. Chambolle, "An Algorithm for Total Variation
// Minimization and Applications", JMIV 2004, eq. 9 / Theorem 3.1):
//     g = D(div p - x / lambda),   p <- (p + tau g) / (1 + tau |g|),   u = x - lambda div p,
// with tau = 1/8 (the convergence bound for forward differences) and circular boundary (core/fft.h
// grad_circular; div = -grad_circular_adjoint). Channels are denoised independently.
//
// The strength is tied to the noise level: lambda = weight * sigma (for sigma on the [0,1] scale),
// the usual tuning of TV as a Gaussian denoiser (scikit-image's denoise_tv_chambolle weight).
#pragma once

#include <torch/torch.h>

#include <string>

#include "priors/prior.h"

namespace unroll {

struct TvPriorOptions {
  double weight = 1.0;   ///< lambda / sigma
  int iterations = 50;   ///< Chambolle iterations per call
  double tau = 0.125;    ///< dual step (<= 1/8 for convergence)
  void validate() const;
};

/// ROF denoising of x [N,C,H,W] with per-sample lambda [N,1,1,1] (or a scalar tensor). lambda = 0
/// returns x. Differentiable through the fixed number of iterations.
torch::Tensor tv_denoise(const torch::Tensor& x, const torch::Tensor& lambda, int iterations = 50, double tau = 0.125);

/// The ROF objective 1/2||u - x||^2 + lambda TV(u) per sample, [N] (for tests and diagnostics).
torch::Tensor rof_objective(const torch::Tensor& u, const torch::Tensor& x, const torch::Tensor& lambda);

class TvPrior : public Prior {
 public:
  explicit TvPrior(const TvPriorOptions& options = {});
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma) override;
  using Prior::denoise;
  std::string kind() const override { return "tv"; }
  const TvPriorOptions& options() const { return options_; }

 private:
  TvPriorOptions options_;
};

}  // namespace unroll
