#include "core/metrics.h"

#include <algorithm>
#include <array>
#include <map>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/noise.h"
#include "core/tensor.h"

namespace unroll {
namespace {

torch::Tensor prepare(const torch::Tensor& x_in, int64_t border, bool y_channel, bool round_8bit,
                      const char* who) {
  auto x = as_image_batch(x_in);
  if (round_8bit) x = quantize_8bit(x);
  if (y_channel && x.size(1) == 3) x = rgb_to_y(x);
  if (border > 0) {
    UNROLL_CHECK(x.size(2) > 2 * border && x.size(3) > 2 * border, who, ": border ", border, " too large for ",
                 x.size(2), "x", x.size(3));
    x = x.narrow(2, border, x.size(2) - 2 * border).narrow(3, border, x.size(3) - 2 * border);
  }
  return x;
}

void check_pair(const torch::Tensor& x, const torch::Tensor& ref, const char* who) {
  UNROLL_CHECK(x.sizes() == ref.sizes(), who, ": image sizes differ: ", x.sizes(), " vs ", ref.sizes());
}

}  // namespace

torch::Tensor rgb_to_y(const torch::Tensor& rgb) {
  UNROLL_CHECK(rgb.size(1) == 3, "rgb_to_y: expected 3 channels, got ", rgb.size(1));
  auto r = rgb.narrow(1, 0, 1), g = rgb.narrow(1, 1, 1), b = rgb.narrow(1, 2, 1);
  return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
}

double mse(const torch::Tensor& x, const torch::Tensor& ref) {
  check_pair(as_image_batch(x), as_image_batch(ref), "mse");
  return (x.to(torch::kFloat64) - ref.to(torch::kFloat64)).pow(2).mean().item<double>();
}

torch::Tensor psnr_per_sample(const torch::Tensor& x_in, const torch::Tensor& ref_in, const PsnrOptions& o) {
  auto x = prepare(x_in.to(torch::kFloat64), o.border, o.y_channel, o.round_8bit, "psnr");
  auto ref = prepare(ref_in.to(torch::kFloat64), o.border, o.y_channel, o.round_8bit, "psnr");
  check_pair(x, ref, "psnr");
  auto m = (x - ref).pow(2).mean({1, 2, 3});
  return 10.0 * torch::log10((o.data_range * o.data_range) / m);
}

double psnr(const torch::Tensor& x, const torch::Tensor& ref, const PsnrOptions& o) {
  return psnr_per_sample(x, ref, o).mean().item<double>();
}

torch::Tensor ssim_map(const torch::Tensor& x_in, const torch::Tensor& ref_in, const SsimOptions& o) {
  UNROLL_CHECK(o.window >= 3 && o.window % 2 == 1, "ssim: window must be odd and >= 3, got ", o.window);
  auto x = prepare(x_in, o.border, o.y_channel, o.round_8bit, "ssim");
  auto ref = prepare(ref_in.to(x_in.scalar_type()), o.border, o.y_channel, o.round_8bit, "ssim");
  check_pair(x, ref, "ssim");
  UNROLL_CHECK(x.size(2) >= o.window && x.size(3) >= o.window, "ssim: image ", x.size(2), "x", x.size(3),
               " is smaller than the ", o.window, "x", o.window, " window");
  const int64_t c = x.size(1);
  auto opts = x.options();
  const int64_t r = o.window / 2;
  auto t = torch::arange(-r, r + 1, opts);
  auto g = torch::exp(-(t * t) / (2.0 * o.sigma * o.sigma));
  g = g / g.sum();
  auto gx = g.reshape({1, 1, 1, o.window}).repeat({c, 1, 1, 1});
  auto gy = g.reshape({1, 1, o.window, 1}).repeat({c, 1, 1, 1});
  auto filt = [&](const torch::Tensor& v) {
    const std::vector<int64_t> one{1, 1}, zero{0, 0};
    auto h = torch::conv2d(v, gx, torch::Tensor(), one, zero, one, c);
    return torch::conv2d(h, gy, torch::Tensor(), one, zero, one, c);
  };
  const double c1 = std::pow(o.k1 * o.data_range, 2), c2 = std::pow(o.k2 * o.data_range, 2);
  auto mx = filt(x);
  auto my = filt(ref);
  auto sxx = filt(x * x) - mx * mx;
  auto syy = filt(ref * ref) - my * my;
  auto sxy = filt(x * ref) - mx * my;
  return ((2.0 * mx * my + c1) * (2.0 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2));
}

torch::Tensor ssim_per_sample(const torch::Tensor& x, const torch::Tensor& ref, const SsimOptions& o) {
  return ssim_map(x, ref, o).mean({1, 2, 3});
}

torch::Tensor ssim(const torch::Tensor& x, const torch::Tensor& ref, const SsimOptions& o) {
  return ssim_per_sample(x, ref, o).mean();
}

double combined_score(double psnr_db, double ssim_value) { return 100.0 * (psnr_db / 33.0 + ssim_value) / 2.0; }

void ShiftAlignedOptions::validate() const {
  UNROLL_CHECK(crop >= 0, "shift-aligned metric: crop must be >= 0, got ", crop);
  UNROLL_CHECK(std::isfinite(max_shift) && max_shift >= 0 && max_shift < static_cast<double>(crop) + 1,
               "shift-aligned metric: max_shift must be in [0, crop + 1), got ", max_shift);
  UNROLL_CHECK(std::isfinite(step) && step > 0, "shift-aligned metric: step must be > 0, got ", step);
}

namespace {

/// img's window of `len` samples along `dim` starting at crop + s (fractional: blended with the next
/// sample), clamped to the image.
torch::Tensor window_along(const torch::Tensor& img, int dim, double s, int64_t crop, int64_t len) {
  const double f = std::floor(s);
  const double t = s - f;
  const int64_t size = img.size(dim);
  const int64_t start = std::clamp<int64_t>(crop + static_cast<int64_t>(f), 0, size - len);
  const int64_t next = std::clamp<int64_t>(start + 1, 0, size - len);
  auto a = img.narrow(dim, start, len);
  return t == 0 ? a : a * (1.0 - t) + img.narrow(dim, next, len) * t;
}

}  // namespace

torch::Tensor shifted_window(const torch::Tensor& x_in, double shift_y, double shift_x, int64_t crop) {
  auto x = as_image_batch(x_in);
  const int64_t h = x.size(2), w = x.size(3);
  UNROLL_CHECK(crop >= 0 && h > 2 * crop && w > 2 * crop, "shifted window: crop ", crop, " too large for ", h, "x", w);
  return window_along(window_along(x, 2, shift_y, crop, h - 2 * crop), 3, shift_x, crop, w - 2 * crop);
}

ShiftAlignedError shift_aligned_ssd(const torch::Tensor& x_in, const torch::Tensor& ref_in,
                                    const ShiftAlignedOptions& o) {
  o.validate();
  auto x = as_image_batch(x_in).to(torch::kFloat64);
  auto ref = as_image_batch(ref_in).to(torch::kFloat64);
  check_pair(x, ref, "shift-aligned metric");
  UNROLL_CHECK(x.size(0) == 1, "shift-aligned metric: expected one image, got a batch of ", x.size(0));
  const int64_t h = x.size(2), w = x.size(3), c = o.crop;
  UNROLL_CHECK(h > 2 * c && w > 2 * c, "shift-aligned metric: crop ", c, " too large for ", h, "x", w);
  const int64_t ch = h - 2 * c, cw = w - 2 * c;
  auto target = ref.narrow(2, c, ch).narrow(3, c, cw);
  const int64_t steps = static_cast<int64_t>(std::floor(o.max_shift / o.step + 1e-9));
  // x(p + s) at a fractional shift s = f + t is the blend (1 - t) A_f + t A_next of the windows starting at
  // c + f and at the next sample (window_along; positions beyond the image clamped to the edge). In two
  // dimensions the window is a weighted sum of four integer windows X_P whose weights sum to 1, so its
  // SSD against the target T is the quadratic form  sum_{P,Q} w_P w_Q <X_P - T, X_Q - T>. The inner
  // products depend only on the integer window origins and are shared by the (1/step)^2 fractional shifts
  // around them: computed once each (about 5 per origin instead of one full SSD per shift), exactly the
  // sum the direct search makes, up to rounding.
  std::map<std::array<int64_t, 4>, double> inner;
  auto window_minus_target = [&](int64_t r, int64_t q) { return x.narrow(2, r, ch).narrow(3, q, cw) - target; };
  auto product = [&](int64_t r1, int64_t q1, int64_t r2, int64_t q2) {
    std::array<int64_t, 4> key{r1, q1, r2, q2};
    if (std::make_pair(r2, q2) < std::make_pair(r1, q1)) key = {r2, q2, r1, q1};
    auto it = inner.find(key);
    if (it != inner.end()) return it->second;
    const auto a = window_minus_target(key[0], key[1]);
    const double v = (key[0] == key[2] && key[1] == key[3]) ? a.square().sum().item<double>()
                                                            : (a * window_minus_target(key[2], key[3])).sum().item<double>();
    return inner.emplace(key, v).first->second;
  };
  // The two window origins and weights of shift s along an axis of `size` samples (window_along's rule).
  struct Taps {
    int64_t start[2];
    double weight[2];
  };
  auto taps = [&](double s, int64_t size, int64_t len) {
    const double f = std::floor(s);
    const double t = s - f;
    Taps k;
    k.start[0] = std::clamp<int64_t>(c + static_cast<int64_t>(f), 0, size - len);
    k.start[1] = std::clamp<int64_t>(k.start[0] + 1, 0, size - len);
    k.weight[0] = 1.0 - t;
    k.weight[1] = t;
    return k;
  };
  ShiftAlignedError best;
  best.ssd = std::numeric_limits<double>::infinity();
  for (int64_t iy = -steps; iy <= steps; ++iy) {
    const double sy = static_cast<double>(iy) * o.step;
    const Taps ty = taps(sy, h, ch);
    for (int64_t ix = -steps; ix <= steps; ++ix) {
      const double sx = static_cast<double>(ix) * o.step;
      const Taps tx = taps(sx, w, cw);
      double ssd = 0;
      for (int a = 0; a < 4; ++a) {
        const double wa = ty.weight[a / 2] * tx.weight[a % 2];
        if (wa == 0) continue;
        for (int b = 0; b < 4; ++b) {
          const double wb = ty.weight[b / 2] * tx.weight[b % 2];
          if (wb == 0) continue;
          ssd += wa * wb * product(ty.start[a / 2], tx.start[a % 2], ty.start[b / 2], tx.start[b % 2]);
        }
      }
      ssd = std::max(ssd, 0.0);  // a sum of squares; rounding cannot make it negative
      // Ties go to the smaller shift, so identical images report (0, 0).
      const bool better = ssd < best.ssd ||
                          (ssd == best.ssd && std::abs(sy) + std::abs(sx) < std::abs(best.shift_y) + std::abs(best.shift_x));
      if (better) best = {ssd, sy, sx};
    }
  }
  return best;
}

double shift_aligned_error_ratio(const torch::Tensor& with_estimate, const torch::Tensor& with_true_kernel,
                                 const torch::Tensor& ref, const ShiftAlignedOptions& options) {
  const double estimated = shift_aligned_ssd(with_estimate, ref, options).ssd;
  const double reference = shift_aligned_ssd(with_true_kernel, ref, options).ssd;
  if (reference == 0) return estimated == 0 ? 1.0 : std::numeric_limits<double>::infinity();
  return estimated / reference;
}

}  // namespace unroll
