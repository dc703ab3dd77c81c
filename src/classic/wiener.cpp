#include "classic/wiener.h"

#include "core/error.h"
#include "core/fft.h"
#include "core/noise.h"
#include "core/tensor.h"

namespace unroll {

void WienerOptions::validate() const {
  UNROLL_CHECK(nsr >= 0.0 && std::isfinite(nsr), "wiener: nsr must be >= 0, got ", nsr);
}

double estimate_wiener_nsr(const torch::Tensor& blurred, WienerOptions::Regularizer regularizer) {
  auto y = as_image_batch(blurred).to(torch::kFloat64);
  const double sigma = estimate_noise_sigma(y).mean().item<double>();
  const double var = y.var().item<double>();
  double nsr = (sigma * sigma) / std::max(var - sigma * sigma, 1e-8);
  if (regularizer == WienerOptions::Regularizer::Laplacian) {
    // mean |L|^2 over the spectrum of the 5-point Laplacian is 20.
    nsr /= 20.0;
  }
  return std::max(nsr, 1e-6);
}

torch::Tensor wiener(const torch::Tensor& blurred, const torch::Tensor& kernel, const WienerOptions& options) {
  options.validate();
  auto y = as_image_batch(blurred);
  check_image(y, "wiener");
  auto k = as_kernel_batch(kernel).to(y.options());
  check_kernel(k, y.size(0), y.size(2), y.size(3), "wiener");
  const double nsr = options.auto_nsr ? estimate_wiener_nsr(y, options.regularizer) : options.nsr;
  auto ext = extend_for_deconvolution(y, k, options.boundary);
  const int64_t h = ext.image.size(2), w = ext.image.size(3);
  auto otf = psf2otf(k, h, w);
  auto reg = options.regularizer == WienerOptions::Regularizer::Laplacian
                 ? laplacian_power_spectrum(h, w, y.options())
                 : torch::ones({1, 1, 1, 1}, y.options());
  // The filter conj(K) / (|K|^2 + nsr |R|^2) is built in the kernel spectrum's own storage and applied
  // to F(y) in place: one forward and one inverse transform of the image, the kernel's spectrum
  // (psf2otf) and four element-wise passes. (Out of place when the kernel is tracked by autograd.)
  auto den = torch::abs(otf).square_().add_(reg, nsr);
  auto filter = otf.requires_grad() ? otf.conj() / den : otf.conj_physical_().div_(den);
  auto spec = rfft2(ext.image).mul_(filter);
  auto x = ext.crop(irfft2(std::move(spec), h, w));
  return options.clip ? x.clamp(0.0, 1.0) : x;
}

}  // namespace unroll
