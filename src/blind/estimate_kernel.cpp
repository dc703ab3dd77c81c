#include "blind/estimate_kernel.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/boundary.h"
#include "core/data_step.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/kernel.h"
#include "core/noise.h"
#include "core/progress.h"
#include "core/tensor.h"

namespace unroll {

void BlindEstimateOptions::validate() const {
  UNROLL_CHECK(kernel_size == 0 || (kernel_size >= 3 && kernel_size % 2 == 1),
               "estimate-kernel: kernel_size must be odd and >= 3 (or 0 = automatic), got ", kernel_size);
  UNROLL_CHECK(max_kernel_size == 0 || (max_kernel_size >= 3 && max_kernel_size % 2 == 1),
               "estimate-kernel: max_kernel_size must be odd and >= 3 (or 0 = default), got ", max_kernel_size);
  UNROLL_CHECK(std::isfinite(auto_mass) && auto_mass > 0 && auto_mass <= 1,
               "estimate-kernel: auto_mass must be in (0,1], got ", auto_mass);
  UNROLL_CHECK(auto_margin >= 0, "estimate-kernel: auto_margin must be >= 0, got ", auto_margin);
  UNROLL_CHECK(refine_iterations >= 0, "estimate-kernel: refine_iterations must be >= 0, got ", refine_iterations);
  UNROLL_CHECK(std::isfinite(noise_sigma), "estimate-kernel: noise_sigma must be finite, got ", noise_sigma);
  UNROLL_CHECK(std::isfinite(lambda_grad) && lambda_grad > 0, "estimate-kernel: lambda_grad must be > 0, got ",
               lambda_grad);
  UNROLL_CHECK(std::isfinite(lambda_pixel) && lambda_pixel >= 0, "estimate-kernel: lambda_pixel must be >= 0, got ",
               lambda_pixel);
  UNROLL_CHECK(std::isfinite(lambda_dark) && lambda_dark >= 0, "estimate-kernel: lambda_dark must be >= 0, got ",
               lambda_dark);
  UNROLL_CHECK(dark_patch >= 1 && dark_patch % 2 == 1, "estimate-kernel: dark_patch must be odd and >= 1, got ",
               dark_patch);
  UNROLL_CHECK(std::isfinite(lambda_decay) && lambda_decay >= 1, "estimate-kernel: lambda_decay must be >= 1, got ",
               lambda_decay);
  UNROLL_CHECK(std::isfinite(lambda_min) && lambda_min > 0, "estimate-kernel: lambda_min must be > 0, got ",
               lambda_min);
  UNROLL_CHECK(std::isfinite(noise_lambda) && noise_lambda >= 0, "estimate-kernel: noise_lambda must be >= 0, got ",
               noise_lambda);
  UNROLL_CHECK(iterations >= 1, "estimate-kernel: iterations must be >= 1, got ", iterations);
  UNROLL_CHECK(std::isfinite(scale_step) && scale_step > 1 && scale_step <= 4,
               "estimate-kernel: scale_step must be in (1, 4], got ", scale_step);
  UNROLL_CHECK(std::isfinite(beta_max) && beta_max > 0, "estimate-kernel: beta_max must be > 0, got ", beta_max);
  UNROLL_CHECK(std::isfinite(kappa) && kappa > 1, "estimate-kernel: kappa must be > 1, got ", kappa);
  UNROLL_CHECK(std::isfinite(gradient_selection) && gradient_selection >= 0,
               "estimate-kernel: gradient_selection must be >= 0, got ", gradient_selection);
  UNROLL_CHECK(kernel_cg_iterations >= 0, "estimate-kernel: kernel_cg_iterations must be >= 0, got ",
               kernel_cg_iterations);
  UNROLL_CHECK(std::isfinite(kernel_reg) && kernel_reg >= 0, "estimate-kernel: kernel_reg must be >= 0, got ",
               kernel_reg);
  projection.validate();
  UNROLL_CHECK(std::isfinite(saturation_margin) && saturation_margin >= 0 && saturation_margin < 0.5,
               "estimate-kernel: saturation_margin must be in [0, 0.5), got ", saturation_margin);
  UNROLL_CHECK(saturation_dilation >= 0, "estimate-kernel: saturation_dilation must be >= 0, got ",
               saturation_dilation);
  UNROLL_CHECK(max_region == 0 || max_region >= 32, "estimate-kernel: max_region must be >= 32 (or 0 = whole image), got ",
               max_region);
  UNROLL_CHECK(std::isfinite(min_edge_fraction) && min_edge_fraction >= 0 && min_edge_fraction < 1,
               "estimate-kernel: min_edge_fraction must be in [0,1), got ", min_edge_fraction);
}

void L0LatentOptions::validate() const {
  UNROLL_CHECK(std::isfinite(lambda_grad) && lambda_grad > 0, "L0 latent step: lambda_grad must be > 0, got ",
               lambda_grad);
  UNROLL_CHECK(std::isfinite(lambda_pixel) && lambda_pixel >= 0, "L0 latent step: lambda_pixel must be >= 0, got ",
               lambda_pixel);
  UNROLL_CHECK(std::isfinite(lambda_dark) && lambda_dark >= 0, "L0 latent step: lambda_dark must be >= 0, got ",
               lambda_dark);
  UNROLL_CHECK(dark_patch >= 1 && dark_patch % 2 == 1, "L0 latent step: dark_patch must be odd and >= 1, got ",
               dark_patch);
  UNROLL_CHECK(std::isfinite(beta_max) && beta_max > 0, "L0 latent step: beta_max must be > 0, got ", beta_max);
  UNROLL_CHECK(std::isfinite(kappa) && kappa > 1, "L0 latent step: kappa must be > 1, got ", kappa);
}

namespace {

using Clock = std::chrono::steady_clock;


int64_t nearest_odd(double v) { return std::max<int64_t>(1, 2 * std::llround((v - 1.0) / 2.0) + 1); }

torch::Tensor luminance(const torch::Tensor& x) {
  if (x.size(1) == 1) return x;
  if (x.size(1) == 3)
    return 0.299 * x.narrow(1, 0, 1) + 0.587 * x.narrow(1, 1, 1) + 0.114 * x.narrow(1, 2, 1);
  return x.mean(1, true);
}

// 1 where a pixel is clipped (any channel near 1, or all near 0), grown by `dilation`; [1,1,H,W].
torch::Tensor saturation_mask(const torch::Tensor& x, double margin, int64_t dilation) {
  auto high = std::get<0>(x.max(1, true)) >= 1.0 - margin;
  auto low = std::get<0>(x.min(1, true)) <= margin;
  auto s = torch::logical_or(high, low).to(x.dtype());
  if (dilation > 0) s = torch::max_pool2d(s, {2 * dilation + 1, 2 * dilation + 1}, {1, 1}, {dilation, dilation});
  return s;
}

torch::Tensor resize(const torch::Tensor& x, int64_t h, int64_t w) {
  if (x.size(2) == h && x.size(3) == w) return x;
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{h, w})
                               .mode(torch::kBilinear)
                               .align_corners(false)
                               .antialias(true));
}

