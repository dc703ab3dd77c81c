#include "classic/richardson_lucy.h"

#include "core/error.h"
#include "core/fft.h"
#include "core/tensor.h"

namespace unroll {

void RichardsonLucyOptions::validate() const {
  UNROLL_CHECK(iterations >= 1, "richardson_lucy: iterations must be >= 1, got ", iterations);
  UNROLL_CHECK(epsilon >= 0.0, "richardson_lucy: epsilon must be >= 0, got ", epsilon);
  UNROLL_CHECK(damping >= 0.0, "richardson_lucy: damping must be >= 0, got ", damping);
  UNROLL_CHECK(tv_weight >= 0.0 && tv_weight < 0.5, "richardson_lucy: tv_weight must be in [0, 0.5), got ", tv_weight);
}

SolverResult richardson_lucy(const torch::Tensor& blurred, const torch::Tensor& kernel,
                             const RichardsonLucyOptions& o) {
  o.validate();
  auto y = as_image_batch(blurred);
  check_image(y, "richardson_lucy");
  auto k = as_kernel_batch(kernel).to(y.options());
  const int64_t h = y.size(2), w = y.size(3), kh = k.size(2), kw = k.size(3);
  check_kernel(k, y.size(0), h, w, "richardson_lucy");
  using BM = RichardsonLucyOptions::BoundaryModel;

  // The model grid, the data on it, and the operators A, A^T. They run on the grid of their transforms
  // (the image itself for the circular model, the zero-padded grid of the linear convolution otherwise):
  // the estimate lives there with zeros outside origin(), and the ratio with zeros outside window(), so
  // no iteration copies into or out of a padded buffer.
  torch::Tensor data = o.boundary == BM::Zero ? y : y.clamp_min(0.0);
  torch::Tensor mask, inv_norm, keep;
  int64_t top = 0, left = 0;
  std::function<torch::Tensor(const torch::Tensor&)> A, At, origin, window;
  std::shared_ptr<SameConvolution> same;
  std::vector<int64_t> grid_shape;
  if (o.boundary == BM::Circular) {
    auto otf = psf2otf(k, h, w).div_(double(h) * double(w));  // 1/(HW) of the inverse transform folded in
    auto otf_conj = otf.conj().resolve_conj();
    A = [otf, h, w](const torch::Tensor& x) {
      return irfft2_unscaled(std::move(rfft2(x).mul_(otf)), h, w);  // move: FFTW may reuse the spectrum
    };
    At = [otf_conj, h, w](const torch::Tensor& x) {
      return irfft2_unscaled(std::move(rfft2(x).mul_(otf_conj)), h, w);
    };
    origin = window = [](const torch::Tensor& g) { return g; };
    grid_shape = data.sizes().vec();
  } else {
    int64_t gh = h, gw = w;
    if (o.boundary == BM::Normalized) {
      top = kh / 2;
      left = kw / 2;
      gh = h + kh - 1;
      gw = w + kw - 1;
      data = torch::constant_pad_nd(data, {left, kw - 1 - left, top, kh - 1 - top});
      mask = torch::zeros({1, 1, gh, gw}, y.options());
      mask.narrow(2, top, h).narrow(3, left, w).fill_(1.0);
    }
    same = std::make_shared<SameConvolution>(k, gh, gw);
    A = [same](const torch::Tensor& g) { return same->forward_on_grid(g); };
    At = [same](const torch::Tensor& g) { return same->adjoint_on_grid(g); };
    origin = [same](const torch::Tensor& g) { return same->origin(g); };
    window = [same](const torch::Tensor& g) { return same->window(g); };
    grid_shape = {data.size(0), data.size(1), same->grid_height(), same->grid_width()};
    if (mask.defined()) {
      // Pixels that send less than 0.1% of their light into the observed window are not determined
      // by the data (and FFT round-off dominates there): they keep their value (update 1). As one
      // multiply-add per iteration: update = keep + A^T(ratio) * inv_norm.
      auto norm = same->adjoint(mask);
      auto determined = norm > 1e-3;
      inv_norm = torch::where(determined, norm.clamp_min(1e-3).reciprocal(), torch::zeros_like(norm));
      keep = torch::logical_not(determined).to(norm.scalar_type());
    }
  }

  // z: the point the next step starts from, on the grid (zero outside origin()); x: the last RL
  // iterate, kept apart from z only when the acceleration extrapolates (otherwise z is x).
  auto z_grid = torch::zeros(grid_shape, data.options());
  auto z = origin(z_grid);
  if (o.initial_value >= 0.0) {
    z.fill_(o.initial_value);
  } else {
    z.copy_(y.clamp_min(0.0).mean({2, 3}, true).clamp_min(1e-6).expand_as(data));
  }
  auto ratio_grid = torch::zeros(grid_shape, data.options());
  auto ratio = window(ratio_grid);
  torch::Tensor x = o.accelerate ? z.clone() : z;

  const double damp2 = o.damping * o.damping / 2.0;
  constexpr double kDampPower = 10.0;  // MATLAB deconvlucy's N
  SolverResult result;
  result.stop_reason = StopReason::MaxIterations;
  torch::Tensor prev_step;
  // Every temporary below is fresh (an FFT output or a quotient), so the element-wise steps run in place.
  for (int it = 0; it < o.iterations; ++it) {
    const bool last = it + 1 == o.iterations;
    auto reblurred = window(A(z_grid)).add_(o.epsilon);
    if (o.boundary != BM::Zero) reblurred.clamp_min_(o.epsilon > 0 ? o.epsilon : 1e-12);
    at::div_out(ratio, data, reblurred);  // 0 outside the observed window, where the padded data is 0
    if (o.damping > 0.0) {
      auto loglik = torch::where(data > 0, data * torch::log(ratio.clamp_min(1e-30)), torch::zeros_like(data));
      auto g = ((loglik + reblurred - data) / damp2).clamp(0.0, 1.0);
      auto weight = g.pow(kDampPower - 1.0) * (kDampPower - (kDampPower - 1.0) * g);
      ratio.sub_(1.0).mul_(weight).add_(1.0);
      if (mask.defined()) ratio.mul_(mask);
    }
    auto update = origin(At(ratio_grid));
    if (inv_norm.defined()) update.mul_(inv_norm).add_(keep).clamp_min_(0.0);  // update is a fresh transform output
    if (o.tv_weight > 0.0) {
      auto g = grad_circular(z);
      auto mag = torch::sqrt(g.pow(2).sum(2, true) + 1e-8);
      auto div = -grad_circular_adjoint(g / mag);
      update = update / (1.0 - o.tv_weight * div).clamp_min(1e-2);
    }
    if (o.accelerate) {
      // Biggs-Andrews: extrapolate along the last two RL steps.
      auto x_new = update.mul_(z);
      auto step = x_new - z;
      torch::Tensor next = x_new;
      if (prev_step.defined()) {
        auto num = (step * prev_step).sum({1, 2, 3}, true);
        auto den = (prev_step * prev_step).sum({1, 2, 3}, true).clamp_min(1e-30);
        auto alpha = (num / den).clamp(0.0, 1.0);
        next = (x_new + alpha * (x_new - x)).clamp_min(0.0);
      }
      prev_step = step;
      // Only the last step's relative change is reported; skipping it elsewhere saves two passes and a
      // device synchronisation per iteration.
      if (last) result.residual = ((x_new - x).norm() / x.norm().clamp_min(1e-30)).item<double>();
      z.copy_(next);
      x = x_new;
    } else {
      torch::Tensor previous = last ? z.clone() : torch::Tensor();
      z.mul_(update);  // the RL step, in place on the grid
      if (last) result.residual = ((z - previous).norm() / previous.norm().clamp_min(1e-30)).item<double>();
    }
    result.iterations = it + 1;
    if (o.progress) o.progress(it + 1, o.iterations);
  }
  if (o.boundary == BM::Normalized) x = x.narrow(2, top, h).narrow(3, left, w);
  result.image = o.clip ? x.clamp(0.0, 1.0) : x.contiguous();  // not a view of the grid
  return result;
}

}  // namespace unroll
