#include "core/noise.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"

namespace unroll {

torch::Tensor seeded_randn_like(const torch::Tensor& like, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto n = at::randn(like.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat64));
  return n.to(like.options());
}

torch::Tensor add_gaussian_noise(const torch::Tensor& x, double sigma, uint64_t seed) {
  UNROLL_CHECK(sigma >= 0.0, "noise: sigma must be >= 0, got ", sigma);
  if (sigma == 0.0) return x;
  return x + sigma * seeded_randn_like(x, seed);
}

torch::Tensor quantize_8bit(const torch::Tensor& x) { return torch::round(x.clamp(0.0, 1.0) * 255.0) / 255.0; }

}  // namespace unroll

namespace unroll {

torch::Tensor estimate_noise_sigma(const torch::Tensor& x) {
  UNROLL_CHECK(x.dim() == 4 && x.size(2) >= 3 && x.size(3) >= 3, "estimate_noise_sigma: need [N,C,H,W] with H,W >= 3");
  auto mask = torch::tensor({1.0, -2.0, 1.0, -2.0, 4.0, -2.0, 1.0, -2.0, 1.0}, x.options()).reshape({1, 1, 3, 3});
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto r = torch::conv2d(x.reshape({n * c, 1, h, w}), mask).abs().reshape({n, -1});
  return r.sum(1) * (std::sqrt(M_PI / 2.0) / (6.0 * static_cast<double>(c * (h - 2) * (w - 2))));
}

}  // namespace unroll