torch::Tensor delta_kernel(int64_t size, const torch::TensorOptions& options) {
  auto k = torch::zeros({size, size}, options);
  k.index_put_({size / 2, size / 2}, 1.0);
  return k;
}

// Gradient magnitude |grad y| on the (H-1) x (W-1) window of gradient_images().
torch::Tensor gradient_magnitude(const torch::Tensor& y) {
  return gradient_images(y).square().sum({1, 2}).sqrt();  // [N,H-1,W-1]
}

// 1 at the pixels that are the minimum of some patch whose dark value d satisfies d^2 < threshold
// (Pan et al. 2016: those dark-channel entries are set to 0 and written back to their pixels).
torch::Tensor dark_zero_mask(const torch::Tensor& x, int64_t patch, double threshold) {
  auto dark_in = std::get<0>(x.min(1, true));  // [N,1,H,W]
  auto pooled = torch::max_pool2d_with_indices(-dark_in, {patch, patch}, {1, 1}, {patch / 2, patch / 2});
  auto values = std::get<0>(pooled), indices = std::get<1>(pooled);
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  auto hit = (values.square() < threshold).to(x.dtype()).reshape({n, -1});
  auto mask = torch::zeros({n, h * w}, x.options());
  mask.scatter_add_(1, indices.reshape({n, -1}), hit);
  return (mask > 0).to(x.dtype()).reshape({n, 1, h, w});
}

