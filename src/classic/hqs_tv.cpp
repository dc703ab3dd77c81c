#include "classic/hqs_tv.h"

#include "classic/admm_tv.h"
#include "core/data_step.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/shrink.h"
#include "core/tensor.h"

namespace unroll {

void HqsTvOptions::validate() const {
  UNROLL_CHECK(lambda > 0.0, "hqs-tv: lambda must be > 0, got ", lambda);
  UNROLL_CHECK(alpha > 0.0 && alpha <= 1.0, "hqs-tv: alpha must be in (0,1], got ", alpha);
  UNROLL_CHECK(beta0 > 0.0, "hqs-tv: beta0 must be > 0, got ", beta0);
  UNROLL_CHECK(beta_rate > 1.0, "hqs-tv: beta_rate must be > 1, got ", beta_rate);
  UNROLL_CHECK(beta_max >= beta0, "hqs-tv: beta_max must be >= beta0, got ", beta_max);
  UNROLL_CHECK(inner_iterations >= 1, "hqs-tv: inner_iterations must be >= 1, got ", inner_iterations);
}

int HqsTvOptions::total_iterations() const {
  int n = 0;
  for (double b = beta0; b <= beta_max * (1.0 + 1e-12); b *= beta_rate) ++n;
  return n * inner_iterations;
}

double default_hqs_lambda(double sigma, double alpha) {
  // lambda/2 ||kx-y||^2 + TV(x) is 1/2 ||kx-y||^2 + (1/lambda) TV(x): reuse the ADMM calibration.
  // Hyper-Laplacian exponents penalise small gradients more, so they take twice the data weight.
  return (alpha == 1.0 ? 1.0 : 2.0) / default_tv_lambda(sigma);
}

SolverResult hqs_tv(const torch::Tensor& blurred, const torch::Tensor& kernel, const HqsTvOptions& o) {
  o.validate();
  auto y = as_image_batch(blurred);
  check_image(y, "hqs-tv");
  auto k = as_kernel_batch(kernel).to(y.options());
  check_kernel(k, y.size(0), y.size(2), y.size(3), "hqs-tv");
  auto ext = extend_for_deconvolution(y, k, o.boundary);
  FourierDataStep step(ext.image, k);
  auto reg = grad_power_spectrum(step.height(), step.width(), y.options());

  const int total = o.total_iterations();
  auto x = ext.image;
  SolverResult result;
  result.stop_reason = StopReason::ScheduleEnd;
  for (double beta = o.beta0; beta <= o.beta_max * (1.0 + 1e-12); beta *= o.beta_rate) {
    const auto a = torch::scalar_tensor(beta / o.lambda, y.options());
    const auto inv_den = step.inverse_denominator(a, reg);
    for (int inner = 0; inner < o.inner_iterations; ++inner) {
      auto w = hyper_laplacian_prox(grad_circular(x), o.alpha, beta);
      auto x_new = step.solve_with_inverse(rfft2(grad_circular_adjoint(w)), a, inv_den);
      result.residual = ((x_new - x).norm() / x.norm().clamp_min(1e-30)).item<double>();
      x = x_new;
      ++result.iterations;
      if (o.progress) o.progress(result.iterations, total);
    }
  }
  x = ext.crop(x);
  result.image = o.clip ? x.clamp(0.0, 1.0) : x;
  return result;
}

}  // namespace unroll
