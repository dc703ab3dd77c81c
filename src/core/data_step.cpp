#include "core/data_step.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/fft.h"
#include "core/tensor.h"

namespace unroll {

FourierDataStep::FourierDataStep(const torch::Tensor& y, const torch::Tensor& kernel) {
  UNROLL_CHECK(y.dim() == 4, "data step: observation must be [N,C,H,W], got shape ", y.sizes());
  auto k = as_kernel_batch(kernel).to(y.options());
  UNROLL_CHECK(k.size(0) == 1 || k.size(0) == y.size(0), "data step: kernel batch ", k.size(0),
               " does not match image batch ", y.size(0));
  height_ = y.size(2);
  width_ = y.size(3);
  otf_ = psf2otf(k, height_, width_);
  kty_hat_ = rfft2(y) * otf_.conj();
  k_power_ = torch::real(otf_ * otf_.conj());
}

torch::Tensor FourierDataStep::solve(const torch::Tensor& z, const torch::Tensor& a) const {
  UNROLL_CHECK(z.size(-2) == height_ && z.size(-1) == width_, "data step: z is ", z.size(-2), "x", z.size(-1),
               ", expected ", height_, "x", width_);
  auto alpha = a.dim() == 0 ? a.reshape({1, 1, 1, 1}) : a;
  auto num = kty_hat_ + alpha * rfft2(z);
  auto den = k_power_ + alpha;
  return irfft2(num / den, height_, width_);
}

torch::Tensor FourierDataStep::solve(const torch::Tensor& z, double a) const {
  return solve(z, torch::scalar_tensor(a, z.options()));
}

torch::Tensor FourierDataStep::solve_uncertain(const torch::Tensor& z, const torch::Tensor& a,
                                               double model_error) const {
  UNROLL_CHECK(std::isfinite(model_error) && model_error >= 0, "data step: model_error must be finite and >= 0, got ",
               model_error);
  if (model_error == 0) return solve(z, a);
  UNROLL_CHECK(z.size(-2) == height_ && z.size(-1) == width_, "data step: z is ", z.size(-2), "x", z.size(-1),
               ", expected ", height_, "x", width_);
  auto z_hat = rfft2(z);
  auto m = 1.0 + model_error * torch::real(z_hat * z_hat.conj());
  return solve_spectral(z_hat * m, a, m);
}

double kernel_model_error(const torch::Tensor& kernel, double relative_error, double sigma, int64_t height,
                          int64_t width) {
  UNROLL_CHECK(std::isfinite(relative_error) && relative_error >= 0, "kernel error must be finite and >= 0, got ",
               relative_error);
  UNROLL_CHECK(height > 0 && width > 0, "kernel_model_error: empty image");
  const double s = std::max(std::isfinite(sigma) ? sigma : 0.0, 1e-3);
  const auto k = as_kernel_batch(kernel.detach()).to(torch::kCPU, torch::kFloat64);
  const auto mass = k.sum({1, 2, 3});
  UNROLL_CHECK((mass > 0).all().item<bool>(), "kernel_model_error: the kernel must have a positive sum");
  const double k_energy = ((k * k).sum({1, 2, 3}) / (mass * mass)).mean().item<double>();
  return relative_error * relative_error * k_energy / (static_cast<double>(height) * static_cast<double>(width) * s * s);
}

torch::Tensor FourierDataStep::solve_spectral(const torch::Tensor& rhs_hat, const torch::Tensor& a,
                                              const torch::Tensor& reg_power) const {
  auto alpha = a.dim() == 0 ? a.reshape({1, 1, 1, 1}) : a;
  auto num = kty_hat_ + alpha * rhs_hat;
  auto den = k_power_ + alpha * reg_power;
  return irfft2(num / den, height_, width_);
}

torch::Tensor FourierDataStep::inverse_denominator(const torch::Tensor& a, const torch::Tensor& reg_power) const {
  auto alpha = a.dim() == 0 ? a.reshape({1, 1, 1, 1}) : a;
  return 1.0 / (k_power_ + alpha * reg_power);
}

torch::Tensor FourierDataStep::solve_with_inverse(const torch::Tensor& rhs_hat, const torch::Tensor& a,
                                                  const torch::Tensor& inverse_denominator) const {
  auto alpha = a.dim() == 0 ? a.reshape({1, 1, 1, 1}) : a;
  auto spec = (kty_hat_ + alpha * rhs_hat) * inverse_denominator;
  return irfft2(std::move(spec), height_, width_);
}

}  // namespace unroll
