// The closed-form FFT data step shared by classical HQS/ADMM and every learned HQS model.
//
// For an observation y = k ⊛ x + n with circular boundary, the quadratic problem
//     min_x  ||k ⊛ x - y||^2 + a ||R x - v||^2
// has the solution  x = F^-1[(conj(K) F(y) + a conj(R) F(v)) / (|K|^2 + a |R|^2)].
// With R = identity this is the HQS / USRNet data module
//     x = F^-1[(conj(K) F(y) + a F(z)) / (|K|^2 + a)].
// K = psf2otf(k), conj(K)F(y) and |K|^2 are computed once per (y, k) by the constructor. Everything
// is torch autograd-friendly (differentiable in y, k, z and a), batched, float32 or float64.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace unroll {

/// A quadratic data step x = argmin_x ||A x - y||^2 + a ||x - z||^2 for some fixed observation y and
/// forward operator A, as a callable (z, a) -> x. FourierDataStep::solve (A = convolution) and
/// RotationalDataStep::solve (core/polar.h, A = rotational blur) are two; HQS loops (hqs/pnp.h,
/// hqs/unrolled_net.h) take any of them. `a`: scalar tensor or [N,1,1,1].
using DataStepFn = std::function<torch::Tensor(const torch::Tensor& z, const torch::Tensor& a)>;

class FourierDataStep {
 public:
  FourierDataStep() = default;
  /// y: [N,C,H,W]; kernel: [kh,kw] or [N,1,kh,kw] (N = 1 or N of y). The kernel is cast to y's dtype.
  FourierDataStep(const torch::Tensor& y, const torch::Tensor& kernel);

  /// x = F^-1[(conj(K)F(y) + a F(z)) / (|K|^2 + a)]; `a` is a scalar tensor, [N,1,1,1] or [N,C,1,1].
  torch::Tensor solve(const torch::Tensor& z, const torch::Tensor& a) const;
  torch::Tensor solve(const torch::Tensor& z, double a) const;

  /// General form: x = F^-1[(conj(K)F(y) + a * rhs_hat) / (|K|^2 + a * reg_power)], where rhs_hat is
  /// the half spectrum of R^T v and reg_power = |R|^2 (broadcastable to [N,C,H,W/2+1]).
  torch::Tensor solve_spectral(const torch::Tensor& rhs_hat, const torch::Tensor& a,
                               const torch::Tensor& reg_power) const;

  /// 1 / (|K|^2 + a * reg_power), real: precompute it once when a loop solves with the same `a` many
  /// times (ADMM), then call solve_with_inverse().
  torch::Tensor inverse_denominator(const torch::Tensor& a, const torch::Tensor& reg_power) const;
  /// x = F^-1[(conj(K)F(y) + a * rhs_hat) * inverse_denominator]  (same result as solve_spectral).
  torch::Tensor solve_with_inverse(const torch::Tensor& rhs_hat, const torch::Tensor& a,
                                   const torch::Tensor& inverse_denominator) const;

  const torch::Tensor& otf() const { return otf_; }         ///< K, complex [N,1,H,W/2+1]
  const torch::Tensor& kty_hat() const { return kty_hat_; } ///< conj(K) F(y), complex [N,C,H,W/2+1]
  const torch::Tensor& k_power() const { return k_power_; } ///< |K|^2, real [N,1,H,W/2+1]
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }

 private:
  torch::Tensor otf_, kty_hat_, k_power_;
  int64_t height_ = 0, width_ = 0;
};

}  // namespace unroll
