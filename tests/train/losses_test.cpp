#include "train/losses.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/metrics.h"
#include "test_util.h"

namespace unroll {
namespace {

struct Named {
  std::string name;
  PixelLoss loss;
};

std::vector<Named> all_losses() {
  std::vector<Named> v;
  for (const auto& n : {"l1", "mse", "charbonnier", "fft", "sobel", "ssim"}) v.push_back({n, make_loss(n)});
  return v;
}

// Zero for identical inputs, positive otherwise, and a non-zero gradient with respect to the prediction.
TEST(Losses, ZeroForIdenticalPositiveOtherwiseDifferentiable) {
  const auto target = test::test_image(3, 24, 20, 1).to(torch::kFloat64);
  for (const auto& l : all_losses()) {
    SCOPED_TRACE(l.name);
    EXPECT_NEAR(l.loss(target.clone(), target).item<double>(), 0.0, 1e-12);
    auto pred = (target + 0.05 * torch::randn_like(target)).requires_grad_(true);
    auto value = l.loss(pred, target);
    EXPECT_EQ(value.dim(), 0);
    EXPECT_GT(value.item<double>(), 1e-6);
    value.backward();
    ASSERT_TRUE(pred.grad().defined());
    EXPECT_GT(pred.grad().abs().sum().item<double>(), 0.0);
    EXPECT_TRUE(torch::isfinite(pred.grad()).all().item<bool>());
  }
}

// Closed-form values.
TEST(Losses, ClosedFormValues) {
  auto t = torch::zeros({2, 3, 8, 6}, torch::kFloat64);
  auto p = torch::full_like(t, 0.2);
  EXPECT_NEAR(losses::l1(p, t).item<double>(), 0.2, 1e-12);
  EXPECT_NEAR(losses::mse(p, t).item<double>(), 0.04, 1e-12);
  EXPECT_NEAR(losses::charbonnier(p, t, 1e-3).item<double>(), std::sqrt(0.04 + 1e-6) - 1e-3, 1e-12);
  // A constant offset d only moves the DC coefficient, by d*H*W in the real part: over the 2*H*W stacked
  // real/imaginary entries the mean is |d|/2.
  EXPECT_NEAR(losses::fft(p, t).item<double>(), 0.1, 1e-12);
  // Sobel ignores constant offsets; on a horizontal ramp of slope s, |S_x| = 8 s and S_y = 0.
  EXPECT_NEAR(losses::sobel(p, t).item<double>(), 0.0, 1e-12);
  auto ramp = torch::arange(6, torch::kFloat64).mul(0.01).reshape({1, 1, 1, 6}).expand({1, 1, 8, 6}).contiguous();
  EXPECT_NEAR(losses::sobel(ramp, torch::zeros_like(ramp)).item<double>(), 0.08, 1e-12);
  // SSIM loss is 1 - core ssim.
  auto a = test::test_image(1, 16, 16, 2).to(torch::kFloat64), b = test::test_image(1, 16, 16, 3).to(torch::kFloat64);
  EXPECT_NEAR(losses::ssim(a, b).item<double>(), 1.0 - ssim(a, b).item<double>(), 1e-12);
}

// Finite-difference check of the frequency and Sobel losses (float64, away from the |.| kinks).
TEST(Losses, GradientsMatchFiniteDifferences) {
  torch::manual_seed(7);
  auto target = torch::rand({1, 2, 6, 5}, torch::kFloat64);
  for (const auto& name : {"fft", "sobel", "charbonnier", "ssim"}) {
    SCOPED_TRACE(name);
    auto loss = make_loss(name);
    auto base = target + 0.3 * torch::randn_like(target);
    if (std::string(name) == "ssim") {
      target = torch::rand({1, 1, 12, 12}, torch::kFloat64);
      base = target + 0.3 * torch::randn_like(target);
    }
    auto pred = base.clone().requires_grad_(true);
    loss(pred, target).backward();
    auto grad = pred.grad();
    const double h = 1e-6;
    for (int64_t idx : {0L, 7L, base.numel() - 1}) {
      auto plus = base.clone(), minus = base.clone();
      plus.view(-1)[idx] += h;
      minus.view(-1)[idx] -= h;
      const double fd = (loss(plus, target).item<double>() - loss(minus, target).item<double>()) / (2 * h);
      EXPECT_NEAR(grad.view(-1)[idx].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd))) << "index " << idx;
    }
  }
}

