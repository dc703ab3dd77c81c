#include "hqs/blind_unrolled_net.h"

#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "datasets/degrade.h"
#include "test_util.h"
#include "train/training_tasks.h"

namespace unroll {
namespace {

UnrolledNetOptions toy_unrolled(int64_t channels = 1, int iterations = 3) {
  UnrolledNetOptions o;
  o.iterations = iterations;
  o.hyper_channels = 8;
  o.prior.in_nc = channels + 1;
  o.prior.out_nc = channels;
  o.prior.nc = {8, 8, 16, 16};
  o.prior.nb = 1;
  return o;
}

/// A non-blind toy network with non-trivial weights (the ResUNet tail starts at zero).
UnrolledNet trained_looking(int64_t channels = 1) {
  torch::manual_seed(3);
  UnrolledNet net(toy_unrolled(channels));
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.add_(0.02 * torch::randn_like(p));
  return net;
}

BlindUnrolledNet toy_blind(int kernel_steps = -1, int64_t channels = 1, int cg_iterations = 10) {
  BlindUnrolledNetOptions o;
  o.kernel_size = 9;
  o.kernel_steps = kernel_steps;
  o.cg_iterations = cg_iterations;
  o.head_channels = 8;
  return blind_from_unrolled(trained_looking(channels), o);
}

torch::Tensor blurred_scene(int64_t channels, int64_t size, const torch::Tensor& kernel, double sigma = 0.01) {
  auto x = test::test_image(channels, size, size, 5);
  DegradeOptions d;
  d.blur = BlurMode::Circular;
  d.fixed_sigma(sigma);
  return degrade(x, kernel.to(torch::kFloat32), d, 7).blurred;
}

TEST(BlindUnrolledNet, OracleKernelWithoutKernelStepsIsTheNonBlindNetwork) {
  for (bool alternate : {false, true}) {
    auto source = trained_looking(1);
    BlindUnrolledNetOptions o;
    o.kernel_size = 9;
    o.kernel_steps = 0;
    o.head_channels = 8;
    auto blind = blind_from_unrolled(source, o);
    source->set_alternate_transforms(alternate);
    blind->set_alternate_transforms(alternate);
    torch::NoGradGuard no_grad;
    auto k = test::test_kernel(9, 1);
    auto y = blurred_scene(1, 40, k);
    auto sigma = torch::full({1, 1, 1, 1}, 0.02);
    auto expected = source->forward(y, k, sigma);
    auto got = blind->forward_with_kernel(y, k, sigma, /*keep_intermediates=*/true);
    EXPECT_EQ(test::max_abs_diff(got.image, expected), 0.0) << "alternate " << alternate;
    ASSERT_EQ(got.kernels.size(), 4u);  // k_0 .. k_K, all the oracle
    EXPECT_EQ(test::max_abs_diff(got.kernel[0][0], k.to(torch::kFloat32)), 0.0);
    // A smaller odd oracle kernel is padded about its centre: the same data step.
    auto small = test::test_kernel(5, 2);
    EXPECT_LT(test::max_abs_diff(blind->forward_with_kernel(y, small, sigma).image, source->forward(y, small, sigma)),
              1e-6);
  }
}

TEST(BlindUnrolledNet, KernelStepsRefineTheKernelFromTheSecondIteration) {
  // From a flat kernel: iteration 1 keeps it, iteration 2's kernel step changes it, and every kernel
  // is a valid one (non-negative, sum 1).
  auto net = toy_blind(/*kernel_steps=*/2);
  torch::NoGradGuard no_grad;
  auto k = test::test_kernel(9, 4);
  auto y = blurred_scene(1, 48, k, 0.0);
  auto flat = torch::full({9, 9}, 1.0 / 81);
  auto out = net->forward_with_kernel(y, flat, torch::full({1, 1, 1, 1}, 0.01), true);
  ASSERT_EQ(out.kernels.size(), 4u);
  for (const auto& ki : out.kernels) {
    EXPECT_GE(ki.min().item<double>(), 0.0);
    EXPECT_NEAR(ki.sum().item<double>(), 1.0, 1e-5);
  }
  EXPECT_EQ(test::max_abs_diff(out.kernels[1], out.kernels[0]), 0.0);  // no kernel step in iteration 1
  EXPECT_GT(test::max_abs_diff(out.kernels[2], out.kernels[1]), 1e-4);   // iteration 2 runs one
  EXPECT_TRUE(torch::isfinite(out.image).all().item<bool>());
}

TEST(BlindUnrolledNet, GradientMatchesFiniteDifferencesInFloat64) {
  // The whole network in float64, kernel step included: directional derivative of a fixed linear
  // functional of the output (image and kernel) with respect to the input, against central differences.
  // Few CG steps: the solver stops early once converged (a data-dependent decision), and a stop that
  // flips between the two evaluations of a central difference shows up as noise of ~1e-8 in f.
  auto net = toy_blind(/*kernel_steps=*/2, 1, /*cg_iterations=*/4);
  net->to(torch::kFloat64);
  auto k = test::test_kernel(7, 6).to(torch::kFloat64);
  auto y0 = blurred_scene(1, 40, k, 0.005).to(torch::kFloat64);
  auto sigma = torch::full({1, 1, 1, 1}, 0.01, torch::kFloat64);
  torch::manual_seed(11);
  auto w_img = torch::randn_like(y0);
  auto w_ker = torch::randn({1, 1, 9, 9}, torch::kFloat64);
  auto direction = torch::randn_like(y0);
  auto f = [&](const torch::Tensor& y) {
    auto out = net->forward(y, sigma);
    return (out.image * w_img).sum() + (out.kernel * w_ker).sum();
  };
  auto y = y0.clone().requires_grad_(true);
  auto value = f(y);
  auto grad = torch::autograd::grad({value}, {y})[0];
  const double analytic = (grad * direction).sum().item<double>();
  torch::NoGradGuard no_grad;
  const double eps = 1e-6;
  const double numeric = (f(y0 + eps * direction).item<double>() - f(y0 - eps * direction).item<double>()) / (2 * eps);
  EXPECT_NEAR(analytic, numeric, 1e-5 * std::max(1.0, std::abs(numeric))) << analytic << " vs " << numeric;
}

TEST(BlindUnrolledNet, HeadGivesAValidKernelForGreyAndColour) {
  for (int64_t c : {1, 3}) {
    auto net = toy_blind(-1, c);
    torch::NoGradGuard no_grad;
    auto y = blurred_scene(c, 36, test::test_kernel(7, 2));
    auto out = net->forward(y, torch::full({1, 1, 1, 1}, 0.01));
    EXPECT_EQ(out.image.sizes(), y.sizes());
    EXPECT_EQ(out.kernel.sizes(), torch::IntArrayRef({1, 1, 9, 9}));
    EXPECT_NEAR(out.kernels.front().sum().item<double>(), 1.0, 1e-5);
    EXPECT_GE(out.kernels.front().min().item<double>(), 0.0);
    EXPECT_TRUE(torch::isfinite(out.image).all().item<bool>());
    EXPECT_EQ(out.gamma.sizes(), torch::IntArrayRef({1, 3}));
  }
}

TEST(BlindUnrolledNet, WarmStartKeepsTheNonBlindSchedule) {
  auto source = trained_looking(1);
  auto blind = toy_blind(-1, 1);
  torch::NoGradGuard no_grad;
  auto y = blurred_scene(1, 40, test::test_kernel(7, 2));
  auto sigma = torch::full({1, 1, 1, 1}, 0.03);
  auto out = blind->forward(y, sigma);
  auto h = source->hyper(sigma);
  EXPECT_EQ(test::max_abs_diff(out.alpha, h.narrow(1, 0, 3).flatten(1)), 0.0);
  EXPECT_EQ(test::max_abs_diff(out.beta, h.narrow(1, 3, 3).flatten(1)), 0.0);
  EXPECT_NEAR(out.gamma[0][1].item<double>(), 1e-2, 2e-6);  // softplus(log(expm1(0.01))) + 1e-6
}

TEST(BlindUnrolledNet, CheckpointRoundTrip) {
  auto net = toy_blind(/*kernel_steps=*/1, 3);
  const std::string dir = test::temp_dir("blind_unrolled_roundtrip");
  const std::string path = dir + "/model.pth";
  save_blind_unrolled_net(net, path);
  auto back = load_blind_unrolled_net(path);
  EXPECT_EQ(back->options().kernel_size, 9);
  EXPECT_EQ(back->options().kernel_steps, 1);
  EXPECT_EQ(back->options().cg_iterations, 10);
  EXPECT_EQ(back->options().unrolled.iterations, 3);
  EXPECT_EQ(back->recorded_kernel_steps(), 1);
  torch::NoGradGuard no_grad;
  auto y = blurred_scene(3, 36, test::test_kernel(7, 3));
  auto sigma = torch::full({1, 1, 1, 1}, 0.02);
  EXPECT_EQ(test::max_abs_diff(net->forward(y, sigma).image, back->forward(y, sigma).image), 0.0);
}

TEST(BlindUnrolledNet, BadInputsAndForeignCheckpointsGiveClearErrors) {
  const std::string dir = test::temp_dir("blind_unrolled_errors");
  auto source = trained_looking(1);
  save_state_dict(dir + "/nonblind.pth", module_state_dict(*source));
  auto msg = test::error_of([&] { load_blind_unrolled_net(dir + "/nonblind.pth"); });
  EXPECT_NE(msg.find("not a blind unrolled network"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--method unrolled"), std::string::npos) << msg;
  auto blind = toy_blind();
  save_blind_unrolled_net(blind, dir + "/blind.pth");
  msg = test::error_of([&] { load_unrolled_net(dir + "/blind.pth"); });
  EXPECT_NE(msg.find("unrolled-blind"), std::string::npos) << msg;
  // Too small for the kernel support, wrong channel count.
  msg = test::error_of([&] { blind->forward(torch::rand({1, 1, 12, 40}), torch::full({1, 1, 1, 1}, 0.01)); });
  EXPECT_NE(msg.find("at least 18 pixels"), std::string::npos) << msg;
  msg = test::error_of([&] { blind->forward(torch::rand({1, 3, 40, 40}), torch::full({1, 1, 1, 1}, 0.01)); });
  EXPECT_NE(msg.find("channels"), std::string::npos) << msg;
  BlindUnrolledNetOptions o;
  o.unrolled = toy_unrolled();
  o.kernel_size = 8;
  msg = test::error_of([&] { BlindUnrolledNet{o}; });
  EXPECT_NE(msg.find("kernel_size must be odd"), std::string::npos) << msg;
  o.kernel_size = 9;
  o.kernel_steps = 3;
  msg = test::error_of([&] { BlindUnrolledNet{o}; });
  EXPECT_NE(msg.find("kernel_steps must be in 0..2"), std::string::npos) << msg;
}

TEST(BlindUnrolledTraining, ShiftTolerantKernelLossIgnoresSmallShifts) {
  auto k = test::test_kernel(7, 8).to(torch::kFloat32).reshape({1, 1, 7, 7});
  auto padded = torch::constant_pad_nd(k, {1, 1, 1, 1});  // 9x9, centred
  EXPECT_LT(shift_tolerant_kernel_loss(padded, k, 2).item<double>(), 1e-7);
  auto shifted = torch::roll(padded, {1, -1}, {2, 3});
  EXPECT_LT(shift_tolerant_kernel_loss(shifted, k, 2).item<double>(), 1e-7);
  EXPECT_GT(shift_tolerant_kernel_loss(shifted, k, 0).item<double>(), 0.1);
  auto flat = torch::full({1, 1, 9, 9}, 1.0 / 81);
  EXPECT_GT(shift_tolerant_kernel_loss(flat, k, 2).item<double>(), 0.1);
}

TEST(BlindUnrolledTraining, StepsOnAFixedBatchReduceTheLoss) {
  auto net = toy_blind(-1, 3);
  std::vector<torch::Tensor> images;
  for (uint64_t s = 0; s < 3; ++s) images.push_back(test::test_image(3, 64, 64, s));
  auto data = clean_image_dataset(images);
  BlindUnrolledTrainingOptions o;
  o.trainer.batch = 2;
  o.trainer.crop = 40;
  o.trainer.steps = 8;
  o.trainer.lr = 2e-3;
  o.trainer.progress = false;
  o.kernels = fitted_kernel_spec(KernelType::Mixed, 9);
  o.defocus_fraction = 0.2;
  o.kernel_loss = 0.1;
  auto loss = blind_unrolled_batch_loss(net, data, o);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(2e-3));
  const double first = loss(0).item<double>();
  for (int i = 0; i < 8; ++i) {
    adam.zero_grad();
    auto l = loss(0);  // the same batch every time
    l.backward();
    adam.step();
  }
  const double last = loss(0).item<double>();
  EXPECT_TRUE(std::isfinite(first) && std::isfinite(last));
  EXPECT_LT(last, first);
  // The head's parameters receive gradients (the kernel reaches the loss).
  adam.zero_grad();
  loss(0).backward();
  double head_grad = 0;
  for (const auto& p : net->head()->parameters())
    if (p.grad().defined()) head_grad += p.grad().abs().sum().item<double>();
  EXPECT_GT(head_grad, 0.0);
}

}  // namespace
}  // namespace unroll
