#include "core/polar.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {

constexpr double kDeg = M_PI / 180.0;

PolarGridOptions centred(double cx, double cy) {
  PolarGridOptions o;
  o.centre_x = cx;
  o.centre_y = cy;
  return o;
}

double mean_abs(const torch::Tensor& t) { return t.abs().mean().item<double>(); }

TEST(PolarGrid, SizesFollowTheScheme) {
  const PolarGrid g(64, 80, centred(40.0, 30.0), torch::TensorOptions().dtype(torch::kFloat64));
  const double far = farthest_pixel_distance(64, 80, 40.0, 30.0);
  EXPECT_DOUBLE_EQ(g.r_min(), 0.0);
  EXPECT_GE(g.r_min() + (g.rings() - 1) * g.radial_step(), far);
  EXPECT_GE(g.angles(), 2.0 * M_PI * far);  // >= 2 pi r_max angular samples (arc step 0.5 px)
  // A centre outside the image starts the rings near the image.
  const PolarGrid outside(32, 32, centred(-50.0, 16.0), torch::TensorOptions().dtype(torch::kFloat64));
  EXPECT_GT(outside.r_min(), 45.0);
  EXPECT_LE(outside.r_min(), 50.0);
}

TEST(PolarGrid, RoundTripErrorIsSmall) {
  // Measured bound of the resampling scheme (bicubic, dr = 0.5 px, arc step 0.5 px).
  auto x = test::test_image(3, 64, 72, 5).to(torch::kFloat64);
  for (auto centre : {std::pair{35.5, 31.5}, std::pair{10.0, 50.0}, std::pair{-20.0, 30.0}}) {
    const PolarGrid g(64, 72, centred(centre.first, centre.second), x.options());
    auto back = g.to_cartesian(g.to_polar(x));
    EXPECT_LT(mean_abs(back - x), 3e-3) << "centre " << centre.first << "," << centre.second;
    EXPECT_LT(test::max_abs_diff(back, x), 0.08);
  }
  // Bilinear is worse but bounded; finer grids reduce the error.
  auto o = centred(35.5, 31.5);
  o.interpolation = PolarInterpolation::Bilinear;
  const PolarGrid bilinear(64, 72, o, x.options());
  const double e_bilinear = mean_abs(bilinear.to_cartesian(bilinear.to_polar(x)) - x);
  o.radial_step = o.arc_step = 0.25;
  const PolarGrid fine(64, 72, o, x.options());
  EXPECT_LT(mean_abs(fine.to_cartesian(fine.to_polar(x)) - x), e_bilinear);
  EXPECT_LT(e_bilinear, 1e-2);
}

TEST(PolarGrid, ResamplesKnownPositions) {
  // to_polar samples x at (cx + r cos a, cy - r sin a): a linear ramp in x gives cx + r cos a.
  const int64_t h = 40, w = 50;
  auto ramp = torch::arange(w, torch::kFloat64).view({1, 1, 1, w}).expand({1, 1, h, w}).contiguous();
  auto o = centred(25.0, 20.0);
  o.interpolation = PolarInterpolation::Bilinear;  // exact on a ramp
  const PolarGrid g(h, w, o, ramp.options());
  auto u = g.to_polar(ramp);
  const int64_t ring = 20, j = g.angles() / 8;  // r = 10 px, alpha = 45 degrees
  const double r = g.r_min() + ring * g.radial_step(), a = 2.0 * M_PI * j / g.angles();
  EXPECT_NEAR(u[0][0][ring][j].item<double>(), 25.0 + r * std::cos(a), 1e-9);
}

TEST(RotationalTransfer, ZeroAngleIsIdentityAndSpansDifferByAPhase) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto id = rotational_transfer(100, 0.0, SweepSpan::Centred, opts);
  EXPECT_LT(test::max_abs_diff(torch::real(id), torch::ones({51}, opts)), 1e-15);
  EXPECT_LT(torch::imag(id).abs().max().item<double>(), 1e-15);
  auto c = rotational_transfer(100, 10 * kDeg, SweepSpan::Centred, opts);
  auto f = rotational_transfer(100, 10 * kDeg, SweepSpan::Forward, opts);
  EXPECT_LT(torch::imag(c).abs().max().item<double>(), 1e-15);
  EXPECT_LT(test::max_abs_diff(c.abs(), f.abs()), 1e-12);
  // Harmonic m = 3: sinc(3 theta / 2).
  const double t = 3 * 10 * kDeg / 2;
  EXPECT_NEAR(torch::real(c[3]).item<double>(), std::sin(t) / t, 1e-12);
  EXPECT_THROW(rotational_transfer(100, -1.0, SweepSpan::Centred, opts), Error);
}

