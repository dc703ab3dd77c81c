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

  /// Errors-in-variables form for a kernel known only approximately (after Nan & Ji, CVPR 2020, without
  /// the learned part): the given kernel k is the true one plus an error dk, taken as white,
  /// E|dK(w)|^2 = ||dk||^2, so the residual at frequency w has variance H W sigma^2 + ||dk||^2 |X(w)|^2
  /// instead of H W sigma^2. Weighting each frequency by it gives
  ///     x = F^-1[(conj(K)F(y) + a m(w) F(z)) / (|K|^2 + a m(w))],  m(w) = 1 + model_error |Z(w)|^2,
  /// with |X|^2 taken from the current z: where the kernel's error outweighs the signal that gets
  /// through it, x follows z (the prior) instead of dividing by a wrong |K|. (A shape fitted to the
  /// measured E|dK|^2 of perturbed Levin kernels, larger in the kernel's transition band and small at
  /// DC, did worse on the perturbation protocol: docs/blind.md.) model_error = kernel_model_error(...);
  /// 0 is solve(z, a).
  torch::Tensor solve_uncertain(const torch::Tensor& z, const torch::Tensor& a, double model_error) const;

  const torch::Tensor& otf() const { return otf_; }         ///< K, complex [N,1,H,W/2+1]
  const torch::Tensor& kty_hat() const { return kty_hat_; } ///< conj(K) F(y), complex [N,C,H,W/2+1]
  const torch::Tensor& k_power() const { return k_power_; } ///< |K|^2, real [N,1,H,W/2+1]
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }

 private:
  torch::Tensor otf_, kty_hat_, k_power_;
  int64_t height_ = 0, width_ = 0;
};

/// ||dk||^2 / (H W sigma^2) for FourierDataStep::solve_uncertain on an H x W image: the kernel's relative
/// L2 error `relative_error` (||dk|| / ||k||, e.g. 0.3 for an estimated kernel) against the pixel noise
/// `sigma` (floored at 1e-3, so a noise-free observation does not make the weight infinite).
double kernel_model_error(const torch::Tensor& kernel, double relative_error, double sigma, int64_t height,
                          int64_t width);

}  // namespace unroll
