// The 2x up-sampling of the U-Net priors (ResUNet, AttentionUNet): a transposed convolution with a
// 2x2 kernel and stride 2, computed as a 1x1 convolution to 4x the channels followed by a pixel shuffle.
//
// With kernel = stride = 2 the transposed convolution's output pixels do not overlap:
//   out[n, o, 2i + a, 2j + b] = bias[o] + sum_c x[n, c, i, j] * weight[c, o, a, b],
// which is a 1x1 convolution with weight'[4o + 2a + b, c] = weight[c, o, a, b] and bias'[4o + 2a + b] =
// bias[o], then pixel_shuffle(2). The same values (up to float rounding), but it runs on oneDNN's
// convolution instead of LibTorch's im2col + GEMM transposed-convolution kernel (measured:
// docs/benchmarks.md). Parameters and their initialisation are those of
// torch::nn::ConvTranspose2d(in, out, 2).stride(2): `weight` [in, out, 2, 2], `bias` [out] (when
// enabled), so checkpoints (official USRNet / DRUNet ones included) load unchanged.
#pragma once

#include <torch/torch.h>

namespace unroll {

class UpConv2x2Impl : public torch::nn::Module {
 public:
  UpConv2x2Impl(int64_t in_channels, int64_t out_channels, bool bias = true);
  /// x [N, in, H, W] -> [N, out, 2H, 2W].
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;

 private:
  int64_t in_, out_;
};
TORCH_MODULE(UpConv2x2);

}  // namespace unroll
