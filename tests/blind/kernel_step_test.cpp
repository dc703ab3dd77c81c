// The kernel step (closed form, projection, resampling) on exact cases, and its gradient.
#include "blind/kernel_step.h"

#include <gtest/gtest.h>

#include <cmath>

#include "blind/blind_fixtures.h"
#include "core/error.h"
#include "core/fft.h"
#include "test_util.h"

namespace unroll {
namespace {

constexpr double kRecoveryTolerance = 1e-3;  // the bound for an exact noise-free pair

TEST(KernelStep, RecoversAKnownKernelFromAnExactNoiseFreePair) {
  for (uint64_t seed : {0u, 1u}) {
    auto x = test::mondrian(1, 96, 96, seed);
    auto k = test::test_kernel(13, seed);
    auto y = conv_circular(x, k);  // the kernel step's own (periodic) model: exact
    auto raw = kernel_least_squares(grad_circular(x), grad_circular(y), 13, 1e-9);
    EXPECT_LT(test::max_abs_diff(raw[0][0], k), kRecoveryTolerance) << "seed " << seed;
    KernelProjectionOptions keep_all;
    keep_all.threshold = 0;
    keep_all.min_component_mass = 0;
    keep_all.recentre = false;
    auto projected = project_kernel(raw, keep_all);
    EXPECT_LT(test::max_abs_diff(projected[0][0], k), kRecoveryTolerance) << "seed " << seed;
  }
}

TEST(KernelStep, SupportConstrainedSolutionSolvesTheExactPairToo) {
  auto x = test::mondrian(1, 96, 96, 2);
  auto k = test::test_kernel(11, 2);
  auto y = conv_circular(x, k);
  auto g = torch::scalar_tensor(1e-9, torch::kFloat64);
  auto raw = kernel_least_squares_support(grad_circular(x), grad_circular(y), 11, g, 200);
  EXPECT_LT(test::max_abs_diff(raw[0][0], k), kRecoveryTolerance);
}

TEST(KernelStep, ColourChannelsShareOneKernel) {
  auto x = test::mondrian(3, 64, 64, 3);
  auto k = test::test_kernel(9, 3);
  auto y = conv_circular(x, k);
  auto raw = kernel_least_squares(grad_circular(x), grad_circular(y), 9, 1e-9);
  EXPECT_EQ(raw.sizes(), (std::vector<int64_t>{1, 1, 9, 9}));
  EXPECT_LT(test::max_abs_diff(raw[0][0], k), kRecoveryTolerance);
}

TEST(KernelStep, GradientImagesHaveNoWrapAround) {
  auto x = torch::arange(12, torch::kFloat64).reshape({1, 1, 3, 4});
  auto g = gradient_images(x);
  EXPECT_EQ(g.sizes(), (std::vector<int64_t>{1, 1, 2, 2, 3}));
  EXPECT_TRUE(torch::allclose(g.select(2, 0), torch::ones({1, 1, 2, 3}, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(g.select(2, 1), torch::full({1, 1, 2, 3}, 4.0, torch::kFloat64)));
}

TEST(KernelStep, ProjectionCleansTheKernel) {
  auto k = torch::zeros({11, 11}, torch::kFloat64);
  k.index_put_({5, torch::indexing::Slice(3, 8)}, 1.0);  // main horizontal streak through the centre
  k.index_put_({0, 0}, 0.3);                             // isolated speck, 5% of the mass
  k.index_put_({9, 9}, -0.5);                            // negative value
  k.index_put_({6, 5}, 0.01);                            // below 5% of the maximum
  auto p = project_kernel(k);
  EXPECT_GE(p.min().item<double>(), 0.0);
  EXPECT_NEAR(p.sum().item<double>(), 1.0, 1e-12);
  EXPECT_EQ(p[0][0].item<double>(), 0.0);
  EXPECT_EQ(p[6][5].item<double>(), 0.0);
  EXPECT_NEAR(p[5][5].item<double>(), 0.2, 1e-12);
  // A heavy second component is kept.
  auto two = torch::zeros({11, 11}, torch::kFloat64);
  two.index_put_({5, 5}, 1.0);
  two.index_put_({5, 8}, 0.5);
  auto q = project_kernel(two);
  EXPECT_GT(q.gt(0).sum().item<int64_t>(), 1);
  // An all-negative kernel becomes a delta.
  auto delta = project_kernel(-torch::ones({5, 5}, torch::kFloat64));
  EXPECT_EQ(delta[2][2].item<double>(), 1.0);
  EXPECT_EQ(delta.sum().item<double>(), 1.0);
}

TEST(KernelStep, RecentringMovesTheCentreOfMassToTheMiddle) {
  auto k = torch::zeros({15, 15}, torch::kFloat64);
  k.index_put_({torch::indexing::Slice(1, 4), torch::indexing::Slice(2, 7)}, 1.0);
  auto c = recentre_kernel(k);
  const auto com = kernel_centre_of_mass(c);
  EXPECT_LE(std::abs(com.first - 7.0), 0.5);
  EXPECT_LE(std::abs(com.second - 7.0), 0.5);
  EXPECT_NEAR(c.sum().item<double>(), 1.0, 1e-12);
  EXPECT_EQ(c.gt(0).sum().item<int64_t>(), 15);  // shape kept, nothing dropped
}

TEST(KernelStep, PyramidResamplingPreservesMassAndCentre) {
  // A centred asymmetric motion kernel, up one level (sqrt 2) and down one level.
  auto k = recentre_kernel(test::test_kernel(13, 5));
  const auto com = kernel_centre_of_mass(k);
  for (auto [size, scale] : {std::pair<int64_t, double>{19, std::sqrt(2.0)}, {9, 1.0 / std::sqrt(2.0)}, {27, 2.0}}) {
    auto r = resample_kernel(k, size, scale);
    EXPECT_EQ(r.size(0), size);
    EXPECT_NEAR(r.sum().item<double>(), 1.0, 1e-6);
    EXPECT_GE(r.min().item<double>(), 0.0);
    const auto rc = kernel_centre_of_mass(r);
    const double c = static_cast<double>(size / 2);
    EXPECT_NEAR(rc.first, c + scale * (com.first - 6.0), 0.25) << size;
    EXPECT_NEAR(rc.second, c + scale * (com.second - 6.0), 0.25) << size;
  }
  // A symmetric kernel stays exactly centred.
  auto g = torch::exp(-(torch::arange(-3, 4, torch::kFloat64).square()) / 3.0);
  auto sym = torch::outer(g, g);
  auto up = resample_kernel(sym / sym.sum(), 11, std::sqrt(2.0));
  const auto uc = kernel_centre_of_mass(up);
  EXPECT_NEAR(uc.first, 5.0, 1e-12);
  EXPECT_NEAR(uc.second, 5.0, 1e-12);
}

TEST(KernelStep, BadSizesAreClearErrors) {
  auto x = test::mondrian(1, 16, 16, 0);
  auto g = grad_circular(x);
  EXPECT_NE(test::error_of([&] { kernel_least_squares(g, g, 4, 1e-3); }).find("odd"), std::string::npos);
  EXPECT_NE(test::error_of([&] { kernel_least_squares(g, g, 17, 1e-3); }).find("exceeds"), std::string::npos);
  EXPECT_NE(test::error_of([&] { kernel_least_squares(g, g, 3, -1.0); }).find("gamma"), std::string::npos);
  KernelProjectionOptions bad;
  bad.threshold = 1.5;
  EXPECT_NE(test::error_of([&] { project_kernel(torch::ones({3, 3}), bad); }).find("threshold must be in [0,1), got 1.5"),
            std::string::npos);
}

// Central finite differences of a scalar function of one tensor against autograd, float64.
void check_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& at,
                    const std::string& what) {
  auto input = at.clone().requires_grad_(true);
  auto out = f(input);
  auto grad = torch::autograd::grad({out}, {input})[0];
  const double eps = 1e-6;
  auto flat = at.reshape(-1);
  double worst = 0, scale = grad.abs().max().item<double>();
  for (int64_t i = 0; i < flat.numel(); ++i) {
    auto plus = flat.clone(), minus = flat.clone();
    plus[i] += eps;
    minus[i] -= eps;
    const double numeric =
        (f(plus.reshape(at.sizes())).item<double>() - f(minus.reshape(at.sizes())).item<double>()) / (2 * eps);
    worst = std::max(worst, std::abs(numeric - grad.reshape(-1)[i].item<double>()));
  }
  EXPECT_LT(worst, 1e-6 * std::max(1.0, scale)) << what << ": worst |numeric - autograd| " << worst;
}

TEST(KernelStep, GradientMatchesFiniteDifferencesInFloat64) {
  for (uint64_t seed : {0u, 1u, 2u}) {
    auto gen = at::detail::createCPUGenerator(seed);
    auto x = torch::rand({1, 1, 8, 8}, gen, torch::kFloat64);
    auto k = torch::rand({3, 3}, gen, torch::kFloat64) + 0.2;  // strictly positive: the projection is smooth here
    k = k / k.sum();
    auto y = conv_circular(x, k) + 1e-3 * torch::randn({1, 1, 8, 8}, gen, torch::kFloat64);
    auto weights = torch::rand({1, 1, 3, 3}, gen, torch::kFloat64);
    KernelProjectionOptions smooth;
    smooth.threshold = 0;
    smooth.min_component_mass = 0;
    auto step = [&](const torch::Tensor& xx, const torch::Tensor& yy, const torch::Tensor& gamma) {
      auto raw = kernel_least_squares(grad_circular(xx), grad_circular(yy), 3, gamma);
      return (project_kernel(raw, smooth) * weights).sum();
    };
    auto gamma = torch::scalar_tensor(0.05, torch::kFloat64);
    check_gradient([&](const torch::Tensor& v) { return step(v, y, gamma); }, x, "d/dx");
    check_gradient([&](const torch::Tensor& v) { return step(x, v, gamma); }, y, "d/dy");
    check_gradient([&](const torch::Tensor& v) { return step(x, y, v); }, gamma, "d/dgamma");
    // The support-constrained (CG) variant, unrolled.
    auto support = [&](const torch::Tensor& xx, const torch::Tensor& yy) {
      auto raw = kernel_least_squares_support(grad_circular(xx), grad_circular(yy), 3, gamma, 10);
      return (project_kernel(raw, smooth) * weights).sum();
    };
    check_gradient([&](const torch::Tensor& v) { return support(v, y); }, x, "support d/dx");
    check_gradient([&](const torch::Tensor& v) { return support(x, v); }, y, "support d/dy");
  }
}

}  // namespace
}  // namespace unroll
