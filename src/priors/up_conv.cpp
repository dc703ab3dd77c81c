#include "priors/up_conv.h"

namespace unroll {

UpConv2x2Impl::UpConv2x2Impl(int64_t in_channels, int64_t out_channels, bool with_bias)
    : in_(in_channels), out_(out_channels) {
  // Initialised by the transposed convolution it replaces (same RNG draws, same distribution).
  torch::nn::ConvTranspose2dImpl init(
      torch::nn::ConvTranspose2dOptions(in_channels, out_channels, 2).stride(2).bias(with_bias));
  weight = register_parameter("weight", init.weight.detach().clone());
  if (with_bias) bias = register_parameter("bias", init.bias.detach().clone());
}

torch::Tensor UpConv2x2Impl::forward(const torch::Tensor& x) {
  auto w = weight.permute({1, 2, 3, 0}).reshape({out_ * 4, in_, 1, 1});
  torch::Tensor b;
  if (bias.defined()) b = bias.repeat_interleave(4);
  return torch::pixel_shuffle(torch::conv2d(x, w, b), 2);
}

}  // namespace unroll
