#include "core/shrink.h"

#include <algorithm>

#include "core/error.h"
#include "core/tensor.h"

namespace unroll {

torch::Tensor soft_threshold(const torch::Tensor& v, double t) {
  return torch::sign(v) * (v.abs() - t).clamp_min(0.0);
}

torch::Tensor group_soft_threshold(const torch::Tensor& v, double t) {
  auto mag = v.square().sum(2, true).sqrt_();
  auto scale = mag.clamp_min_(1e-12).reciprocal_().mul_(-t).add_(1.0).clamp_min_(0.0);  // max(1 - t/|v|, 0)
  return v * scale;
}

void project_linf_ball_out(const torch::Tensor& v, double t, torch::Tensor& out) {
  UNROLL_CHECK(t >= 0.0, "project_linf_ball: radius must be >= 0, got ", t);
  ensure_buffer(out, v.sizes(), v);
  at::clamp_out(out, v, -t, t);
}

void project_group_ball_out(const torch::Tensor& v, double t, torch::Tensor& out) {
  UNROLL_CHECK(v.dim() == 5 && v.size(2) == 2, "project_group_ball: v must be [N,C,2,H,W], got shape ", v.sizes());
  UNROLL_CHECK(t >= 0.0, "project_group_ball: radius must be >= 0, got ", t);
  ensure_buffer(out, v.sizes(), v);
  if (t == 0.0) {
    out.zero_();
    return;
  }
  // out = v * min(1, t / |v|) = v * t / max(|v|, t): only vectorised passes (no hypot, no division by 0).
  auto vx = v.select(2, 0), vy = v.select(2, 1);
  auto scale = out.select(2, 0);  // scratch: overwritten by the final product below
  at::mul_out(scale, vx, vx);
  scale.addcmul_(vy, vy).clamp_min_(std::max(t * t, 1e-30)).rsqrt_().mul_(t);
  auto out_y = out.select(2, 1);
  at::mul_out(out_y, vy, scale);
  out.select(2, 0).mul_(vx);
}

torch::Tensor hyper_laplacian_prox(const torch::Tensor& v, double alpha, double beta) {
  UNROLL_CHECK(alpha > 0.0 && alpha <= 1.0, "hyper-Laplacian: alpha must be in (0,1], got ", alpha);
  UNROLL_CHECK(beta > 0.0, "hyper-Laplacian: beta must be > 0, got ", beta);
  if (alpha == 1.0) return soft_threshold(v, 1.0 / beta);
  auto a = v.abs();
  // f(w) = w^alpha + beta/2 (w - a)^2 on w in (0, a]; its stationary point nearest a is found by
  // Newton's method from w = a (f is convex to the right of the inflection point).
  auto w = a.clone();
  for (int i = 0; i < 12; ++i) {
    auto ws = w.clamp_min(1e-12);
    auto d1 = alpha * ws.pow(alpha - 1.0) + beta * (ws - a);
    auto d2 = (alpha * (alpha - 1.0) * ws.pow(alpha - 2.0) + beta).clamp_min(1e-12);
    w = (ws - d1 / d2).clamp(0.0, 1e30);
    w = torch::minimum(w, a);
  }
  auto f_w = w.pow(alpha) + 0.5 * beta * (w - a).pow(2);
  auto f_0 = 0.5 * beta * a.pow(2);
  return torch::where(f_w < f_0, torch::sign(v) * w, torch::zeros_like(v));
}

}  // namespace unroll