// Cho & Lee 2009's gradient selection: in each of 4 orientation bins only the `count` largest latent
// gradients are kept (all of them where a bin holds fewer), so the kernel is fitted to salient edges.
torch::Tensor select_gradients(const torch::Tensor& g, int64_t count) {
  auto gx = g.select(2, 0), gy = g.select(2, 1);
  auto magnitude = (gx.square() + gy.square()).sum(1, true);  // [N,1,H,W], squared: same order
  auto angle = torch::remainder(torch::atan2(gy.sum(1, true), gx.sum(1, true)), M_PI);
  auto bin = torch::remainder(torch::round(angle / (M_PI / 4.0)), 4.0);
  auto keep = torch::zeros_like(magnitude, torch::kBool);
  for (int b = 0; b < 4; ++b) {
    auto in_bin = (bin == static_cast<double>(b)).logical_and(magnitude > 0);
    const int64_t n = in_bin.sum().item<int64_t>();
    if (n <= count) {
      keep = keep.logical_or(in_bin);
      continue;
    }
    auto values = torch::where(in_bin, magnitude, torch::zeros_like(magnitude)).flatten();
    auto threshold = std::get<0>(values.topk(count)).min();
    keep = keep.logical_or(in_bin.logical_and(magnitude >= threshold));
  }
  return g * keep.unsqueeze(2);
}

struct Lambdas {
  double grad, pixel, dark, floor;
  void decay(double factor) {
    grad = std::max(grad / factor, floor);
    pixel = pixel > 0 ? std::max(pixel / factor, floor) : 0.0;
    dark = dark > 0 ? std::max(dark / factor, floor) : 0.0;
  }
};

