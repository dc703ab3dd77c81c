#include "hqs/pnp.h"

#include <cmath>

#include "core/data_step.h"
#include "core/error.h"
#include "core/tensor.h"

namespace unroll {

void PnpHqsOptions::validate() const {
  UNROLL_CHECK(iterations >= 1, "pnp-hqs: iterations must be >= 1, got ", iterations);
  UNROLL_CHECK(sigma_start > 0.0 && std::isfinite(sigma_start), "pnp-hqs: sigma_start must be > 0, got ", sigma_start);
  UNROLL_CHECK(sigma_floor > 0.0 && std::isfinite(sigma_floor), "pnp-hqs: sigma_floor must be > 0, got ", sigma_floor);
  UNROLL_CHECK(lambda > 0.0 && std::isfinite(lambda), "pnp-hqs: lambda must be > 0, got ", lambda);
  UNROLL_CHECK(kernel_error >= 0.0 && std::isfinite(kernel_error), "pnp-hqs: kernel_error must be >= 0, got ",
               kernel_error);
}

PnpSchedule dpir_schedule(double sigma, const PnpHqsOptions& options) {
  options.validate();
  UNROLL_CHECK(sigma >= 0.0 && std::isfinite(sigma), "pnp-hqs: noise level sigma must be >= 0, got ", sigma);
  const double s = std::max(options.sigma_floor, sigma);
  const int K = options.iterations;
  // numpy.logspace(log10(49), log10(s*255), K).astype(float32) / 255, as DPIR's get_rho_sigma.
  const double lo = std::log10(options.sigma_start * 255.0), hi = std::log10(s * 255.0);
  PnpSchedule out;
  for (int k = 0; k < K; ++k) {
    const double t = K == 1 ? 0.0 : static_cast<double>(k) / (K - 1);
    // numpy: start + k * step, step = (stop - start) / (K - 1); the last point is exactly `stop`.
    const double e = K == 1 ? lo : (k == K - 1 ? hi : lo + t * (hi - lo));
    const float level32 = static_cast<float>(std::pow(10.0, e)) / 255.0f;  // float32 like numpy
    const double level = static_cast<double>(level32);
    out.sigmas.push_back(level);
    out.alphas.push_back(options.lambda * s * s / (level * level));
  }
  return out;
}

torch::Tensor augment(const torch::Tensor& x, int mode) {
  switch (mode) {
    case 0: return x;
    case 1: return x.rot90(1, {2, 3}).flip({2});
    case 2: return x.flip({2});
    case 3: return x.rot90(3, {2, 3});
    case 4: return x.rot90(2, {2, 3}).flip({2});
    case 5: return x.rot90(1, {2, 3});
    case 6: return x.rot90(2, {2, 3});
    case 7: return x.rot90(3, {2, 3}).flip({2});
  }
  fail("augment: mode must be in 0..7, got ", mode);
}

torch::Tensor inverse_augment(const torch::Tensor& x, int mode) {
  // Reflections (1, 2, 4, 7) and the half turn (6) are involutions; quarter turns 3 and 5 invert each other.
  if (mode == 3) return augment(x, 5);
  if (mode == 5) return augment(x, 3);
  return augment(x, mode);
}

SolverResult pnp_hqs_with(const DataStepFn& data_step, const torch::Tensor& y, double sigma, Prior& prior,
                          const PnpHqsOptions& options) {
  options.validate();
  check_image(y, "pnp-hqs input");
  UNROLL_CHECK(prior.channels() == 0 || prior.channels() == y.size(1), "pnp-hqs: the ", prior.kind(),
               " prior expects ", prior.channels(), " channels, the image has ", y.size(1));
  const auto schedule = dpir_schedule(sigma, options);
  torch::Tensor z = y, previous;
  const int K = options.iterations;
  for (int i = 0; i < K; ++i) {
    auto x = data_step(z, torch::full({}, schedule.alphas[i], y.options()));
    const int mode = options.alternate_transforms ? i % 8 : 0;
    auto level = torch::full({1, 1, 1, 1}, schedule.sigmas[i], x.options());
    previous = z;
    z = inverse_augment(prior.denoise(augment(x, mode), level), mode);
    if (options.progress) options.progress(i + 1, K);
  }
  SolverResult result;
  result.image = options.clip ? z.clamp(0.0, 1.0) : z;
  result.residual = ((z - previous).norm() / previous.norm().clamp_min(1e-12)).item<double>();
  result.iterations = K;
  result.stop_reason = StopReason::ScheduleEnd;
  return result;
}

SolverResult pnp_hqs(const torch::Tensor& blurred, const torch::Tensor& kernel, double sigma, Prior& prior,
                     const PnpHqsOptions& options) {
  options.validate();
  const auto original_dim = blurred.dim();
  auto y = as_image_batch(blurred);
  check_image(y, "pnp-hqs input");
  auto k = as_kernel_batch(kernel).to(y.options());
  check_kernel(k, y.size(0), y.size(2), y.size(3), "pnp-hqs kernel");
  const Extended ext = extend_for_deconvolution(y, k, options.boundary);
  const FourierDataStep data(ext.image, k);
  const double model_error =
      kernel_model_error(k, options.kernel_error, sigma, ext.image.size(2), ext.image.size(3));
  SolverResult result = pnp_hqs_with(
      [&](const torch::Tensor& z, const torch::Tensor& a) { return data.solve_uncertain(z, a, model_error); },
      ext.image, sigma, prior, options);
  auto out = ext.crop(result.image);
  if (original_dim == 2) out = out.squeeze(0).squeeze(0);
  if (original_dim == 3) out = out.squeeze(0);
  result.image = out;
  return result;
}

}  // namespace unroll
