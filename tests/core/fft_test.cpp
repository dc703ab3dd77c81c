#include "core/fft.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace unroll {
namespace {

// Direct circular convolution, O(H W kh kw), for reference.
torch::Tensor direct_circular(const torch::Tensor& x, const torch::Tensor& k) {
  const int64_t kh = k.size(0), kw = k.size(1);
  auto out = torch::zeros_like(x);
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j)
      out += k[i][j] * torch::roll(x, {i - kh / 2, j - kw / 2}, {2, 3});
  return out;
}

TEST(FastSize, SmoothNumbers) {
  EXPECT_EQ(fast_size(1), 1);
  EXPECT_EQ(fast_size(11), 12);
  EXPECT_EQ(fast_size(13), 14);
  EXPECT_EQ(fast_size(97), 98);
  EXPECT_EQ(fast_size(1024), 1024);
  EXPECT_EQ(fast_size(1025), 1029);  // 3*7^3
}

TEST(ConvCircular, MatchesDirectOddAndEvenKernels) {
  auto x = test::test_image(2, 23, 30).to(torch::kFloat64);
  for (int64_t ks : {5, 6, 9}) {
    auto k = test::test_kernel(ks, ks).to(torch::kFloat64);
    EXPECT_LT(test::max_abs_diff(conv_circular(x, k), direct_circular(x, k)), 1e-10) << "kernel " << ks;
  }
}

TEST(ConvCircular, IdentityKernelReturnsInput) {
  auto x = test::test_image(3, 17, 20);
  auto k = torch::zeros({5, 5});
  k[2][2] = 1.0;
  EXPECT_LT(test::max_abs_diff(conv_circular(x, k), x), 1e-6);
}

TEST(ConvFft, SameEqualsCircularInTheInterior) {
  auto x = test::test_image(1, 40, 36).to(torch::kFloat64);
  auto k = test::test_kernel(7, 3).to(torch::kFloat64);
  auto same = conv_fft(x, k, ConvMode::Same);
  auto circ = conv_circular(x, k);
  ASSERT_EQ(same.sizes(), x.sizes());
  EXPECT_LT(test::max_abs_diff(same.narrow(2, 3, 34).narrow(3, 3, 30), circ.narrow(2, 3, 34).narrow(3, 3, 30)), 1e-10);
  EXPECT_EQ(conv_fft(x, k, ConvMode::Full).size(2), 46);
  EXPECT_EQ(conv_fft(x, k, ConvMode::Valid).size(3), 30);
}

TEST(SameConvolution, AdjointIdentity) {
  auto x = torch::rand({2, 3, 19, 24}, torch::kFloat64);
  auto r = torch::rand({2, 3, 19, 24}, torch::kFloat64);
  for (int64_t ks : {5, 8}) {
    SameConvolution A(test::test_kernel(ks).to(torch::kFloat64), 19, 24);
    const double lhs = (A.forward(x) * r).sum().item<double>();
    const double rhs = (x * A.adjoint(r)).sum().item<double>();
    EXPECT_NEAR(lhs, rhs, 1e-9 * std::abs(lhs));
    EXPECT_LT(test::max_abs_diff(A.forward(x), conv_fft(x, test::test_kernel(ks).to(torch::kFloat64), ConvMode::Same)), 1e-10);
  }
}

TEST(GradCircular, AdjointAndSpectrum) {
  auto x = torch::rand({1, 2, 12, 15}, torch::kFloat64);
  auto g = torch::rand({1, 2, 2, 12, 15}, torch::kFloat64);
  EXPECT_NEAR((grad_circular(x) * g).sum().item<double>(), (x * grad_circular_adjoint(g)).sum().item<double>(), 1e-10);
  // D^T D x computed spatially equals the spectral |D|^2 multiplier.
  auto spatial = grad_circular_adjoint(grad_circular(x));
  auto spectral = torch::fft::irfft2(torch::fft::rfft2(x) * grad_power_spectrum(12, 15, x.options()),
                                     std::vector<int64_t>{12, 15});
  EXPECT_LT(test::max_abs_diff(spatial, spectral), 1e-10);
}

}  // namespace
}  // namespace unroll