// The alternations of one level on the luminance y [1,1,h,w] with saturation mask `saturated`
// (1 = excluded); updates `kernel` [k,k] and the lambdas, returns the latent image [1,1,h,w].
//
// Both steps run on the Liu-Jia extension of y: the latent step solves the periodic model k ⊛ xe = ye
// on the extended grid, so the kernel step uses the circular gradients of xe and ye on that same grid.
// That is self-consistent (no wrap-around across the image border, which would otherwise corrupt a band
// of kernel-radius width on every side), and the extension's synthetic data is smooth, so it carries
// little weight.
torch::Tensor alternate(const torch::Tensor& y, const torch::Tensor& saturated, torch::Tensor& kernel, int iterations,
                        int64_t dark_patch, Lambdas& lambdas, const BlindEstimateOptions& o, int& done, int planned) {
  const int64_t size = kernel.size(0);
  const bool any_saturated = saturated.defined() && saturated.sum().item<double>() > 0;
  torch::Tensor valid;
  if (any_saturated) valid = 1.0 - saturated;
  torch::Tensor latent, latent_ext, gradient_valid, blurred_grad;
  Extended ext;
  for (int it = 0; it < iterations; ++it) {
    if (any_saturated && latent.defined()) {
      // Clipped pixels take the current prediction, so their residual (and pull) is zero.
      auto prediction = conv_fft(latent, kernel, ConvMode::Same);
      ext = extend_for_deconvolution(valid * y + saturated * prediction, kernel, Boundary::LiuJia);
      blurred_grad = torch::Tensor();
    } else if (!ext.image.defined()) {
      ext = extend_for_deconvolution(y, kernel, Boundary::LiuJia);
    }
    if (!blurred_grad.defined()) {
      blurred_grad = grad_circular(ext.image);
      if (any_saturated) {
        if (!gradient_valid.defined()) {
          // A difference is valid when both of its pixels are; the extension counts as valid.
          auto v = torch::ones_like(ext.image);
          v.narrow(2, ext.top, ext.height).narrow(3, ext.left, ext.width).copy_(valid);
          auto vx = v * torch::roll(v, {-1}, {-1}), vy = v * torch::roll(v, {-1}, {-2});
          gradient_valid = torch::stack({vx, vy}, 2);
        }
        blurred_grad = blurred_grad * gradient_valid;
      }
    }
    L0LatentOptions lo;
    lo.lambda_grad = lambdas.grad;
    lo.lambda_pixel = lambdas.pixel;
    lo.lambda_dark = lambdas.dark;
    lo.dark_patch = dark_patch;
    lo.beta_max = o.beta_max;
    lo.kappa = o.kappa;
    latent_ext = l0_latent_step(ext.image, kernel, lo);
    latent = ext.crop(latent_ext);

    auto latent_grad = grad_circular(latent_ext);
    if (o.gradient_selection > 0) {
      const double pixels = static_cast<double>(y.size(2) * y.size(3)), taps = static_cast<double>(size * size);
      latent_grad = select_gradients(latent_grad, std::llround(o.gradient_selection * std::sqrt(pixels * taps)));
    }
    if (any_saturated) latent_grad = latent_grad * gradient_valid;
    const double gamma = o.kernel_reg * latent_grad.square().sum().item<double>();
    auto raw = o.kernel_cg_iterations > 0
                   ? kernel_least_squares_support(latent_grad, blurred_grad, size,
                                                  torch::scalar_tensor(gamma, latent_grad.options()),
                                                  o.kernel_cg_iterations, kernel)
                   : kernel_least_squares(latent_grad, blurred_grad, size, gamma);
    kernel = project_kernel(raw, o.projection)[0][0];
    lambdas.decay(o.lambda_decay);
    ++done;
    if (o.progress) o.progress(done, planned);
  }
  return latent;
}

// The top-left corner of the rh x rw window of `score` [H,W] (a per-pixel weight) with the largest sum,
// among corners on a grid of step `stride` plus the last position.
std::pair<int64_t, int64_t> best_window(const torch::Tensor& score, int64_t rh, int64_t rw, int64_t stride) {
  auto s = score.to(torch::kCPU, torch::kFloat64);
  auto integral = torch::zeros({s.size(0) + 1, s.size(1) + 1}, s.options());
  integral.narrow(0, 1, s.size(0)).narrow(1, 1, s.size(1)).copy_(s.cumsum(0).cumsum(1));
  auto acc = integral.accessor<double, 2>();
  auto positions = [&](int64_t total, int64_t len) {
    std::vector<int64_t> p;
    for (int64_t v = 0; v + len < total; v += stride) p.push_back(v);
    p.push_back(total - len);
    return p;
  };
  double best = -1;
  std::pair<int64_t, int64_t> corner{0, 0};
  for (int64_t top : positions(s.size(0), rh))
    for (int64_t left : positions(s.size(1), rw)) {
      const double sum =
          acc[top + rh][left + rw] - acc[top][left + rw] - acc[top + rh][left] + acc[top][left];
      if (sum > best) {
        best = sum;
        corner = {top, left};
      }
    }
  return corner;
}

}  // namespace

int64_t default_max_kernel_size(int64_t height, int64_t width) {
  const int64_t side = std::min(height, width);
  int64_t k = std::clamp<int64_t>(nearest_odd(static_cast<double>(side) / 8.0), 11, 63);
  while (k > side && k > 1) k -= 2;
  return k;
}

