#include "blind/kernel_step.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/fft.h"
#include "core/tensor.h"

namespace unroll {

void KernelProjectionOptions::validate() const {
  UNROLL_CHECK(std::isfinite(threshold) && threshold >= 0 && threshold < 1,
               "kernel projection: threshold must be in [0,1), got ", threshold);
  UNROLL_CHECK(std::isfinite(min_component_mass) && min_component_mass >= 0 && min_component_mass <= 1,
               "kernel projection: min_component_mass must be in [0,1], got ", min_component_mass);
}

torch::Tensor gradient_images(const torch::Tensor& x) {
  UNROLL_CHECK(x.dim() == 4 && x.size(2) >= 2 && x.size(3) >= 2,
               "gradient_images: expected [N,C,H,W] with H,W >= 2, got shape ", x.sizes());
  const int64_t h = x.size(2) - 1, w = x.size(3) - 1;
  auto base = x.narrow(2, 0, h).narrow(3, 0, w);
  auto dx = x.narrow(2, 0, h).narrow(3, 1, w) - base;
  auto dy = x.narrow(2, 1, h).narrow(3, 0, w) - base;
  return torch::stack({dx, dy}, 2);
}

torch::Tensor kernel_least_squares(const torch::Tensor& latent_grad, const torch::Tensor& blurred_grad, int64_t size,
                                   const torch::Tensor& gamma) {
  UNROLL_CHECK(latent_grad.dim() == 5, "kernel step: gradients must be [N,C,D,H,W], got shape ", latent_grad.sizes());
  UNROLL_CHECK(latent_grad.sizes() == blurred_grad.sizes(), "kernel step: latent gradients ", latent_grad.sizes(),
               " and blurred gradients ", blurred_grad.sizes(), " differ in shape");
  const int64_t n = latent_grad.size(0), h = latent_grad.size(-2), w = latent_grad.size(-1);
  UNROLL_CHECK(size >= 1 && size % 2 == 1, "kernel step: kernel size must be odd and >= 1, got ", size);
  UNROLL_CHECK(size <= h && size <= w, "kernel step: kernel size ", size, " exceeds the gradient images (", h, "x",
               w, ")");
  auto lf = rfft2(latent_grad);
  auto bf = rfft2(blurred_grad.to(latent_grad.dtype()));
  auto num = (lf.conj() * bf).sum({1, 2});                                          // [N,H,W/2+1]
  auto den = (torch::real(lf).square() + torch::imag(lf).square()).sum({1, 2});  // [N,H,W/2+1]
  auto g = gamma.to(den.options());
  g = g.dim() == 0 ? g : g.reshape({n, 1, 1});
  auto full = irfft2(num / (den + g), h, w);  // the kernel with its centre at (0,0), periodic
  const int64_t c = size / 2;
  auto k = torch::roll(full, {c, c}, {1, 2}).narrow(1, 0, size).narrow(2, 0, size);
  return k.unsqueeze(1);
}

torch::Tensor kernel_least_squares(const torch::Tensor& latent_grad, const torch::Tensor& blurred_grad, int64_t size,
                                   double gamma) {
  UNROLL_CHECK(std::isfinite(gamma) && gamma >= 0, "kernel step: gamma must be >= 0, got ", gamma);
  return kernel_least_squares(latent_grad, blurred_grad, size, torch::scalar_tensor(gamma, latent_grad.options()));
}

torch::Tensor kernel_least_squares_support(const torch::Tensor& latent_grad, const torch::Tensor& blurred_grad,
                                           int64_t size, const torch::Tensor& gamma, int iterations,
                                           const torch::Tensor& init) {
  UNROLL_CHECK(latent_grad.dim() == 5, "kernel step: gradients must be [N,C,D,H,W], got shape ", latent_grad.sizes());
  UNROLL_CHECK(latent_grad.sizes() == blurred_grad.sizes(), "kernel step: latent gradients ", latent_grad.sizes(),
               " and blurred gradients ", blurred_grad.sizes(), " differ in shape");
  const int64_t n = latent_grad.size(0), h = latent_grad.size(-2), w = latent_grad.size(-1);
  UNROLL_CHECK(size >= 1 && size % 2 == 1, "kernel step: kernel size must be odd and >= 1, got ", size);
  UNROLL_CHECK(2 * size - 1 <= h && 2 * size - 1 <= w, "kernel step: kernel size ", size,
               " needs gradient images of at least ", 2 * size - 1, " pixels a side, got ", h, "x", w);
  UNROLL_CHECK(iterations >= 1, "kernel step: iterations must be >= 1, got ", iterations);
  auto lf = rfft2(latent_grad);
  auto bf = rfft2(blurred_grad.to(latent_grad.dtype()));
  auto cross = irfft2((lf.conj() * bf).sum({1, 2}), h, w);                                        // [N,H,W]
  auto power = (torch::real(lf).square() + torch::imag(lf).square()).sum({1, 2});
  auto autocorr = irfft2(torch::complex(power, torch::zeros_like(power)), h, w);                  // [N,H,W]
  const int64_t c = size / 2, lags = 2 * size - 1;
  auto rhs = torch::roll(cross, {c, c}, {1, 2}).narrow(1, 0, size).narrow(2, 0, size).unsqueeze(1);  // [N,1,k,k]
  // Autocorrelation at lags -(k-1)..(k-1), index k-1 = lag 0; symmetric, so correlation = convolution.
  auto r = torch::roll(autocorr, {size - 1, size - 1}, {1, 2}).narrow(1, 0, lags).narrow(2, 0, lags);
  auto g = gamma.to(rhs.options());
  g = g.dim() == 0 ? g : g.reshape({n, 1, 1, 1});
  // (T k)(i) = sum_j r(i - j) k(j) on the support: the linear convolution of k with the lag grid r
  // (r is symmetric, so correlation = convolution), read at rows/columns k-1..2k-2, done by FFT on an
  // L x L grid, L = fast_size(3k - 2) so nothing wraps: O(L^2 log L) per product instead of the
  // k^2 (2k-1)^2 multiply-adds of a direct convolution (3.6 M for k = 31, L = 96).
  const int64_t fft_side = fast_size(3 * size - 2);
  auto r_spectrum = rfft2(r.unsqueeze(1), fft_side, fft_side);  // [N,1,L,L/2+1]
  auto apply = [&](const torch::Tensor& k) {
    auto full = irfft2(r_spectrum * rfft2(k, fft_side, fft_side), fft_side, fft_side);
    return full.narrow(2, size - 1, size).narrow(3, size - 1, size) + g * k;
  };
  auto dot = [](const torch::Tensor& a, const torch::Tensor& b) -> torch::Tensor { return (a * b).sum({1, 2, 3}, true); };
  torch::Tensor k = init.defined() ? as_kernel_batch(init).to(rhs.options()).expand_as(rhs) : torch::zeros_like(rhs);
  auto residual = rhs - apply(k);
  auto direction = residual;
  auto rr = dot(residual, residual);
  const double stop = 1e-12 * std::max(dot(rhs, rhs).max().item<double>(), 1e-300);
  for (int it = 0; it < iterations; ++it) {
    if (rr.max().item<double>() <= stop) break;
    auto ad = apply(direction);
    auto denom = dot(direction, ad);
    auto alpha = rr / torch::where(denom > 0, denom, torch::ones_like(denom));
    k = k + alpha * direction;
    residual = residual - alpha * ad;
    auto rr_next = dot(residual, residual);
    direction = residual + (rr_next / torch::where(rr > 0, rr, torch::ones_like(rr))) * direction;
    rr = rr_next;
  }
  return k;
}

namespace {

// Mask [k,k] (1 = keep) of the thresholded support minus the light components, from a detached CPU
// float64 kernel `d` that is already >= 0.
std::vector<double> support_mask(const double* d, int64_t kh, int64_t kw, const KernelProjectionOptions& o) {
  const int64_t count = kh * kw;
  double peak = 0;
  for (int64_t i = 0; i < count; ++i) peak = std::max(peak, d[i]);
  std::vector<double> mask(count, 0.0);
  if (peak <= 0) return mask;
  const double cut = o.threshold * peak;
  std::vector<int> label(count, -1);
  std::vector<double> mass;
  std::vector<int64_t> stack;
  double total = 0;
  for (int64_t start = 0; start < count; ++start) {
    if (label[start] >= 0 || d[start] <= cut || d[start] <= 0) continue;
    const int id = static_cast<int>(mass.size());
    mass.push_back(0);
    stack.assign(1, start);
    label[start] = id;
    while (!stack.empty()) {
      const int64_t p = stack.back();
      stack.pop_back();
      mass[id] += d[p];
      const int64_t r = p / kw, c = p % kw;
      for (int64_t dr = -1; dr <= 1; ++dr)
        for (int64_t dc = -1; dc <= 1; ++dc) {
          const int64_t rr = r + dr, cc = c + dc;
          if (rr < 0 || rr >= kh || cc < 0 || cc >= kw) continue;
          const int64_t q = rr * kw + cc;
          if (label[q] >= 0 || d[q] <= cut || d[q] <= 0) continue;
          label[q] = id;
          stack.push_back(q);
        }
    }
    total += mass[id];
  }
  int heaviest = 0;
  for (size_t i = 1; i < mass.size(); ++i)
    if (mass[i] > mass[heaviest]) heaviest = static_cast<int>(i);
  for (int64_t i = 0; i < count; ++i) {
    const int id = label[i];
    if (id >= 0 && (id == heaviest || mass[id] >= o.min_component_mass * total)) mask[i] = 1.0;
  }
  return mask;
}

torch::Tensor delta_like(const torch::Tensor& kb) {
  auto delta = torch::zeros({kb.size(2), kb.size(3)}, kb.options());
  delta.index_put_({kb.size(2) / 2, kb.size(3) / 2}, 1.0);
  return delta.expand_as(kb);
}

}  // namespace

std::pair<double, double> kernel_centre_of_mass(const torch::Tensor& k) {
  UNROLL_CHECK(k.dim() == 2, "kernel_centre_of_mass: expected [k,k], got shape ", k.sizes());
  auto d = k.detach().to(torch::kCPU, torch::kFloat64);
  const double total = d.sum().item<double>();
  UNROLL_CHECK(total > 0, "kernel_centre_of_mass: the kernel has no positive mass");
  auto rows = torch::arange(d.size(0), d.options()), cols = torch::arange(d.size(1), d.options());
  const double r = (d.sum(1) * rows).sum().item<double>() / total;
  const double c = (d.sum(0) * cols).sum().item<double>() / total;
  return {r, c};
}

torch::Tensor recentre_kernel(const torch::Tensor& k) {
  auto kb = as_kernel_batch(k);
  return move_centre_of_mass(k, static_cast<double>(kb.size(2) / 2), static_cast<double>(kb.size(3) / 2));
}

torch::Tensor move_centre_of_mass(const torch::Tensor& k, double row, double col) {
  auto kb = as_kernel_batch(k);
  const int64_t kh = kb.size(2), kw = kb.size(3);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < kb.size(0); ++i) {
    auto ki = kb[i][0];
    const double total = ki.detach().sum().item<double>();
    if (!(total > 0)) {
      out.push_back(ki);
      continue;
    }
    const auto com = kernel_centre_of_mass(ki);
    const int64_t sr = static_cast<int64_t>(std::lround(row - com.first));
    const int64_t sc = static_cast<int64_t>(std::lround(col - com.second));
    if (sr == 0 && sc == 0) {
      out.push_back(ki);
      continue;
    }
    // Shift by (sr, sc) with zero fill: pad on the side the content moves away from, then crop.
    auto padded = torch::constant_pad_nd(ki, {std::max<int64_t>(sc, 0), std::max<int64_t>(-sc, 0),
                                              std::max<int64_t>(sr, 0), std::max<int64_t>(-sr, 0)});
    auto shifted = padded.narrow(0, std::max<int64_t>(-sr, 0), kh).narrow(1, std::max<int64_t>(-sc, 0), kw);
    out.push_back(shifted);
  }
  auto stacked = torch::stack(out).unsqueeze(1);
  auto sums = stacked.sum({2, 3}, true);
  auto safe = torch::where(sums > 0, sums, torch::ones_like(sums));
  auto result = stacked / safe;
  return k.dim() == 2 ? result[0][0] : result;
}

