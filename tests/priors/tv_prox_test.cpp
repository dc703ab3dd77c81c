#include "priors/tv_prox.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/metrics.h"
#include "test_util.h"

namespace unroll {
namespace {

TEST(TvProx, ReachesTheRofMinimum) {
  torch::manual_seed(12);
  auto x = (test::test_image(2, 14, 17) + 0.1 * torch::randn({1, 2, 14, 17})).to(torch::kFloat64);
  auto lam = torch::full({1, 1, 1, 1}, 0.08, torch::kFloat64);
  auto u = tv_denoise(x, lam, 400);
  const double f_u = rof_objective(u, x, lam).item<double>();
  EXPECT_LT(f_u, rof_objective(x, x, lam).item<double>());
  // More iterations never do (meaningfully) worse, and the minimum is stable under perturbations.
  EXPECT_LE(f_u, rof_objective(tv_denoise(x, lam, 20), x, lam).item<double>() + 1e-9);
  for (int trial = 0; trial < 5; ++trial) {
    auto v = u + 1e-3 * torch::randn_like(u);
    EXPECT_GE(rof_objective(v, x, lam).item<double>(), f_u - 1e-6) << trial;
  }
  // The mean is preserved (the divergence of any dual field sums to zero on the torus).
  EXPECT_NEAR(u.mean().item<double>(), x.mean().item<double>(), 1e-12);
}

TEST(TvProx, ZeroStrengthAndConstantImagesAreFixedPoints) {
  auto x = torch::rand({2, 3, 9, 11}, torch::kFloat64);
  EXPECT_LT(test::max_abs_diff(tv_denoise(x, torch::zeros({2, 1, 1, 1}, torch::kFloat64)), x), 1e-9);
  auto c = torch::full({1, 1, 8, 8}, 0.4, torch::kFloat64);
  EXPECT_LT(test::max_abs_diff(tv_denoise(c, torch::full({1, 1, 1, 1}, 1.0, torch::kFloat64)), c), 1e-12);
  // Per-sample strengths: sample 0 untouched, sample 1 smoothed.
  auto lam = torch::tensor({0.0, 0.2}, torch::kFloat64).reshape({2, 1, 1, 1});
  auto u = tv_denoise(x, lam);
  EXPECT_LT(test::max_abs_diff(u[0], x[0]), 1e-9);
  EXPECT_GT(test::max_abs_diff(u[1], x[1]), 1e-3);
  EXPECT_THROW(tv_denoise(x, torch::full({1, 1, 1, 1}, -1.0)), Error);
}

TEST(TvPrior, DenoisesGaussianNoise) {
  torch::manual_seed(13);
  auto clean = test::test_image(3, 32, 32);
  const double sigma = 0.1;
  auto noisy = clean + sigma * torch::randn_like(clean);
  TvPrior prior;
  auto out = prior.denoise(noisy, sigma);
  EXPECT_EQ(out.sizes(), noisy.sizes());
  const double gain = psnr(out, clean) - psnr(noisy, clean);
  EXPECT_GT(gain, 3.0) << "TV prior gain " << gain << " dB";
  TvPriorOptions bad;
  bad.iterations = 0;
  EXPECT_THROW(TvPrior{bad}, Error);
}

}  // namespace
}  // namespace unroll