int64_t choose_kernel_size(const torch::Tensor& kernel, double mass, int64_t margin) {
  UNROLL_CHECK(kernel.dim() == 2 && kernel.size(0) == kernel.size(1) && kernel.size(0) % 2 == 1,
               "choose_kernel_size: expected an odd square [k,k] kernel, got shape ", kernel.sizes());
  auto k = kernel.detach().to(torch::kCPU, torch::kFloat64);
  const int64_t size = k.size(0), c = size / 2;
  const double total = k.sum().item<double>();
  UNROLL_CHECK(total > 0, "choose_kernel_size: the kernel has no mass");
  int64_t r = c;
  for (int64_t radius = 0; radius <= c; ++radius) {
    const double inside = k.narrow(0, c - radius, 2 * radius + 1).narrow(1, c - radius, 2 * radius + 1).sum().item<double>();
    if (inside >= mass * total * (1.0 - 1e-12)) {
      r = radius;
      break;
    }
  }
  return std::min(size, std::max<int64_t>(3, 2 * (r + margin) + 1));
}

std::vector<int64_t> pyramid_kernel_sizes(int64_t size, double step) {
  UNROLL_CHECK(size >= 1 && size % 2 == 1, "pyramid_kernel_sizes: size must be odd, got ", size);
  UNROLL_CHECK(step > 1, "pyramid_kernel_sizes: step must be > 1, got ", step);
  std::vector<int64_t> sizes{size};
  for (int l = 1; sizes.back() > 3; ++l) sizes.push_back(std::max<int64_t>(3, nearest_odd(size / std::pow(step, l))));
  std::reverse(sizes.begin(), sizes.end());
  return sizes;
}

torch::Tensor l0_latent_step(const torch::Tensor& y, const torch::Tensor& kernel, const L0LatentOptions& o) {
  o.validate();
  check_image(y, "L0 latent step");
  FourierDataStep step(y, kernel);
  const int64_t h = y.size(2), w = y.size(3);
  auto grad_power = grad_power_spectrum(h, w, y.options());
  auto one = torch::scalar_tensor(1.0, y.options());
  double beta = 2.0 * o.lambda_grad, mu = 2.0 * o.lambda_pixel, mu_dark = 2.0 * o.lambda_dark;
  torch::Tensor x = y;
  while (beta < o.beta_max) {
    auto g = grad_circular(x);
    auto keep = g.square().sum({1, 2}, true) >= o.lambda_grad / beta;  // over channels and directions
    auto rhs = beta * grad_circular_adjoint(g * keep);
    auto reg = beta * grad_power;
    if (o.lambda_pixel > 0) {
      auto u = x * (x.square().sum(1, true) >= o.lambda_pixel / mu);
      rhs = rhs + mu * u;
      reg = reg + mu;
    }
    if (o.lambda_dark > 0) {
      auto zero = dark_zero_mask(x, o.dark_patch, o.lambda_dark / mu_dark);
      rhs = rhs + mu_dark * (x * (1.0 - zero));
      reg = reg + mu_dark;
    }
    x = step.solve_spectral(rfft2(rhs), one, reg);
    beta *= o.kappa;
    mu *= o.kappa;
    mu_dark *= o.kappa;
  }
  return x;
}

