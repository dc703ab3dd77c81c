#include "core/boundary.h"

#include <gtest/gtest.h>

#include "classic/wiener.h"
#include "core/fft.h"
#include "core/metrics.h"
#include "test_util.h"

namespace unroll {
namespace {

TEST(DirichletLaplace, ReproducesHarmonicFunctionsExactly) {
  // Linear and bilinear functions are harmonic: fixing the ring must give them back inside.
  auto yy = torch::arange(12, torch::kFloat64).reshape({12, 1});
  auto xx = torch::arange(9, torch::kFloat64).reshape({1, 9});
  auto f = (0.3 * yy - 0.2 * xx + 0.05 * yy * xx + 1.0).unsqueeze(0).unsqueeze(0);
  auto ring = f.clone();
  ring.narrow(2, 1, 10).narrow(3, 1, 7).zero_();
  EXPECT_LT(test::max_abs_diff(solve_dirichlet_laplace(ring), f), 1e-10);
}

TEST(LiuJia, ExtensionIsSmoothAcrossTheWrap) {
  auto y = test::test_image(2, 30, 26).to(torch::kFloat64);
  auto e = liu_jia_extend(y, 44, 40);
  ASSERT_EQ(e.size(2), 44);
  ASSERT_EQ(e.size(3), 40);
  EXPECT_LT(test::max_abs_diff(e.narrow(2, 0, 30).narrow(3, 0, 26), y), 1e-12);
  // The largest jump between circular neighbours of the extension is no larger than inside the image.
  auto jump = [](const torch::Tensor& t) {
    return std::max((torch::roll(t, {-1}, {2}) - t).abs().max().item<double>(),
                    (torch::roll(t, {-1}, {3}) - t).abs().max().item<double>());
  };
  auto inner_jump = std::max((y.narrow(2, 1, 29) - y.narrow(2, 0, 29)).abs().max().item<double>(),
                             (y.narrow(3, 1, 25) - y.narrow(3, 0, 25)).abs().max().item<double>());
  EXPECT_LE(jump(e), inner_jump + 1e-9);
  EXPECT_GT(jump(y), inner_jump);  // the raw image does jump across its wrap
}

TEST(EdgeTaper, KeepsInteriorAndBlursEdges) {
  auto y = test::test_image(1, 40, 40).to(torch::kFloat64);
  auto k = test::test_kernel(7).to(torch::kFloat64);
  auto t = edgetaper(y, k);
  EXPECT_LT(test::max_abs_diff(t.narrow(2, 15, 10).narrow(3, 15, 10), y.narrow(2, 15, 10).narrow(3, 15, 10)), 1e-9);
  auto blurred = conv_circular(y, k);
  EXPECT_LT(test::max_abs_diff(t.select(2, 0), blurred.select(2, 0)), 1e-9);
}

// Blurs like a real camera (the scene continues beyond the frame), so the observation is not circular.
torch::Tensor real_blur(const torch::Tensor& x, const torch::Tensor& k, int64_t margin) {
  auto scene = test::test_image(x.size(1), x.size(2) + 2 * margin, x.size(3) + 2 * margin, 9).to(x.scalar_type());
  scene.narrow(2, margin, x.size(2)).narrow(3, margin, x.size(3)).copy_(x);
  return conv_fft(scene, k, ConvMode::Same).narrow(2, margin, x.size(2)).narrow(3, margin, x.size(3));
}

TEST(Boundary, NoRingingBandsOnNonCircularBlur) {
  auto x = test::test_image(1, 64, 64, 3).to(torch::kFloat64);
  auto k = test::test_kernel(9, 5).to(torch::kFloat64);
  auto y = real_blur(x, k, 20);
  WienerOptions o;
  o.nsr = 1e-3;
  // PSNR of the whole image and of the interior (8-pixel border excluded): a circular solver on a
  // non-circular observation rings in bands that start at the border and run through the image.
  auto region_psnr = [&](const torch::Tensor& r, bool interior) {
    auto d = interior ? (r - x).narrow(2, 8, 48).narrow(3, 8, 48) : (r - x);
    return 10 * std::log10(1.0 / d.pow(2).mean().item<double>());
  };
  o.boundary = Boundary::Circular;
  auto circ = wiener(y, k, o);
  const double circ_all = region_psnr(circ, false), circ_inner = region_psnr(circ, true);
  for (Boundary b : {Boundary::LiuJia, Boundary::Reflect, Boundary::Replicate, Boundary::Taper}) {
    o.boundary = b;
    auto r = wiener(y, k, o);
    ASSERT_EQ(r.sizes(), x.sizes());
    std::cout << boundary_name(b) << ": whole " << region_psnr(r, false) << " dB (circular " << circ_all
              << "), interior " << region_psnr(r, true) << " dB (circular " << circ_inner << ")\n";
    // Mirroring a motion-blurred image is not consistent with an asymmetric kernel, so reflect helps
    // least; Liu-Jia, replicate and taper remove most of the ringing.
    const double gain = b == Boundary::Reflect ? 0.3 : 3.0;
    EXPECT_GT(region_psnr(r, true), circ_inner + gain) << boundary_name(b);
    EXPECT_GT(region_psnr(r, false), circ_all + 1.0) << boundary_name(b);
  }
  o.boundary = Boundary::LiuJia;
  EXPECT_GT(region_psnr(wiener(y, k, o), false), circ_all + 5.0);
}

TEST(Boundary, ParsesNames) {
  EXPECT_EQ(parse_boundary("liu-jia"), Boundary::LiuJia);
  EXPECT_EQ(parse_boundary("edgetaper"), Boundary::Taper);
  EXPECT_THROW(parse_boundary("mirror-ish"), std::exception);
}

}  // namespace
}  // namespace unroll