TEST(RotationalDataStep, SolvesItsNormalEquationsOnTheRings) {
  auto y = test::test_image(2, 32, 40, 1).to(torch::kFloat64);
  auto z = test::test_image(2, 32, 40, 2).to(torch::kFloat64);
  auto a = torch::tensor(0.05, torch::kFloat64);
  for (bool masked : {false, true}) {
    RotationalBoundaryOptions boundary;
    boundary.masked = masked;
    boundary.cg_iterations = 60;
    boundary.cg_tolerance = 1e-12;
    const RotationalDataStep step(y, 12 * kDeg, SweepSpan::Forward, centred(17.0, 14.5), boundary);
    const auto& g = step.grid();
    const int64_t A = g.angles();
    ASSERT_EQ(step.first_partial_ring() < g.rings(), masked);  // the centre's outer rings leave the image
    auto zp = g.to_polar(z);
    auto u = step.solve_polar(zp, a);
    // B^H M (B u - P y) + a (u - z) = 0 ring by ring (M = 1 without masking: the closed form).
    const auto& B = step.transfer();
    auto apply = [&](const torch::Tensor& t, const torch::Tensor& tf) {
      return torch::fft::irfft(tf * torch::fft::rfft(t, A, -1), A, -1);
    };
    auto rhs = apply(step.ring_mask() * step.y_polar(), B.conj()) + a * zp;
    auto residual = apply(step.ring_mask() * apply(u, B), B.conj()) + a * u - rhs;
    EXPECT_LT(residual.abs().max().item<double>(), 1e-8 * rhs.abs().max().item<double>()) << "masked " << masked;
    // The Cartesian step is the resampled ring solution up to the round-trip error.
    auto x = step.solve(z, a);
    EXPECT_LT(mean_abs(x - g.to_cartesian(u)), 5e-3);
  }
}

TEST(RotationalDataStep, ZeroAngleLeavesTheImage) {
  auto y = test::test_image(3, 32, 32, 4).to(torch::kFloat64);
  const RotationalDataStep step(y, 0.0, SweepSpan::Centred, centred(16.0, 16.0));
  // With no blur and a tiny penalty the step returns the observation whatever z is.
  auto x = step.solve(torch::zeros_like(y), 1e-8);
  EXPECT_LT(mean_abs(x - y), 3e-3);
  auto x_same = step.solve(y, 1.0);
  EXPECT_LT(test::max_abs_diff(x_same, y), 1e-12);  // z = y: no correction at all
  const PolarGrid g(32, 32, centred(16.0, 16.0), y.options());
  EXPECT_LT(mean_abs(polar_rotational_blur(y, g, 0.0) - y), 3e-3);
}

TEST(RotationalDataStep, BadInputsAreErrors) {
  auto y = test::test_image(1, 16, 16, 0);
  EXPECT_THROW(RotationalDataStep(y, -0.1, SweepSpan::Centred, centred(8, 8)), Error);
  EXPECT_THROW(RotationalDataStep(y, std::nan(""), SweepSpan::Centred, centred(8, 8)), Error);
  EXPECT_THROW(RotationalDataStep(y, 0.1, SweepSpan::Centred, centred(std::nan(""), 8)), Error);
  auto bad = centred(8, 8);
  bad.radial_step = 0;
  EXPECT_THROW(RotationalDataStep(y, 0.1, SweepSpan::Centred, bad), Error);
  EXPECT_THROW(RotationalDataStep(y, 0.1, SweepSpan::Centred, centred(1e9, 8)), Error);  // absurd centre
  const RotationalDataStep step(y, 0.1, SweepSpan::Centred, centred(8, 8));
  EXPECT_THROW(step.solve(torch::zeros({1, 1, 8, 8}), 0.1), Error);
  EXPECT_THROW(step.wiener(0.0), Error);
}

}  // namespace
}  // namespace unroll

namespace unroll {
namespace {

TEST(RotationalDataStep, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto y = test::test_image(3, 48, 40, 3);
  auto z = test::test_image(3, 48, 40, 4);
  PolarGridOptions g;
  g.centre_x = 21.0;
  g.centre_y = 25.5;
  const RotationalDataStep cpu(y, 15 * M_PI / 180, SweepSpan::Centred, g);
  const RotationalDataStep gpu(y.cuda(), 15 * M_PI / 180, SweepSpan::Centred, g);
  EXPECT_LT(test::max_abs_diff(gpu.solve(z.cuda(), 0.02).cpu(), cpu.solve(z, 0.02)), 1e-4);
  EXPECT_LT(test::max_abs_diff(gpu.wiener(0.01).cpu(), cpu.wiener(0.01)), 1e-4);
}

}  // namespace
}  // namespace unroll