torch::Tensor project_kernel(const torch::Tensor& k, const KernelProjectionOptions& options) {
  options.validate();
  auto kb = as_kernel_batch(k);
  UNROLL_CHECK(kb.dim() == 4 && kb.size(1) == 1, "kernel projection: expected [k,k] or [N,1,k,k], got shape ",
               k.sizes());
  check_finite(kb, "kernel projection");
  const int64_t n = kb.size(0), kh = kb.size(2), kw = kb.size(3);
  auto positive = torch::relu(kb);
  torch::Tensor mask;
  {
    torch::NoGradGuard no_grad;
    auto d = positive.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    auto m = torch::zeros({n, 1, kh, kw}, d.options());
    for (int64_t i = 0; i < n; ++i) {
      auto values = support_mask(d[i][0].contiguous().data_ptr<double>(), kh, kw, options);
      std::copy(values.begin(), values.end(), m[i][0].data_ptr<double>());
    }
    mask = m.to(kb.options());
  }
  auto kept = positive * mask;
  auto sums = kept.sum({2, 3}, true);
  auto nonzero = sums > 0;
  auto safe = torch::where(nonzero, sums, torch::ones_like(sums));
  auto result = torch::where(nonzero, kept / safe, delta_like(kb));
  if (options.recentre) result = recentre_kernel(result);
  return k.dim() == 2 ? result[0][0] : result;
}

