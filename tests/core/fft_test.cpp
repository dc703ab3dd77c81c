#include "core/error.h"
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

TEST(FftLength, PicksCheapSmoothLengths) {
  EXPECT_EQ(fft_length(1024), 1024);
  EXPECT_EQ(fft_length(2048), 2048);
  EXPECT_EQ(fft_length(1036), 1080);  // not 1050 = 2*3*5^2*7 (measured 20% slower with FFTW)
  EXPECT_EQ(fft_length(13), fast_size(13));  // small axes: the smallest fast size
  for (int64_t n = 1; n <= 3000; ++n) {
    const int64_t m = fft_length(n);
    ASSERT_GE(m, n);
    ASSERT_LT(m, 2 * n + 1);
    ASSERT_EQ(fast_size(m), m) << n;  // 2,3,5,7-smooth
  }
}

TEST(TileFftLength, SmoothLengthsWithRoomForTheHalo) {
  for (auto [n, k] : {std::pair<int64_t, int64_t>{1024, 25}, {520, 9}, {4000, 101}, {600, 1}, {1000, 256}}) {
    const int64_t f = tile_fft_length(n, k);
    EXPECT_EQ(fast_size(f), f) << n << " " << k;
    EXPECT_GE(f, 2 * k);
    EXPECT_LE(f, 512);
  }
  EXPECT_EQ(tile_fft_length(1024, 257), 0);  // no tile of at most 512 keeps more output than halo
  EXPECT_THROW(tile_fft_length(0, 3), Error);
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
  // Grids where H + kh/2 is itself a fast size, so the periodic grid is exactly as small as 'same'
  // allows (odd and even kernels, 20 + 8/2 = 24, 21 + 7/2 = 24): still no wrap-around in the window.
  for (auto [n, ks] : {std::pair<int64_t, int64_t>{20, 8}, {21, 7}}) {
    auto xs = torch::rand({1, 2, n, n}, torch::kFloat64), rs = torch::rand({1, 2, n, n}, torch::kFloat64);
    auto k = test::test_kernel(ks).to(torch::kFloat64);
    SameConvolution A(k, n, n);
    EXPECT_LT(test::max_abs_diff(A.forward(xs), conv_fft(xs, k, ConvMode::Same)), 1e-10) << n << " " << ks;
    EXPECT_NEAR((A.forward(xs) * rs).sum().item<double>(), (xs * A.adjoint(rs)).sum().item<double>(), 1e-9);
  }
}

// The on-grid operators are the same A and A^T without the padding and slicing copies.
TEST(SameConvolution, OnGridOperatorsEqualThePaddedOnes) {
  auto x = torch::rand({2, 1, 70, 66}, torch::kFloat64), r = torch::rand({2, 1, 70, 66}, torch::kFloat64);
  SameConvolution A(test::test_kernel(9, 2).to(torch::kFloat64), 70, 66);
  ASSERT_GE(A.grid_height(), 70 + 4);
  ASSERT_GE(A.grid_width(), 66 + 4);
  auto xg = torch::zeros({2, 1, A.grid_height(), A.grid_width()}, torch::kFloat64);
  A.origin(xg).copy_(x);
  EXPECT_LT(test::max_abs_diff(A.window(A.forward_on_grid(xg)), A.forward(x)), 1e-12);
  auto rg = torch::zeros_like(xg);
  A.window(rg).copy_(r);
  EXPECT_LT(test::max_abs_diff(A.origin(A.adjoint_on_grid(rg)), A.adjoint(r)), 1e-12);
}

// psf2otf's definition: rfft2 of the kernel zero-padded to H x W and rolled so its centre is at (0,0).
torch::Tensor reference_otf(const torch::Tensor& k, int64_t h, int64_t w) {
  auto kb = k.dim() == 2 ? k.unsqueeze(0).unsqueeze(0) : k;
  auto padded = torch::zeros({kb.size(0), 1, h, w}, kb.options());
  padded.narrow(2, 0, kb.size(2)).narrow(3, 0, kb.size(3)).copy_(kb);
  return torch::fft::rfft2(torch::roll(padded, {-(kb.size(2) / 2), -(kb.size(3) / 2)}, {2, 3}));
}

torch::Tensor rect_kernel(int64_t kh, int64_t kw) {
  auto k = torch::rand({kh, kw}, torch::kFloat64) + 0.1;
  return k / k.sum();
}

TEST(Psf2Otf, EqualsTheTransformOfThePaddedShiftedKernel) {
  torch::manual_seed(3);
  for (auto [kh, kw] : {std::pair<int64_t, int64_t>{5, 5}, {6, 3}, {1, 1}, {2, 7}, {9, 8}}) {
    for (auto [h, w] : {std::pair<int64_t, int64_t>{16, 16}, {17, 23}, {9, 9}}) {
      auto k = rect_kernel(kh, kw);
      EXPECT_LT((psf2otf(k, h, w) - reference_otf(k, h, w)).abs().max().item<double>(), 1e-12)
          << kh << "x" << kw << " on " << h << "x" << w;
    }
  }
  // Batched kernels, a kernel as large as the grid, float32.
  auto kb = torch::stack({test::test_kernel(5, 5), test::test_kernel(5, 5).flip({0})}).unsqueeze(1);
  EXPECT_LT((psf2otf(kb, 12, 10) - reference_otf(kb, 12, 10)).abs().max().item<double>(), 1e-6);
  auto big = rect_kernel(9, 8);
  EXPECT_LT((psf2otf(big, 9, 8) - reference_otf(big, 9, 8)).abs().max().item<double>(), 1e-12);
  EXPECT_THROW(psf2otf(big, 8, 8), std::exception);
}

TEST(GradCircular, OutVariantsEqualTheFunctionalOnes) {
  for (auto [h, w] : {std::pair<int64_t, int64_t>{12, 15}, {1, 7}, {6, 1}, {1, 1}}) {
    auto x = torch::rand({2, 3, h, w}, torch::kFloat64);
    auto g = torch::rand({2, 3, 2, h, w}, torch::kFloat64);
    torch::Tensor gx, dtg;
    grad_circular_out(x, gx);
    grad_circular_adjoint_out(g, dtg);
    EXPECT_LT(test::max_abs_diff(gx, grad_circular(x)), 1e-14) << h << "x" << w;
    EXPECT_LT(test::max_abs_diff(dtg, grad_circular_adjoint(g)), 1e-14) << h << "x" << w;
  }
  // The buffer is reused when it fits and replaced when it does not (shape or dtype).
  auto x = torch::rand({1, 1, 8, 9});
  torch::Tensor out = torch::empty({1, 1, 2, 8, 9});
  const void* before = out.data_ptr();
  grad_circular_out(x, out);
  EXPECT_EQ(out.data_ptr(), before);
  grad_circular_out(x.to(torch::kFloat64), out);
  EXPECT_EQ(out.scalar_type(), torch::kFloat64);
  EXPECT_LT(test::max_abs_diff(out, grad_circular(x.to(torch::kFloat64))), 1e-14);
  grad_circular_out(torch::rand({1, 2, 4, 5}), out);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 2, 2, 4, 5}));
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
