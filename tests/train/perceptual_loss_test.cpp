#include "train/perceptual_loss.h"

#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {

// Random weights in torchvision's vgg16 layout for features 0..15, plus a classifier entry that the loss
// must ignore.
StateDict fake_vgg16(uint64_t seed) {
  torch::manual_seed(seed);
  StateDict s;
  const std::vector<std::pair<int, std::pair<int, int>>> convs = {
      {0, {3, 64}}, {2, {64, 64}}, {5, {64, 128}}, {7, {128, 128}}, {10, {128, 256}}, {12, {256, 256}}, {14, {256, 256}}};
  for (const auto& c : convs) {
    const auto in = c.second.first, out = c.second.second;
    s.emplace_back("features." + std::to_string(c.first) + ".weight", torch::randn({out, in, 3, 3}) * std::sqrt(2.0 / (9 * in)));
    s.emplace_back("features." + std::to_string(c.first) + ".bias", 0.01 * torch::randn({out}));
  }
  s.emplace_back("classifier.0.weight", torch::zeros({4, 4}));
  return s;
}

std::string write_fake(const std::string& name, const StateDict& s) {
  const auto path = test::temp_dir(name) + "/vgg16.pth";
  save_state_dict(path, s);
  return path;
}

using test::error_of;

TEST(PerceptualLoss, MissingWeightsFailAtConstruction) {
  PerceptualLossOptions o;
  EXPECT_NE(error_of([&] { PerceptualLoss l(o); }).find("no VGG16 weights"), std::string::npos);
  o.weights = "/nonexistent/vgg16.pth";
  EXPECT_NE(error_of([&] { PerceptualLoss l(o); }).find("/nonexistent/vgg16.pth"), std::string::npos);
  EXPECT_NE(error_of([] { make_loss("l1+perceptual"); }).find("needs VGG16 weights"), std::string::npos);
  o.layers = {4};
  EXPECT_NE(error_of([&] { o.validate(); }).find("not a ReLU index"), std::string::npos);

  auto s = fake_vgg16(1);
  s[2].second = torch::zeros({64, 32, 3, 3});  // features.2.weight mis-shaped
  PerceptualLossOptions bad;
  bad.weights = write_fake("perceptual_bad", s);
  EXPECT_NE(error_of([&] { PerceptualLoss l(bad); }).find("'features.2.weight' has shape"), std::string::npos);
}

TEST(PerceptualLoss, ZeroPositiveGradientAndMatchesDirectComputation) {
  const auto s = fake_vgg16(2);
  PerceptualLossOptions o;
  o.weights = write_fake("perceptual_ok", s);
  PerceptualLoss loss(o);
  auto target = test::test_image(3, 20, 24, 3);
  EXPECT_NEAR(loss(target.clone(), target).item<double>(), 0.0, 1e-12);
  auto pred = (target + 0.05 * torch::randn_like(target)).requires_grad_(true);
  auto value = loss(pred, target);
  EXPECT_GT(value.item<double>(), 1e-6);
  value.backward();
  EXPECT_GT(pred.grad().abs().sum().item<double>(), 0.0);

  // relu1_2 alone, computed directly from the stored tensors.
  PerceptualLossOptions one = o;
  one.layers = {3};
  PerceptualLoss l3(one);
  auto w = [&](size_t i) { return s[i].second; };
  auto phi = [&](const torch::Tensor& x) {
    auto n = (x - torch::tensor({0.485, 0.456, 0.406}).reshape({1, 3, 1, 1})) /
             torch::tensor({0.229, 0.224, 0.225}).reshape({1, 3, 1, 1});
    auto a = torch::relu(torch::conv2d(n, w(0), w(1), 1, 1));
    return torch::relu(torch::conv2d(a, w(2), w(3), 1, 1));
  };
  torch::NoGradGuard g;
  const double direct = (phi(pred) - phi(target)).abs().mean().item<double>();
  EXPECT_NEAR(l3(pred, target).item<double>(), direct, 1e-6 * std::max(1.0, direct));

  // Grey images are replicated to RGB; make_loss composes it.
  auto grey = target.mean(1, true);
  EXPECT_NEAR(loss(grey, grey).item<double>(), 0.0, 1e-12);
  auto combo = make_loss("l1+0.5*perceptual", o.weights);
  EXPECT_NEAR(combo(pred, target).item<double>(),
              (losses::l1(pred, target) + 0.5 * loss(pred, target)).item<double>(), 1e-6);
}

}  // namespace
}  // namespace unroll