namespace {

// What both entry points share: the float image, its luminance over the estimation region, the
// saturation mask, the noise level and the flat-image test. `size_hint` is the kernel side the region
// must hold. Returns false for a flat image, with result.warning set (the caller picks the fallback).
struct Prepared {
  torch::Tensor y, saturated;  // [1,1,rh,rw] luminance of the region; its mask (undefined = none)
  c10::ScalarType input_dtype = torch::kFloat32;
  torch::TensorOptions options;
};

bool prepare(const torch::Tensor& blurred, const BlindEstimateOptions& o, int64_t size_hint, Prepared& p,
             BlindEstimate& result) {
  auto image = as_image_batch(blurred);
  check_image(image, "estimate-kernel");
  UNROLL_CHECK(image.size(0) == 1, "estimate-kernel: expected one image, got a batch of ", image.size(0));
  p.input_dtype = image.scalar_type();
  if (p.input_dtype != torch::kFloat32 && p.input_dtype != torch::kFloat64) image = image.to(torch::kFloat32);
  p.options = image.options();
  const int64_t H = image.size(2), W = image.size(3);
  UNROLL_CHECK(H >= 8 && W >= 8, "estimate-kernel: the image (", H, "x", W, ") is smaller than 8x8");
  UNROLL_CHECK(size_hint <= std::min(H, W), "estimate-kernel: kernel size ", size_hint, " is larger than the image (",
               H, "x", W, ")");

  auto y_full = luminance(image);
  result.noise_estimated = o.noise_sigma < 0;
  result.noise_sigma = result.noise_estimated ? estimate_noise_sigma(y_full).item<double>() : o.noise_sigma;
  const double sigma = result.noise_sigma;
  torch::Tensor saturated_full;
  if (o.mask_saturated) saturated_full = saturation_mask(image, o.saturation_margin, o.saturation_dilation);

  // Edge content: gradients well above the noise, on unsaturated pixels.
  const double edge_level = std::max(0.02, 4.0 * sigma);
  auto magnitude = gradient_magnitude(y_full)[0];  // [H-1,W-1]
  auto edges = (magnitude > edge_level).to(y_full.dtype());
  if (saturated_full.defined()) edges = edges * (1.0 - saturated_full[0][0].narrow(0, 0, H - 1).narrow(1, 0, W - 1));

  // The estimation region.
  int64_t rh = H, rw = W, top = 0, left = 0;
  if (o.max_region > 0 && (H > o.max_region || W > o.max_region)) {
    const int64_t side = std::max(o.max_region, 4 * size_hint);
    rh = std::min(H, side);
    rw = std::min(W, side);
    auto score = torch::clamp_max(magnitude, 0.1) * edges;
    auto corner = best_window(score, std::min(rh, H - 1), std::min(rw, W - 1), std::max<int64_t>(1, side / 4));
    top = corner.first;
    left = corner.second;
  }
  result.region_top = top;
  result.region_left = left;
  result.region_height = rh;
  result.region_width = rw;
  p.y = y_full.narrow(2, top, rh).narrow(3, left, rw);
  if (saturated_full.defined()) p.saturated = saturated_full.narrow(2, top, rh).narrow(3, left, rw);
  if (p.saturated.defined()) result.saturated_pixels = static_cast<int64_t>(p.saturated.sum().item<double>());

  // Flat-image test on the region averaged over 4x4 blocks: the noise falls by 4 and a blurred edge's
  // gradient per block grows by up to 4, so weak but real (blurred) edges count and noise does not.
  const auto& y = p.y;
  const int64_t factor = std::min<int64_t>(4, std::min(rh, rw) / 8);
  auto coarse = factor > 1 ? torch::avg_pool2d(y, {factor, factor}) : y;
  if (p.saturated.defined())
    coarse = coarse * (1.0 - (factor > 1 ? torch::max_pool2d(p.saturated, {factor, factor}) : p.saturated));
  const double coarse_level = std::max(0.02, 6.0 * sigma / static_cast<double>(factor));
  const int64_t edge_pixels = (gradient_magnitude(coarse) > coarse_level).sum().item<int64_t>();
  const double coarse_pixels = static_cast<double>(coarse.size(2) * coarse.size(3));
  if (static_cast<double>(edge_pixels) < std::max(1.0, o.min_edge_fraction * coarse_pixels)) {
    result.latent = y.clone();
    result.warning = detail::concat("estimate-kernel: the image has almost no edges (", edge_pixels,
                                    " of ", coarse_pixels, " pixels of its ", factor, "x", factor,
                                    "-block average with a gradient above ", coarse_level,
                                    "); nothing to estimate a blur from");
    return false;
  }
  return true;
}

}  // namespace