torch::Tensor kernel_step(const torch::Tensor& latent, const torch::Tensor& blurred, int64_t size, double gamma,
                          const KernelProjectionOptions& options) {
  UNROLL_CHECK(latent.dim() == 4 && latent.sizes() == blurred.sizes(), "kernel step: latent ", latent.sizes(),
               " and blurred ", blurred.sizes(), " must be [N,C,H,W] of the same shape");
  auto k = kernel_least_squares(gradient_images(latent), gradient_images(blurred), size, gamma);
  return project_kernel(k, options);
}

torch::Tensor resample_kernel(const torch::Tensor& k, int64_t new_size, double scale) {
  UNROLL_CHECK(k.dim() == 2, "resample_kernel: expected [k,k], got shape ", k.sizes());
  UNROLL_CHECK(new_size >= 1 && new_size % 2 == 1, "resample_kernel: new size must be odd and >= 1, got ", new_size);
  UNROLL_CHECK(std::isfinite(scale) && scale > 0, "resample_kernel: scale must be > 0, got ", scale);
  // Separable bilinear interpolation as two matrices: new = A_r old A_c^T, A[i,m] = max(0, 1 - |u_i - m|).
  auto weights = [&](int64_t old_size) {
    auto i = torch::arange(new_size, k.options());
    auto u = static_cast<double>(old_size / 2) + (i - static_cast<double>(new_size / 2)) / scale;
    auto m = torch::arange(old_size, k.options());
    return torch::clamp_min(1.0 - (u.unsqueeze(1) - m.unsqueeze(0)).abs(), 0.0);
  };
  auto out = torch::matmul(torch::matmul(weights(k.size(0)), k), weights(k.size(1)).t());
  out = torch::clamp_min(out, 0.0);
  auto total = out.sum();
  UNROLL_CHECK(total.item<double>() > 0, "resample_kernel: the kernel has no mass after resampling");
  return out / total;
}

}  // namespace unroll