// ConvIR's loss (train.py): L1 + 0.1 FFT at each scale against the bilinearly resized target.
TEST(ConvIRLoss, MatchesDefinitionAndVanishesOnResizedTargets) {
  auto target = test::test_image(3, 32, 40, 4);
  std::vector<torch::Tensor> perfect = {resize_target(target, 8, 10, TargetResize::Bilinear),
                                        resize_target(target, 16, 20, TargetResize::Bilinear), target.clone()};
  EXPECT_NEAR(convir_loss(perfect, target).item<double>(), 0.0, 1e-7);

  std::vector<torch::Tensor> outs;
  for (const auto& p : perfect) outs.push_back((p + 0.1 * torch::randn_like(p)).requires_grad_(true));
  auto value = convir_loss(outs, target);
  double expect = 0;
  for (const auto& o : outs) {
    auto ts = resize_target(target, o.size(2), o.size(3), TargetResize::Bilinear);
    expect += losses::l1(o, ts).item<double>() + 0.1 * losses::fft(o, ts).item<double>();
  }
  EXPECT_NEAR(value.item<double>(), expect, 1e-5 * expect);
  value.backward();
  for (const auto& o : outs) EXPECT_GT(o.grad().abs().sum().item<double>(), 0.0);

  // Nearest option: the 2x2 top-left sample, as F.interpolate(scale_factor=0.5) in the network.
  auto nearest = resize_target(target, 16, 20, TargetResize::Nearest);
  EXPECT_EQ(test::max_abs_diff(nearest, target.slice(2, 0, 32, 2).slice(3, 0, 40, 2)), 0.0);
  // Bilinear (align_corners=False) halving is the 2x2 box average.
  auto half = resize_target(target, 16, 20, TargetResize::Bilinear);
  EXPECT_LT(test::max_abs_diff(half, torch::avg_pool2d(target, {2, 2}, {2, 2})), 1e-6);

  ConvIRLossOptions bad;
  bad.fft_weight = -1;
  EXPECT_THROW(convir_loss(outs, target, bad), Error);
}

TEST(MakeLoss, WeightedSumsAndErrors) {
  auto t = test::test_image(3, 16, 16, 5).to(torch::kFloat64);
  auto p = t + 0.1 * torch::randn_like(t);
  auto combo = make_loss(" L1 + 0.1*FFT+0.5*ssim ");
  EXPECT_NEAR(combo(p, t).item<double>(),
              (losses::l1(p, t) + 0.1 * losses::fft(p, t) + 0.5 * losses::ssim(p, t)).item<double>(), 1e-12);
  EXPECT_NEAR(make_loss("l2")(p, t).item<double>(), losses::mse(p, t).item<double>(), 1e-15);
  EXPECT_NEAR(make_loss("gradient")(p, t).item<double>(), losses::sobel(p, t).item<double>(), 1e-15);

  auto message = [](const std::string& spec) {
    try {
      make_loss(spec);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  EXPECT_NE(message("l1+perceptal").find("unknown loss \"perceptal\""), std::string::npos);
  EXPECT_NE(message("l1+perceptal").find("charbonnier"), std::string::npos);
  EXPECT_NE(message("x*l1").find("bad weight \"x\""), std::string::npos);
  EXPECT_NE(message("-1*l1").find("bad weight"), std::string::npos);
  EXPECT_NE(message("l1++fft").find("empty term"), std::string::npos);
  EXPECT_THROW(make_loss("")(p, t), Error);
  EXPECT_THROW(losses::l1(p, t.narrow(2, 0, 8)), Error);
  EXPECT_THROW(losses::sobel(torch::zeros({1, 1, 2, 5}), torch::zeros({1, 1, 2, 5})), Error);
}

}  // namespace
}  // namespace unroll
