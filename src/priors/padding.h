// Padding shared by the U-Net priors, which need sides divisible by their total down-sampling factor.
#pragma once

#include <torch/torch.h>

namespace unroll {

/// Replicate-pads x [N,C,H,W] at the bottom and right so that H and W become multiples of m (crop the
/// result back with narrow(2, 0, H).narrow(3, 0, W)).
torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t m);

}  // namespace unroll
