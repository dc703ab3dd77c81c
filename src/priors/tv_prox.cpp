#include "priors/tv_prox.h"

#include "core/error.h"
#include "core/fft.h"
#include "core/tensor.h"

namespace unroll {
namespace {

torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& x, const char* who) {
  auto s = v.to(x.options());
  if (s.dim() == 0) s = s.reshape({1, 1, 1, 1});
  UNROLL_CHECK(s.dim() == 4 && s.size(1) == 1 && s.size(2) == 1 && s.size(3) == 1 &&
                   (s.size(0) == 1 || s.size(0) == x.size(0)),
               who, ": expected a scalar or [N,1,1,1] tensor, got ", s.sizes());
  return s;
}

torch::Tensor divergence(const torch::Tensor& p) { return -grad_circular_adjoint(p); }

}  // namespace

void TvPriorOptions::validate() const {
  UNROLL_CHECK(weight >= 0.0, "tv prior: weight must be >= 0, got ", weight);
  UNROLL_CHECK(iterations >= 1, "tv prior: iterations must be >= 1, got ", iterations);
  UNROLL_CHECK(tau > 0.0 && tau <= 0.25, "tv prior: tau must be in (0, 0.25], got ", tau);
}

torch::Tensor tv_denoise(const torch::Tensor& x, const torch::Tensor& lambda, int iterations, double tau) {
  check_image(x, "tv_denoise");
  auto lam = per_sample(lambda, x, "tv_denoise lambda");
  UNROLL_CHECK((lam >= 0).all().item<bool>(), "tv_denoise: lambda must be >= 0");
  // lambda = 0 means no smoothing; a tiny floor keeps x / lambda finite and gives u = x to rounding.
  auto lam_safe = lam.clamp_min(1e-12).unsqueeze(2);  // [N,1,1,1,1] to broadcast over [N,C,2,H,W]
  auto f = (x.unsqueeze(2) / lam_safe).squeeze(2);
  auto p = torch::zeros({x.size(0), x.size(1), 2, x.size(2), x.size(3)}, x.options());
  for (int it = 0; it < iterations; ++it) {
    auto g = grad_circular(divergence(p) - f);
    auto norm = g.pow(2).sum(2, /*keepdim=*/true).sqrt();
    p = (p + tau * g) / (1.0 + tau * norm);
  }
  return x - lam * divergence(p);
}

torch::Tensor rof_objective(const torch::Tensor& u, const torch::Tensor& x, const torch::Tensor& lambda) {
  auto lam = per_sample(lambda, x, "rof_objective lambda").reshape({-1});
  auto fidelity = 0.5 * (u - x).pow(2).flatten(1).sum(1);
  auto tv = grad_circular(u).pow(2).sum(2).sqrt().flatten(1).sum(1);
  return fidelity + lam * tv;
}

TvPrior::TvPrior(const TvPriorOptions& options) : options_(options) { options_.validate(); }

torch::Tensor TvPrior::denoise(const torch::Tensor& x, const torch::Tensor& sigma) {
  auto s = per_sample(sigma, x, "tv prior sigma");
  return tv_denoise(x, options_.weight * s, options_.iterations, options_.tau);
}

}  // namespace unroll
