// Noise models and quantisation.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace unroll {

/// Noise standard deviation of an image [N,C,H,W] estimated from its finest-scale Laplacian
/// residual (Immerkaer 1996, "Fast noise variance estimation"), one value per sample, [N].
torch::Tensor estimate_noise_sigma(const torch::Tensor& x);

/// Seeded standard-normal samples with the shape and options of `like`. The samples are drawn on the
/// CPU with a generator seeded by `seed` and then moved, so they are identical on every device.
torch::Tensor seeded_randn_like(const torch::Tensor& like, uint64_t seed);

/// x + sigma * n, n ~ N(0,1) seeded (sigma on the [0,1] scale). No clipping.
torch::Tensor add_gaussian_noise(const torch::Tensor& x, double sigma, uint64_t seed);

/// round(clamp(x,0,1) * 255) / 255.
torch::Tensor quantize_8bit(const torch::Tensor& x);

}  // namespace unroll