BlindEstimate estimate_kernel(const torch::Tensor& blurred, const BlindEstimateOptions& o) {
  const auto t0 = Clock::now();
  o.validate();
  BlindEstimate result;
  Prepared p;
  const bool automatic = o.kernel_size == 0;
  result.kernel_size_automatic = automatic;
  if (!prepare(blurred, o, o.kernel_size, p, result)) {
    const int64_t k = automatic ? 3 : o.kernel_size;
    result.kernel = delta_kernel(k, p.options).to(p.input_dtype);
    result.kernel_size = k;
    result.warning += ", returning a delta kernel (no blur)";
    result.seconds = seconds_since(t0);
    return result;
  }
  const auto& y = p.y;
  const auto& saturated = p.saturated;
  const int64_t rh = y.size(2), rw = y.size(3);
  const double sigma = result.noise_sigma;
  const int64_t size =
      automatic ? (o.max_kernel_size > 0 ? std::min(o.max_kernel_size, (std::min(rh, rw) - 1) | 1)
                                         : default_max_kernel_size(rh, rw))
                : o.kernel_size;
  UNROLL_CHECK(size <= std::min(rh, rw), "estimate-kernel: kernel size ", size, " is larger than the image region (",
               rh, "x", rw, ")");
  result.estimated_size = size;

  Lambdas lambdas{o.lambda_grad, o.lambda_pixel, o.dark_channel ? o.lambda_dark : 0.0,
                  std::max(o.lambda_min, o.noise_lambda * sigma * sigma)};
  const auto sizes = pyramid_kernel_sizes(size, o.scale_step);
  const int levels = static_cast<int>(sizes.size());
  const int planned = levels * o.iterations + (automatic ? o.refine_iterations : 0);
  int done = 0;
  torch::Tensor kernel = delta_kernel(sizes.front(), y.options());
  torch::Tensor latent;
  for (int i = 0; i < levels; ++i) {
    const auto tl = Clock::now();
    const int l = levels - 1 - i;  // 0 = finest
    const double scale = std::pow(o.scale_step, -l);
    const int64_t h = std::max<int64_t>(sizes[i] + 2, std::llround(static_cast<double>(rh) * scale));
    const int64_t w = std::max<int64_t>(sizes[i] + 2, std::llround(static_cast<double>(rw) * scale));
    if (i > 0) kernel = recentre_kernel(resample_kernel(kernel, sizes[i], o.scale_step));
    auto y_level = l == 0 ? y : resize(y, h, w);
    torch::Tensor saturated_level;
    if (saturated.defined()) saturated_level = l == 0 ? saturated : (resize(saturated, h, w) > 0).to(y.dtype());
    const int64_t patch = std::max<int64_t>(3, nearest_odd(static_cast<double>(o.dark_patch) * scale));
    latent = alternate(y_level, saturated_level, kernel, o.iterations, patch, lambdas, o, done, planned);
    result.levels.push_back({y_level.size(2), y_level.size(3), sizes[i], o.iterations, lambdas.grad, seconds_since(tl)});
  }
  if (automatic) {
    const int64_t chosen = choose_kernel_size(kernel, o.auto_mass, o.auto_margin);
    if (chosen < size) {
      const auto tl = Clock::now();
      const int64_t off = (size - chosen) / 2;
      kernel = recentre_kernel(kernel.narrow(0, off, chosen).narrow(1, off, chosen));
      if (o.refine_iterations > 0) {
        latent = alternate(y, saturated, kernel, o.refine_iterations, o.dark_patch, lambdas, o, done, planned);
        result.levels.push_back({rh, rw, chosen, o.refine_iterations, lambdas.grad, seconds_since(tl)});
      }
    }
  }
  result.kernel = kernel.to(p.input_dtype);
  result.kernel_size = kernel.size(0);
  result.latent = latent;
  result.seconds = seconds_since(t0);
  return result;
}

int64_t refine_kernel_size(int64_t size) {
  const int64_t margin = std::max<int64_t>(2, std::llround(0.15 * static_cast<double>(size)));
  return size + 2 * margin;
}

