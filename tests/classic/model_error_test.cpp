// The model-error cue (classic/model_error.h): an exact kernel reads as (almost) no model error, a wrong
// one as more the wronger it is, and the told noise level follows.
#include "classic/model_error.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fft.h"
#include "core/noise.h"
#include "test_util.h"

namespace unroll {
namespace {

constexpr double kCueSigma = 2.55 / 255.0;

// The kernel with Gaussian noise of `level` x its peak on every tap of a one-pixel-dilated support,
// clamped and renormalised (the perturbation of datasets/kernels.h perturb_kernel without its stretch).
torch::Tensor cue_noisy_kernel(const torch::Tensor& k, double level, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto support = torch::max_pool2d((k > 0).to(k.dtype()).unsqueeze(0), {3, 3}, {1, 1}, {1, 1})[0];
  auto noisy = (k + support * torch::randn(k.sizes(), g, k.options()) * (level * k.max().item<double>())).clamp_min(0);
  return noisy / noisy.sum();
}

struct CueScene {
  torch::Tensor kernel, blurred;
};

// A scene with edges everywhere (8-px blocks of random grey levels over the smooth test image): a wrong
// kernel shows at edges, and a smooth scene hides it.
CueScene cue_scene(int64_t channels, int64_t h, int64_t w) {
  CueScene s;
  s.kernel = test::test_kernel(11, 4);
  auto g = at::make_generator<at::CPUGeneratorImpl>(7);
  auto blocks = torch::rand({1, channels, (h + 7) / 8, (w + 7) / 8}, g, torch::kFloat32);
  blocks = blocks.repeat_interleave(8, 2).repeat_interleave(8, 3).narrow(2, 0, h).narrow(3, 0, w);
  const auto sharp = 0.5 * test::test_image(channels, h, w, 5) + 0.5 * blocks;
  s.blurred = add_gaussian_noise(conv_circular(sharp, s.kernel), kCueSigma, 1);
  return s;
}

TEST(ModelError, ExactKernelReadsAsAlmostNoModelError) {
  for (int64_t c : {1, 3}) {
    const auto s = cue_scene(c, 96, 112);
    const auto e = measure_model_error(s.blurred, s.kernel, kCueSigma, Boundary::Circular);
    EXPECT_GT(e.residual, 0.5 * kCueSigma) << c;  // the TV fit leaves most of the noise
    EXPECT_NEAR(e.residual, e.baseline, 0.05 * e.baseline) << c;
    EXPECT_LT(e.excess, 0.25 * kCueSigma) << c;
    EXPECT_LT(model_error_sigma(kCueSigma, e, 15.0), 1.5 * kCueSigma) << c;
    const auto again = measure_model_error(s.blurred, s.kernel, kCueSigma, Boundary::Circular);
    EXPECT_EQ(again.residual, e.residual);  // deterministic: the bootstrap's noise has a fixed seed
    EXPECT_EQ(again.baseline, e.baseline);
  }
}

TEST(ModelError, GrowsWithTheKernelsError) {
  const auto s = cue_scene(3, 96, 112);
  double previous = measure_model_error(s.blurred, s.kernel, kCueSigma, Boundary::Circular).excess;
  for (double level : {0.2, 0.3}) {  // noise of 20% / 30% of the peak on every tap
    const auto e = measure_model_error(s.blurred, cue_noisy_kernel(s.kernel, level, 3), kCueSigma, Boundary::Circular);
    EXPECT_GT(e.excess, previous) << level;
    previous = e.excess;
  }
  EXPECT_GT(previous, 0.5 * kCueSigma);
}

TEST(ModelError, ToldNoiseLevelAddsTheScaledExcessInQuadrature) {
  ModelError e;
  EXPECT_DOUBLE_EQ(model_error_sigma(0.01, e, 15.0), 0.01);
  e.excess = 0.002;
  EXPECT_NEAR(model_error_sigma(0.01, e, 15.0), std::sqrt(0.01 * 0.01 + 0.03 * 0.03), 1e-15);
  EXPECT_DOUBLE_EQ(model_error_sigma(0.01, e, 0.0), 0.01);
  EXPECT_NE(test::error_of([&] { model_error_sigma(0.01, e, -1.0); }).find("scale must be >= 0"), std::string::npos);
}

// The hedge's share of the TV fit: none while the kernel fits like an exact one, all of `hedge` for a
// slightly wrong kernel, falling to floor x hedge for a far wrong one; continuous in between.
TEST(ModelError, HedgeShareFollowsTheResidualRatio) {
  auto at = [](double ratio, double hedge = 0.8) {
    ModelError e;
    e.baseline = 0.01;
    e.residual = ratio * e.baseline;
    return hedge_share(e, hedge);
  };
  const HedgeShape shape;
  EXPECT_EQ(at(0.95), 0.0);
  EXPECT_EQ(at(shape.start), 0.0);
  EXPECT_NEAR(at(0.5 * (shape.start + shape.full)), 0.4, 1e-12);
  EXPECT_NEAR(at(shape.full), 0.8, 1e-12);
  EXPECT_NEAR(at(1.02), 0.8, 1e-12);
  EXPECT_NEAR(at(shape.fall_from), 0.8, 1e-12);
  EXPECT_NEAR(at(0.5 * (shape.fall_from + shape.fall_to)), 0.8 * (shape.floor + 0.5 * (1 - shape.floor)), 1e-12);
  EXPECT_NEAR(at(shape.fall_to), 0.8 * shape.floor, 1e-12);
  EXPECT_NEAR(at(3.0), 0.8 * shape.floor, 1e-12);
  EXPECT_EQ(at(1.02, 0.0), 0.0);
  EXPECT_EQ(hedge_share(ModelError{}, 0.8), 0.0);  // nothing measured: no share
  // At a higher noise level the exact kernels' ratios creep up, and so does the start of the ramp.
  ModelError noisy;
  noisy.baseline = 0.05;
  noisy.residual = shape.full * noisy.baseline;
  noisy.sigma = (shape.drift_from + 10.0) / 255.0;
  EXPECT_NEAR(hedge_share(noisy, 0.8), 0.8 * (1.0 - 10.0 * shape.drift / (shape.full - shape.start)), 1e-9);
  noisy.sigma = 1.0;  // the shift stops where the full share would start falling
  noisy.residual = shape.fall_from * noisy.baseline;
  EXPECT_NEAR(hedge_share(noisy, 0.8), 0.8, 1e-12);
  EXPECT_NE(test::error_of([&] { at(1.02, 1.5); }).find("hedge must be in [0, 1]"), std::string::npos);
  HedgeShape bad;
  bad.full = bad.start;
  EXPECT_NE(test::error_of([&] {
              hedge_share(ModelError{0.0102, 0.01, 0.0, 0.01, {}, false}, 0.8, bad);
            }).find("start < full"),
            std::string::npos);
}

TEST(ModelError, LargeImagesAreMeasuredOnTheirCentralWindow) {
  const auto s = cue_scene(1, 80, 600);
  ModelErrorOptions o;
  o.max_side = 64;
  const auto whole = measure_model_error(s.blurred, s.kernel, kCueSigma, Boundary::Circular, o);
  const auto window = s.blurred.narrow(2, 8, 64).narrow(3, 268, 64);
  const auto cut = measure_model_error(window, s.kernel, kCueSigma, Boundary::LiuJia, o);
  EXPECT_DOUBLE_EQ(whole.residual, cut.residual);
  EXPECT_DOUBLE_EQ(whole.baseline, cut.baseline);
}

TEST(ModelError, BadInputsSayWhatIsWrong) {
  const auto s = cue_scene(1, 32, 32);
  EXPECT_NE(test::error_of([&] {
              measure_model_error(s.blurred, s.kernel, -0.1, Boundary::Circular);
            }).find("sigma must be >= 0"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              measure_model_error(s.blurred, torch::ones({41, 41}) / 1681.0, kCueSigma, Boundary::Circular);
            }),
            "");
  ModelErrorOptions o;
  o.tolerance = 0.9;
  EXPECT_NE(test::error_of([&] {
              measure_model_error(s.blurred, s.kernel, kCueSigma, Boundary::Circular, o);
            }).find("tolerance must be >= 1"),
            std::string::npos);
}

}  // namespace
}  // namespace unroll
