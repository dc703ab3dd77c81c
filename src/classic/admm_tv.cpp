#include "classic/admm_tv.h"

#include "core/data_step.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/shrink.h"
#include "core/tensor.h"

namespace unroll {

void AdmmTvOptions::validate() const {
  UNROLL_CHECK(lambda >= 0.0, "admm: lambda must be >= 0, got ", lambda);
  UNROLL_CHECK(rho > 0.0, "admm: rho must be > 0, got ", rho);
  UNROLL_CHECK(iterations >= 1, "admm: iterations must be >= 1, got ", iterations);
  UNROLL_CHECK(tolerance >= 0.0, "admm: tolerance must be >= 0, got ", tolerance);
}

double default_tv_lambda(double sigma) {
  // Best lambda on Set3C x Levin: 0.001 at sigma 0.01 (29.41 dB), 0.0045 at sigma 0.03 (24.98 dB).
  const double s = std::max(sigma, 1e-4);
  return 0.1 * s * std::pow(s / 0.01, 0.37);
}

SolverResult admm_tv(const torch::Tensor& blurred, const torch::Tensor& kernel, const AdmmTvOptions& o) {
  o.validate();
  auto y = as_image_batch(blurred);
  check_image(y, "admm");
  auto k = as_kernel_batch(kernel).to(y.options());
  check_kernel(k, y.size(0), y.size(2), y.size(3), "admm");
  auto ext = extend_for_deconvolution(y, k, o.boundary);
  FourierDataStep step(ext.image, k);
  auto reg = grad_power_spectrum(step.height(), step.width(), y.options());
  const auto inv_den = step.inverse_denominator(torch::scalar_tensor(o.rho, y.options()), reg);
  const int64_t n = ext.image.size(0), c = ext.image.size(1), h = step.height(), w = step.width();
  const int64_t planes = n * c, wh = w / 2 + 1;
  // rho is fixed, so the x-step x = F^-1[(conj(K)F(y) + rho F(D^T(z - u))) / (|K|^2 + rho |D|^2)] is
  // F^-1[base + gain * F(D^T(z - u))] with both factors computed once. Planes ([N*C] images) are
  // independent, so they are stored plane-major and updated a chunk of about kChunkPixels at a time:
  // one chunk's fields stay in the last-level cache through an iteration, which makes the transforms
  // and element-wise passes of a 1 MP RGB image ~15-20% cheaper than on the whole batch at once.
  constexpr int64_t kChunkPixels = int64_t{1} << 20;
  const int64_t chunk = std::max<int64_t>(1, std::min(planes, kChunkPixels / (h * w)));
  const auto base = (step.kty_hat() * inv_den).reshape({planes, 1, h, wh});
  const auto gain_all = inv_den * o.rho;  // [N or 1, 1, H, W/2+1]
  const auto gain_planes = gain_all.size(0) == 1 ? gain_all : gain_all.expand({n, c, h, wh}).reshape({planes, 1, h, wh});
  const double t = o.lambda / o.rho;

  // One buffer per field, updated in place. With v = Dx + u, the z- and u-steps are
  //   u' = v - shrink(v) = the projection of v onto the radius-t ball,   z = v - u',
  // and the next x-step needs only z - u' = v - 2u', so z is formed only for the stopping test.
  const auto x0 = ext.image.reshape({planes, 1, h, w});
  torch::Tensor g, u, z, z_prev, u_prev;
  grad_circular_out(x0, g);  // z0 = D x0, u0 = 0: g holds z - u
  u = torch::zeros_like(g);
  const bool check = o.tolerance > 0.0;
  if (check) {
    z = g.clone();
    z_prev = torch::empty_like(g);
    u_prev = torch::empty_like(g);
  }
  std::vector<torch::Tensor> x_chunks;
  torch::Tensor rhs_buffer;
  SolverResult result;
  result.stop_reason = StopReason::MaxIterations;
  for (int it = 0; it < o.iterations; ++it) {
    if (check) {
      std::swap(u, u_prev);
      std::swap(z, z_prev);
    }
    const auto& u_old = check ? u_prev : u;
    double dx2 = 0.0, primal2 = 0.0, dual2 = 0.0;
    x_chunks.clear();
    for (int64_t p0 = 0; p0 < planes; p0 += chunk) {
      const int64_t pn = std::min(chunk, planes - p0);
      auto gc = g.narrow(0, p0, pn), uc = u.narrow(0, p0, pn);
      const auto gain = gain_planes.size(0) == 1 ? gain_planes : gain_planes.narrow(0, p0, pn);
      if (!rhs_buffer.defined()) rhs_buffer = torch::empty({chunk, 1, h, w}, y.options());
      auto rhs = rhs_buffer.narrow(0, 0, pn);
      grad_circular_adjoint_out(gc, rhs);
      auto xc = irfft2(std::move(rfft2(rhs).mul_(gain).add_(base.narrow(0, p0, pn))), h, w);
      grad_circular_out(xc, gc);  // D x
      if (check) dx2 += gc.square().sum().item<double>();
      gc.add_(u_old.narrow(0, p0, pn));  // v = Dx + u
      if (o.isotropic) {
        project_group_ball_out(gc, t, uc);
      } else {
        project_linf_ball_out(gc, t, uc);
      }
      if (check) {
        // Dx - z = u' - u and z - z_prev: the primal and dual residuals.
        auto zc = z.narrow(0, p0, pn);
        at::sub_out(zc, gc, uc);
        primal2 += (uc - u_old.narrow(0, p0, pn)).square().sum().item<double>();
        dual2 += (zc - z_prev.narrow(0, p0, pn)).square().sum().item<double>();
      }
      gc.sub_(uc, 2.0);  // z - u for the next x-step
      x_chunks.push_back(xc);
    }
    result.iterations = it + 1;
    if (o.progress) o.progress(it + 1, o.iterations);
    if (check) {
      const double scale = std::max(std::sqrt(dx2), 1e-12);
      const double primal = std::sqrt(primal2) / scale, dual = std::sqrt(dual2) / scale;
      result.residual = std::max(primal, dual);
      if (primal < o.tolerance && dual < o.tolerance) {
        result.stop_reason = StopReason::Tolerance;
        break;
      }
    }
  }
  auto x = (x_chunks.size() == 1 ? x_chunks[0] : torch::cat(x_chunks, 0)).reshape({n, c, h, w});
  x = ext.crop(x);
  result.image = o.clip ? x.clamp(0.0, 1.0) : x;
  return result;
}

}  // namespace unroll
