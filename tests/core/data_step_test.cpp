#include "core/data_step.h"

#include <gtest/gtest.h>

#include "classic/wiener.h"
#include "core/fft.h"
#include "test_util.h"

namespace unroll {
namespace {

// K^T K x + a x - (K^T y + a z) for circular K, computed spatially.
torch::Tensor normal_residual(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& k,
                              const torch::Tensor& z, const torch::Tensor& a) {
  return corr_circular(conv_circular(x, k), k) + a * x - corr_circular(y, k) - a * z;
}

TEST(FourierDataStep, SolvesItsNormalEquations) {
  auto y = torch::rand({2, 3, 20, 27}, torch::kFloat64);
  auto z = torch::rand({2, 3, 20, 27}, torch::kFloat64);
  auto k = torch::stack({test::test_kernel(7, 1), test::test_kernel(7, 2)}).unsqueeze(1).to(torch::kFloat64);
  auto a = torch::tensor({0.05, 0.7}, torch::kFloat64).reshape({2, 1, 1, 1});
  FourierDataStep step(y, k);
  auto x = step.solve(z, a);
  auto r = normal_residual(x, y, k, z, a);
  EXPECT_LT(r.abs().max().item<double>(), 1e-10);
  // float32 too, looser
  FourierDataStep step32(y.to(torch::kFloat32), k.to(torch::kFloat32));
  auto x32 = step32.solve(z.to(torch::kFloat32), a.to(torch::kFloat32));
  EXPECT_LT(normal_residual(x32.to(torch::kFloat64), y, k, z, a).abs().max().item<double>(), 1e-4);
}

TEST(FourierDataStep, IdentityKernelReturnsWeightedAverage) {
  auto y = torch::rand({1, 1, 16, 16}, torch::kFloat64);
  auto z = torch::rand({1, 1, 16, 16}, torch::kFloat64);
  auto delta = torch::zeros({3, 3}, torch::kFloat64);
  delta[1][1] = 1;
  FourierDataStep step(y, delta);
  EXPECT_LT(test::max_abs_diff(step.solve(z, 1.0), (y + z) / 2), 1e-12);
  EXPECT_LT(test::max_abs_diff(step.solve(z, 1e-12), y), 1e-9);
}

// The errors-in-variables step: 0 is the plain step; a large model error keeps x at z; and, given a
// wrong kernel, one step from z = y lands closer to the truth than the plain step, which divides by
// the wrong |K| and rings.
TEST(FourierDataStep, UncertainKernelStepTrustsTheDataLessWhereTheKernelIsWrong) {
  const int64_t n = 64;
  auto x = test::test_image(1, n, n).to(torch::kFloat64);
  auto k = test::test_kernel(9, 3).to(torch::kFloat64);
  torch::manual_seed(5);
  auto wrong = (k + 0.2 * k.max() * torch::randn_like(k) * (k > 0)).clamp_min(0.0);
  wrong = wrong / wrong.sum();
  const double sigma = 0.01;
  auto y = conv_circular(x, k) + sigma * torch::randn_like(x);
  const FourierDataStep step(y, wrong);
  const double a = sigma * sigma;
  EXPECT_TRUE(torch::equal(step.solve_uncertain(y, torch::scalar_tensor(a, y.options()), 0.0), step.solve(y, a)));
  EXPECT_LT(test::max_abs_diff(step.solve_uncertain(y, torch::scalar_tensor(a, y.options()), 1e12), y), 1e-3);
  const double relative = ((wrong - k).norm() / k.norm()).item<double>();
  const double c = kernel_model_error(wrong, relative, sigma, n, n);
  auto plain = step.solve(y, a), robust = step.solve_uncertain(y, torch::scalar_tensor(a, y.options()), c);
  const double e_plain = (plain - x).norm().item<double>(), e_robust = (robust - x).norm().item<double>();
  EXPECT_LT(e_robust, 0.8 * e_plain) << "plain " << e_plain << " robust " << e_robust;
  // ||dk||^2 / (H W sigma^2): a delta kernel (energy 1), 50% error, sigma 0.1, 10x10 pixels -> 0.25.
  auto delta = torch::zeros({3, 3}, torch::kFloat64);
  delta[1][1] = 2.0;  // unnormalised: the energy is taken relative to the kernel's mass
  EXPECT_NEAR(kernel_model_error(delta, 0.5, 0.1, 10, 10), 0.25, 1e-12);
  EXPECT_NEAR(kernel_model_error(delta, 0.5, 0.0, 10, 10), 0.25 * 1e4, 1e-6);  // sigma floored at 1e-3
  EXPECT_NE(test::error_of([&] { kernel_model_error(delta, -1.0, 0.1, 10, 10); }).find("kernel error"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { step.solve_uncertain(y, torch::scalar_tensor(a, y.options()), NAN); })
                .find("model_error"),
            std::string::npos);
}

TEST(FourierDataStep, GradientMatchesFiniteDifferences) {
  auto y = torch::rand({1, 2, 9, 10}, torch::kFloat64).requires_grad_(true);
  auto z = torch::rand({1, 2, 9, 10}, torch::kFloat64).requires_grad_(true);
  auto a = torch::tensor({0.3}, torch::kFloat64).reshape({1, 1, 1, 1}).requires_grad_(true);
  auto k = test::test_kernel(5, 4).to(torch::kFloat64);
  auto w = torch::rand({1, 2, 9, 10}, torch::kFloat64);
  auto loss = [&](const torch::Tensor& yy, const torch::Tensor& zz, const torch::Tensor& aa) {
    return (FourierDataStep(yy, k).solve(zz, aa) * w).sum();
  };
  auto l = loss(y, z, a);
  auto grads = torch::autograd::grad({l}, {y, z, a});
  const double eps = 1e-6;
  torch::NoGradGuard guard;
  for (int trial = 0; trial < 5; ++trial) {
    const int64_t idx = trial * 37 % y.numel();
    for (int which = 0; which < 2; ++which) {
      auto base = (which == 0 ? y : z).detach().clone();
      auto plus = base.clone(), minus = base.clone();
      plus.view(-1)[idx] += eps;
      minus.view(-1)[idx] -= eps;
      const double fd = which == 0
                            ? (loss(plus, z, a) - loss(minus, z, a)).item<double>() / (2 * eps)
                            : (loss(y, plus, a) - loss(y, minus, a)).item<double>() / (2 * eps);
      EXPECT_NEAR(grads[which].view(-1)[idx].item<double>(), fd, 1e-6) << "input " << which << " index " << idx;
    }
  }
  const double fd_a = (loss(y, z, a + eps) - loss(y, z, a - eps)).item<double>() / (2 * eps);
  EXPECT_NEAR(grads[2].item<double>(), fd_a, 1e-6);
}

TEST(Wiener, ZeroRegularisationInvertsNoiseFreeCircularBlur) {
  auto x = test::test_image(3, 32, 30).to(torch::kFloat64);
  // A kernel whose OTF has no zeros: a centred, strongly peaked blob.
  auto k = torch::tensor({{0.02, 0.05, 0.02}, {0.05, 0.72, 0.05}, {0.02, 0.05, 0.02}}, torch::kFloat64);
  ASSERT_GT(psf2otf(k, 32, 30).abs().min().item<double>(), 0.3);
  WienerOptions o;
  o.nsr = 0.0;
  o.regularizer = WienerOptions::Regularizer::Identity;
  EXPECT_LT(test::max_abs_diff(wiener(conv_circular(x, k), k, o), x), 1e-4);
  auto x32 = wiener(conv_circular(x, k).to(torch::kFloat32), k.to(torch::kFloat32), o);
  EXPECT_LT(test::max_abs_diff(x32, x), 1e-4);
}

TEST(Wiener, IdentityKernelReturnsInput) {
  auto x = test::test_image(1, 17, 19);
  auto delta = torch::zeros({5, 5});
  delta[2][2] = 1;
  WienerOptions o;
  o.nsr = 0;
  EXPECT_LT(test::max_abs_diff(wiener(x, delta, o), x), 1e-5);
}

TEST(Wiener, RejectsBadOptionsAndInputs) {
  auto x = test::test_image(1, 16, 16);
  WienerOptions o;
  o.nsr = -1;
  EXPECT_THROW(wiener(x, test::test_kernel(5), o), std::exception);
  EXPECT_THROW(wiener(x, test::test_kernel(21), WienerOptions{}), std::exception);  // kernel > image
  auto bad = test::test_kernel(5);
  bad[0][0] = NAN;
  EXPECT_THROW(wiener(x, bad, WienerOptions{}), std::exception);
  auto nan_image = x.clone();
  nan_image[0][0][3][3] = NAN;
  EXPECT_THROW(wiener(nan_image, test::test_kernel(5), WienerOptions{}), std::exception);
}

}  // namespace
}  // namespace unroll
