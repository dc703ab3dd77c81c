#include "classic/wiener.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/fft.h"
#include "core/noise.h"
#include "core/tensor.h"

namespace unroll {
namespace {

// spec *= conj(K) / (|K|^2 + nsr |R|^2) / (H W) in one pass over the half spectrum, |R|^2 made on the fly
// from its separable parts (the Laplacian's (ey_i + ex_j)^2, or 1): the CPU path of wiener(), which
// otherwise spends more time in five element-wise passes and a normalisation than in one transform.
// spec: contiguous complex [N,C,H,Wh]; otf: contiguous complex [N or 1,1,H,Wh]; ey: [H], ex: [Wh] real.
template <typename T>
void apply_filter_cpu(torch::Tensor& spec, const torch::Tensor& otf, const torch::Tensor& ey,
                      const torch::Tensor& ex, bool laplacian, double nsr, double scale) {
  const int64_t n = spec.size(0), c = spec.size(1), h = spec.size(2), wh = spec.size(3);
  const bool shared_kernel = otf.size(0) == 1;
  T* s = reinterpret_cast<T*>(spec.data_ptr());
  const T* k = reinterpret_cast<const T*>(otf.data_ptr());
  const T* py = ey.data_ptr<T>();
  const T* px = ex.data_ptr<T>();
  const T lambda = T(nsr), gain = T(scale);
  at::parallel_for(0, n * c * h, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t plane = r / h, i = r % h;
      T* sr = s + 2 * r * wh;
      const T* kr = k + 2 * ((shared_kernel ? 0 : plane / c) * h + i) * wh;
      const T yi = py[i];
      for (int64_t j = 0; j < wh; ++j) {
        const T a = kr[2 * j], b = kr[2 * j + 1];
        const T l = yi + px[j];
        const T reg = laplacian ? l * l : T(1);
        const T f = gain / (a * a + b * b + lambda * reg);
        const T u = sr[2 * j], v = sr[2 * j + 1];
        sr[2 * j] = (u * a + v * b) * f;  // (u + iv)(a - ib) f
        sr[2 * j + 1] = (v * a - u * b) * f;
      }
    }
  });
}

}  // namespace

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
  const bool laplacian = options.regularizer == WienerOptions::Regularizer::Laplacian;
  auto spec = rfft2(ext.image);
  const bool fused = spec.device().is_cpu() && !otf.requires_grad() && !spec.requires_grad() &&
                     (spec.scalar_type() == torch::kComplexFloat || spec.scalar_type() == torch::kComplexDouble);
  torch::Tensor x;
  if (fused) {
    // One pass instead of the tensor path's five (same values up to rounding), and the inverse transform's
    // 1/(H W) folded into it.
    otf = otf.contiguous();
    spec = spec.contiguous();
    const auto real = y.options().dtype(c10::toRealValueType(spec.scalar_type()));
    auto ey = second_difference_eigenvalues(h, h, real), ex = second_difference_eigenvalues(w, w / 2 + 1, real);
    const double scale = 1.0 / (double(h) * double(w));
    if (spec.scalar_type() == torch::kComplexFloat) {
      apply_filter_cpu<float>(spec, otf, ey, ex, laplacian, nsr, scale);
    } else {
      apply_filter_cpu<double>(spec, otf, ey, ex, laplacian, nsr, scale);
    }
    x = irfft2_unscaled(std::move(spec), h, w);
  } else {
    // The filter conj(K) / (|K|^2 + nsr |R|^2) is built in the kernel spectrum's own storage and applied
    // to F(y) in place (out of place when the kernel is tracked by autograd).
    auto reg = laplacian ? laplacian_power_spectrum(h, w, y.options()) : torch::ones({1, 1, 1, 1}, y.options());
    auto den = torch::abs(otf).square_().add_(reg, nsr);
    auto filter = otf.requires_grad() ? otf.conj() / den : otf.conj_physical_().div_(den);
    spec.mul_(filter);
    x = irfft2(std::move(spec), h, w);
  }
  x = ext.crop(x);
  return options.clip ? x.clamp(0.0, 1.0) : x;
}

double default_wiener_nsr(double sigma, WienerOptions::Regularizer regularizer) {
  const double s = std::max(sigma, 1e-3);
  return regularizer == WienerOptions::Regularizer::Laplacian ? 30.0 * s * s : 400.0 * s * s;
}

double gcv_wiener_nsr(const torch::Tensor& blurred, const torch::Tensor& kernel, Boundary boundary) {
  auto y = as_image_batch(blurred).to(torch::kFloat64);
  check_image(y, "gcv_wiener_nsr");
  UNROLL_CHECK(y.size(0) == 1, "gcv_wiener_nsr: one image at a time, got a batch of ", y.size(0));
  auto k = kernel.detach().to(y.device(), torch::kFloat64);
  UNROLL_CHECK(k.dim() == 2, "gcv_wiener_nsr: expected a [k,k] kernel, got shape ", k.sizes());
  constexpr int64_t kWindow = 1024;
  if (y.size(2) > kWindow) y = y.narrow(2, (y.size(2) - kWindow) / 2, kWindow);
  if (y.size(3) > kWindow) y = y.narrow(3, (y.size(3) - kWindow) / 2, kWindow);
  check_kernel(as_kernel_batch(k), 1, y.size(2), y.size(3), "gcv_wiener_nsr");
  auto ext = extend_for_deconvolution(y, k, boundary).image;
  const int64_t h = ext.size(2), w = ext.size(3), wh = w / 2 + 1;
  // Half spectra; every column but 0 (and w/2 for even w) stands for two frequencies.
  auto weight = torch::full({wh}, 2.0, y.options());
  weight[0] = 1.0;
  if (w % 2 == 0) weight[wh - 1] = 1.0;
  auto power = torch::abs(rfft2(ext)).square().sum(std::vector<int64_t>{0, 1}) * weight;  // [h, wh]
  auto k2 = torch::abs(psf2otf(as_kernel_batch(k), h, w)).square()[0][0];        // [h, wh]
  auto l2 = laplacian_power_spectrum(h, w, y.options())[0][0];                   // [h, wh]
  auto gcv = [&](double log_nsr) {
    auto keep = (std::pow(10.0, log_nsr) * l2) / (k2 + std::pow(10.0, log_nsr) * l2);  // 1 - a_f
    const double trace = (keep * weight).sum().item<double>();
    return (keep.square() * power).sum().item<double>() / std::max(trace * trace, 1e-300);
  };
  constexpr double lo = -7.0, hi = 1.0;
  constexpr int steps = 33;
  std::vector<double> values(steps);
  int best = 0;
  for (int i = 0; i < steps; ++i) {
    values[i] = gcv(lo + (hi - lo) * i / (steps - 1));
    if (values[i] < values[best]) best = i;
  }
  double log_nsr = lo + (hi - lo) * best / (steps - 1);
  if (best > 0 && best + 1 < steps) {  // the parabola's vertex through the minimum and its neighbours
    const double a = values[best - 1], b = values[best], c = values[best + 1];
    const double denom = a - 2.0 * b + c;
    if (denom > 0) log_nsr += 0.5 * (a - c) / denom * (hi - lo) / (steps - 1);
  }
  return std::pow(10.0, log_nsr);
}

}  // namespace unroll
