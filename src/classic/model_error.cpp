#include "classic/model_error.h"

#include <algorithm>
#include <cmath>

#include "classic/hqs_tv.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/noise.h"
#include "core/tensor.h"

namespace unroll {

void ModelErrorOptions::validate() const {
  UNROLL_CHECK(std::isfinite(tolerance) && tolerance >= 1.0, "model error: tolerance must be >= 1, got ", tolerance);
  UNROLL_CHECK(max_side >= 16, "model error: max_side must be >= 16, got ", max_side);
}

ModelError measure_model_error(const torch::Tensor& blurred, const torch::Tensor& kernel, double sigma,
                               Boundary boundary, const ModelErrorOptions& o) {
  o.validate();
  UNROLL_CHECK(std::isfinite(sigma) && sigma >= 0.0, "model error: sigma must be >= 0, got ", sigma);
  torch::NoGradGuard no_grad;
  auto y = as_image_batch(blurred);
  check_image(y, "model error");
  auto k = as_kernel_batch(kernel).to(y.options());
  check_kernel(k, y.size(0), y.size(2), y.size(3), "model error");
  const int64_t h = y.size(2), w = y.size(3);
  ModelError e;
  e.sigma = sigma;
  if (h > o.max_side || w > o.max_side) {
    const int64_t wh = std::min(h, o.max_side), ww = std::min(w, o.max_side);
    y = y.narrow(2, (h - wh) / 2, wh).narrow(3, (w - ww) / 2, ww);
    boundary = Boundary::LiuJia;
    e.windowed = true;
  }
  HqsTvOptions tv;
  tv.lambda = default_hqs_lambda(sigma);
  tv.boundary = boundary;
  // The rms of k * fit - observation, a kernel's size in from every side (k * fit by a circular
  // convolution: no wrap-around, and no boundary extension of the fit, reaches that far in).
  const int64_t margin = std::max(k.size(2), k.size(3));
  auto residual = [&](const torch::Tensor& obs, torch::Tensor* fit) {
    auto x = hqs_tv(obs, k, tv).image;
    auto r = conv_circular(x, k) - obs;
    if (r.size(2) > 2 * margin + 4 && r.size(3) > 2 * margin + 4)
      r = r.narrow(2, margin, r.size(2) - 2 * margin).narrow(3, margin, r.size(3) - 2 * margin);
    if (fit != nullptr) *fit = x;
    return r.to(torch::kFloat64).pow(2).mean().sqrt().item<double>();
  };
  e.residual = residual(y, &e.fit);
  // The same fit on an observation whose kernel is exact by construction: the fit blurred by k, with
  // fresh noise of level sigma. Its residual is what this scene and noise leave with a right kernel.
  e.baseline = residual(add_gaussian_noise(conv_circular(e.fit, k), sigma, o.seed), nullptr);
  const double floor = o.tolerance * e.baseline;
  e.excess = std::sqrt(std::max(0.0, e.residual * e.residual - floor * floor));
  return e;
}

void HedgeShape::validate() const {
  UNROLL_CHECK(
      std::isfinite(start) && start < full && full <= fall_from && fall_from < fall_to && std::isfinite(fall_to),
      "model error: the hedge's ratios must satisfy start < full <= fall_from < fall_to");
  UNROLL_CHECK(floor >= 0.0 && floor <= 1.0, "model error: the hedge's floor must be in [0, 1], got ", floor);
  UNROLL_CHECK(std::isfinite(drift) && drift >= 0.0 && std::isfinite(drift_from),
               "model error: the hedge's drift must be >= 0");
}

double hedge_share(const ModelError& error, double hedge, const HedgeShape& shape) {
  UNROLL_CHECK(std::isfinite(hedge) && hedge >= 0.0 && hedge <= 1.0, "model error: hedge must be in [0, 1], got ",
               hedge);
  shape.validate();
  if (hedge == 0.0 || !(error.baseline > 0.0)) return 0.0;
  const double ratio = error.residual / error.baseline;
  const double shift =
      std::min(shape.drift * std::max(0.0, 255.0 * error.sigma - shape.drift_from), shape.fall_from - shape.full);
  const double up = std::clamp((ratio - shape.start - shift) / (shape.full - shape.start), 0.0, 1.0);
  const double down = std::clamp((shape.fall_to - ratio) / (shape.fall_to - shape.fall_from), 0.0, 1.0);
  return hedge * up * (shape.floor + (1.0 - shape.floor) * down);
}

double model_error_sigma(double sigma, const ModelError& error, double scale) {
  UNROLL_CHECK(std::isfinite(scale) && scale >= 0.0, "model error: scale must be >= 0, got ", scale);
  return std::sqrt(sigma * sigma + scale * scale * error.excess * error.excess);
}

}  // namespace unroll