BlindEstimate refine_kernel(const torch::Tensor& blurred, const torch::Tensor& kernel, const BlindEstimateOptions& o,
                            int iterations) {
  const auto t0 = Clock::now();
  o.validate();
  UNROLL_CHECK(iterations >= 1, "refine-kernel: iterations must be >= 1, got ", iterations);
  UNROLL_CHECK(kernel.dim() == 2, "refine-kernel: the kernel must be 2-D [kh,kw], got ", kernel.sizes());
  auto k = normalize_kernel(kernel.to(torch::kFloat64), "refine-kernel").clamp_min(0);
  // A square, odd support: an even or non-square kernel is padded so that its centre (index size / 2,
  // the convention of core/fft.h) stays the centre, and so does where it puts the image.
  int64_t given = std::max(k.size(0), k.size(1));
  given += 1 - given % 2;
  const int64_t size = refine_kernel_size(given);
  const int64_t top = given / 2 - k.size(0) / 2, left = given / 2 - k.size(1) / 2;
  k = torch::constant_pad_nd(k, {left, given - k.size(1) - left, top, given - k.size(0) - top});
  const auto image = as_image_batch(blurred);
  if (image.dim() == 4)
    UNROLL_CHECK(size <= std::min(image.size(2), image.size(3)), "refine-kernel: the ", given, "x", given,
                 " kernel with its refinement margin (", size, "x", size, ") is larger than the image (", image.size(2),
                 "x", image.size(3), ")");
  BlindEstimate result;
  Prepared p;
  result.kernel_size_automatic = false;
  if (!prepare(blurred, o, size, p, result)) {
    result.kernel = (k / k.sum()).to(p.options).to(p.input_dtype);
    result.kernel_size = given;
    result.warning += "; keeping the given kernel unrefined";
    result.seconds = seconds_since(t0);
    return result;
  }
  const auto& y = p.y;  // the region holds at least 4 x size pixels a side, or the whole image
  result.estimated_size = size;
  const double sigma = result.noise_sigma;
  // At full resolution only, from the lambdas the coarse-to-fine estimate would have reached at this
  // size: the given kernel stands for the pyramid's coarser levels. (Starting 2-4 levels coarser from
  // the resampled given kernel measured worse, docs/blind.md.)
  const double floor = std::max(o.lambda_min, o.noise_lambda * sigma * sigma);
  const double f = std::pow(o.lambda_decay, static_cast<double>(pyramid_kernel_sizes(size, o.scale_step).size()) *
                                                o.iterations);
  Lambdas lambdas{std::max(o.lambda_grad / f, floor), o.lambda_pixel > 0 ? std::max(o.lambda_pixel / f, floor) : 0.0,
                  o.dark_channel ? std::max(o.lambda_dark / f, floor) : 0.0, floor};
  // The given kernel keeps its place: its centre of mass fixes where the result lies (a kernel off
  // centre shifts the deconvolved image, and the caller's kernel defines that shift), so the
  // projection does not re-centre, and any drift of the alternations is undone at the end.
  const int64_t pad = (size - given) / 2;
  k = torch::constant_pad_nd(k / k.sum(), {pad, pad, pad, pad}).to(y.options());
  const auto anchor = kernel_centre_of_mass(k);
  BlindEstimateOptions ro = o;
  ro.projection.recentre = false;
  int done = 0;
  result.latent = alternate(y, p.saturated, k, iterations, o.dark_patch, lambdas, ro, done, iterations);
  result.levels.push_back({y.size(2), y.size(3), size, iterations, lambdas.grad, seconds_since(t0)});
  result.kernel = k;
  k = move_centre_of_mass(result.kernel, anchor.first, anchor.second);
  result.kernel = k.to(p.input_dtype);
  result.kernel_size = size;
  result.seconds = seconds_since(t0);
  return result;
}

}  // namespace unroll
