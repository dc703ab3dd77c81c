#include "datasets/degrade.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fft.h"
#include "test_util.h"

namespace unroll {
namespace {

TEST(Degrade, NoiselessCircularEqualsCoreConvolution) {
  auto x = test::test_image(3, 24, 20).to(torch::kFloat64);
  auto k = gaussian_kernel(1.5, 9);
  auto p = degrade(x, k, DegradeOptions{}, 1);
  EXPECT_LT(test::max_abs_diff(p.blurred, conv_circular(x, k)), 1e-14);
  EXPECT_TRUE(torch::equal(p.sharp, x));
  EXPECT_TRUE(torch::equal(p.kernel, k));
  ASSERT_EQ(p.sigma.numel(), 1);
  EXPECT_EQ(p.sigma.item<double>(), 0.0);
  // Same mode equals core conv_fft 'same'.
  DegradeOptions same;
  same.blur = BlurMode::Same;
  EXPECT_LT(test::max_abs_diff(degrade(x, k, same, 1).blurred, conv_fft(x, k, ConvMode::Same)), 1e-14);
  // float32 input keeps its dtype.
  EXPECT_EQ(degrade(x.to(torch::kFloat32), k, DegradeOptions{}, 1).blurred.scalar_type(), torch::kFloat32);
}

TEST(Degrade, ValidModeCropsSharpToTheSameWindow) {
  auto x = test::test_image(1, 30, 27).to(torch::kFloat64);
  for (int64_t ks : {7, 8}) {
    auto k = test::test_kernel(ks, 4).to(torch::kFloat64);
    DegradeOptions o;
    o.blur = BlurMode::Valid;
    auto p = degrade(x, k, o, 0);
    ASSERT_EQ(p.blurred.sizes(), p.sharp.sizes());
    EXPECT_EQ(p.blurred.size(2), 30 - ks + 1);
    EXPECT_EQ(p.blurred.size(3), 27 - ks + 1);
    // Interior of the 'same' blur, aligned with the cropped sharp image.
    auto same = conv_fft(x, k, ConvMode::Same);
    const int64_t off = ks - 1 - ks / 2;
    EXPECT_LT(test::max_abs_diff(p.blurred, same.narrow(2, off, 30 - ks + 1).narrow(3, off, 27 - ks + 1)), 1e-12);
    EXPECT_TRUE(torch::equal(p.sharp, x.narrow(2, off, 30 - ks + 1).narrow(3, off, 27 - ks + 1)));
  }
}

TEST(Degrade, NoiseStdMatchesSigma) {
  auto x = test::test_image(1, 96, 96).to(torch::kFloat64);
  auto k = gaussian_kernel(1.0);
  DegradeOptions o;
  o.fixed_sigma(0.05);
  auto p = degrade(x, k, o, 42);
  auto r = p.blurred - conv_circular(x, k);
  EXPECT_NEAR(r.std().item<double>(), 0.05, 0.05 * 0.03);
  EXPECT_NEAR(r.mean().item<double>(), 0.0, 0.002);
  EXPECT_NEAR(p.sigma.item<double>(), 0.05, 1e-15);
  // Random sigma per sample: every sample's residual std matches its own drawn sigma.
  auto batch = test::test_image(1, 64, 64).to(torch::kFloat64).repeat({6, 1, 1, 1});
  DegradeOptions rnd;
  rnd.sigma_min = 0.01;
  rnd.sigma_max = 0.1;
  auto q = degrade(batch, k, rnd, 5);
  ASSERT_EQ(q.sigma.numel(), 6);
  auto res = (q.blurred - conv_circular(batch, k)).reshape({6, -1}).std(1);
  double lo = 1, hi = 0;
  for (int64_t i = 0; i < 6; ++i) {
    const double s = q.sigma[i].item<double>();
    lo = std::min(lo, s);
    hi = std::max(hi, s);
    EXPECT_GE(s, 0.01);
    EXPECT_LE(s, 0.1);
    EXPECT_NEAR(res[i].item<double>(), s, 0.05 * s) << "sample " << i;
  }
  EXPECT_GT(hi - lo, 0.01);  // the draws differ between samples
}

TEST(Degrade, DeterministicGivenSeed) {
  auto x = test::test_image(3, 20, 20);
  auto k = gaussian_kernel(1.2, 7);
  DegradeOptions o;
  o.sigma_min = 0.0;
  o.sigma_max = 0.05;
  o.poisson_peak = 200;
  auto a = degrade(x, k, o, 9), b = degrade(x, k, o, 9), c = degrade(x, k, o, 10);
  EXPECT_TRUE(torch::equal(a.blurred, b.blurred));
  EXPECT_TRUE(torch::equal(a.sigma, b.sigma));
  EXPECT_FALSE(torch::equal(a.blurred, c.blurred));
}

TEST(Degrade, PoissonGaussianVariance) {
  auto x = torch::full({1, 1, 128, 128}, 0.5, torch::kFloat64);
  auto k = torch::ones({1, 1}, torch::kFloat64);
  DegradeOptions o;
  o.poisson_peak = 100;  // variance 0.5 / 100 = 0.005
  o.fixed_sigma(0.02);   // + 0.0004
  auto p = degrade(x, k, o, 3);
  EXPECT_NEAR(p.blurred.mean().item<double>(), 0.5, 0.003);
  EXPECT_NEAR(p.blurred.var().item<double>(), 0.0054, 0.0054 * 0.05);
  // Shot noise alone takes values on the 1/peak lattice.
  DegradeOptions shot;
  shot.poisson_peak = 100;
  auto s = degrade(x, k, shot, 3).blurred * 100;
  EXPECT_LT((s - s.round()).abs().max().item<double>(), 1e-9);
}

TEST(Degrade, ClipQuantizeAndJpegHook) {
  auto x = test::test_image(3, 16, 16).to(torch::kFloat64);
  auto k = gaussian_kernel(1.0, 5);
  DegradeOptions o;
  o.fixed_sigma(0.2);
  o.quantize = true;
  auto y = degrade(x, k, o, 1).blurred;
  EXPECT_GE(y.min().item<double>(), 0.0);
  EXPECT_LE(y.max().item<double>(), 1.0);
  EXPECT_LT((y * 255 - (y * 255).round()).abs().max().item<double>(), 1e-9);
  DegradeOptions clip;
  clip.fixed_sigma(0.2);
  clip.clip = true;
  auto yc = degrade(x, k, clip, 1).blurred;
  EXPECT_GE(yc.min().item<double>(), 0.0);
  EXPECT_LE(yc.max().item<double>(), 1.0);
  EXPECT_GT((yc * 255 - (yc * 255).round()).abs().max().item<double>(), 1e-3);

  DegradeOptions jpeg;
  jpeg.jpeg_quality = 75;
  EXPECT_THROW(degrade(x, k, jpeg, 1), Error);  // no codec hook
  int seen_quality = -1;
  jpeg.jpeg_codec = [&](const torch::Tensor& t, int q) {
    seen_quality = q;
    return torch::full_like(t, 0.25);
  };
  auto yj = degrade(x, k, jpeg, 1).blurred;
  EXPECT_EQ(seen_quality, 75);
  EXPECT_NEAR(yj.max().item<double>(), 0.25, 1e-15);
}

TEST(Degrade, RandomKernelsPerSample) {
  auto x = test::test_image(1, 32, 32).to(torch::kFloat64).repeat({3, 1, 1, 1});
  KernelSpec spec;
  spec.size = 11;
  spec.length_max = 9;
  spec.radius_max = 4;
  auto p = degrade_random(x, spec, DegradeOptions{}, 17);
  ASSERT_EQ(p.kernel.sizes(), (std::vector<int64_t>{3, 1, 11, 11}));
  for (int64_t i = 0; i < 3; ++i) {
    auto ref = conv_circular(x.narrow(0, i, 1), p.kernel[i][0]);
    EXPECT_LT(test::max_abs_diff(p.blurred.narrow(0, i, 1), ref), 1e-12) << "sample " << i;
  }
  EXPECT_FALSE(torch::equal(p.kernel[0], p.kernel[1]));
  EXPECT_TRUE(torch::equal(p.kernel, degrade_random(x, spec, DegradeOptions{}, 17).kernel));
}

TEST(Degrade, BadInputsThrowWithFieldNames) {
  auto x = test::test_image(1, 16, 16);
  auto k = gaussian_kernel(1.0, 5);
  DegradeOptions o;
  o.sigma_min = 0.1;
  o.sigma_max = 0.05;
  try {
    degrade(x, k, o, 0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sigma_max"), std::string::npos) << e.what();
  }
  DegradeOptions neg;
  neg.poisson_peak = -1;
  EXPECT_THROW(degrade(x, k, neg, 0), Error);
  auto bad = x.clone();
  bad[0][0][3][3] = std::nan("");
  EXPECT_THROW(degrade(bad, k, DegradeOptions{}, 0), Error);
  EXPECT_THROW(degrade(x, gaussian_kernel(3.0, 21), DegradeOptions{}, 0), Error);  // kernel larger than image
  EXPECT_THROW(parse_blur_mode("mirror"), Error);
  EXPECT_EQ(parse_blur_mode("wrap"), BlurMode::Circular);
}

}  // namespace
}  // namespace unroll
