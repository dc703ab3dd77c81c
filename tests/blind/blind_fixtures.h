// Synthetic blind-deblurring cases shared by tests/blind (core binary) and tests/eval (OpenCV binary).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "core/fft.h"

namespace unroll::test {

/// The blind protocol's blur: the scene reflect-extended by the kernel radius, linearly convolved and
/// cropped back to its size ('valid'), so the observation has no periodic wrap-around.
inline torch::Tensor blur_reflect_valid(const torch::Tensor& x, const torch::Tensor& k) {
  const int64_t ph = k.size(-2) / 2, pw = k.size(-1) / 2;
  auto padded = torch::reflection_pad2d(x, {pw, pw, ph, ph});
  return conv_fft(padded, k.to(x.dtype()), ConvMode::Valid);
}

/// A piecewise-constant scene of random rectangles and disks ([1,C,H,W] float64 in [0.1,0.9]): many
/// edges in every direction, what kernel estimation needs.
inline torch::Tensor mondrian(int64_t channels, int64_t height, int64_t width, uint64_t seed, int shapes = 40) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto img = torch::full({1, channels, height, width}, 0.5, torch::kFloat64);
  auto yy = torch::arange(height, torch::kFloat64).reshape({height, 1});
  auto xx = torch::arange(width, torch::kFloat64).reshape({1, width});
  auto r = torch::rand({shapes, 6 + channels}, gen, torch::kFloat64);
  for (int i = 0; i < shapes; ++i) {
    auto p = r[i];
    const double cy = p[0].item<double>() * height, cx = p[1].item<double>() * width;
    const double ry = (0.05 + 0.2 * p[2].item<double>()) * height, rx = (0.05 + 0.2 * p[3].item<double>()) * width;
    torch::Tensor inside = p[4].item<double>() < 0.5
                               ? ((yy - cy).abs() < ry).logical_and((xx - cx).abs() < rx)
                               : ((yy - cy).square() / (ry * ry) + (xx - cx).square() / (rx * rx)) < 1.0;
    for (int64_t c = 0; c < channels; ++c) {
      const double value = 0.1 + 0.8 * p[6 + c].item<double>();
      img[0][c].masked_fill_(inside, value);
    }
  }
  return img;
}

}  // namespace unroll::test
