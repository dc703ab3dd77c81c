#include "hqs/warm_start.h"

#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/noise.h"
#include "priors/resunet.h"
#include "test_util.h"

namespace unroll {
namespace {

TEST(WarmStart, ScheduleTargetsAreDpirSchedules) {
  auto sigmas = torch::tensor({0.0, 2.55 / 255.0, 7.65 / 255.0}, torch::kFloat64);
  auto t = dpir_schedule_targets(sigmas, 8, PnpHqsOptions{});
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({3, 16}));
  for (int g = 0; g < 3; ++g) {
    const auto s = dpir_schedule(sigmas[g].item<double>());
    for (int k = 0; k < 8; ++k) {
      EXPECT_DOUBLE_EQ(t[g][k].item<double>(), s.alphas[k]);
      EXPECT_DOUBLE_EQ(t[g][8 + k].item<double>(), s.sigmas[k]);
    }
  }
}

TEST(WarmStart, HyperNetLearnsTheDpirSchedule) {
  torch::manual_seed(0);
  HyperNet h(HyperNetOptions{2, 16, 32});
  const ScheduleFit before = measure_schedule_fit(h, 8);
  const ScheduleFit after = fit_hyper_net_to_schedule(h, 8);
  // A random hyper-network is off by orders of magnitude; the fitted one within a few percent.
  EXPECT_GT(before.mean_log_error, 1.0);
  EXPECT_LT(after.mean_log_error, 0.03) << "max " << after.max_log_error;
  EXPECT_LT(after.max_log_error, 0.5);
  // At the protocol noise levels the outputs are the schedule itself.
  for (double s255 : {2.55, 7.65}) {
    const auto sched = dpir_schedule(s255 / 255.0);
    torch::NoGradGuard no_grad;
    auto out = h->forward(torch::tensor({s255 / 255.0, 1.0}).reshape({1, 2, 1, 1}).to(torch::kFloat32)).flatten();
    for (int k = 0; k < 8; ++k) {
      EXPECT_NEAR(out[k].item<double>() / sched.alphas[k], 1.0, 0.15) << "alpha " << k << " at " << s255;
      EXPECT_NEAR(out[8 + k].item<double>() / sched.sigmas[k], 1.0, 0.15) << "beta " << k << " at " << s255;
    }
  }
}

TEST(WarmStart, WrongShapesAndOptionsAreErrors) {
  HyperNet h(HyperNetOptions{2, 12, 8});
  EXPECT_THROW(fit_hyper_net_to_schedule(h, 8), Error);
  ScheduleFitOptions bad;
  bad.sigma_max = 0.0;
  EXPECT_THROW(fit_hyper_net_to_schedule(h, 6, bad), Error);
  bad = {};
  bad.steps = 0;
  EXPECT_THROW(fit_hyper_net_to_schedule(h, 6, bad), Error);
  EXPECT_THROW(unrolled_from_denoiser(test::temp_dir("warm_start_missing") + "/none.pth", 4, 8), Error);
}

// The untrained warm-started network is plug-and-play HQS with the same denoiser (circular boundary).
TEST(WarmStart, UnrolledFromDenoiserEqualsPlugAndPlay) {
  torch::manual_seed(3);
  ResUNetOptions d;
  d.in_nc = 4;
  d.out_nc = 3;
  d.nc = {8, 8, 16, 16};
  d.nb = 1;
  d.global_residual = true;
  auto denoiser = std::make_shared<ResUNet>(d);
  {
    // A denoiser that is not the identity: small random tail on top of the global residual.
    torch::NoGradGuard no_grad;
    for (auto& p : denoiser->parameters()) p.mul_(0.3);
  }
  const std::string dir = test::temp_dir("warm_start");
  const std::string path = dir + "/denoiser.pth";
  save_state_dict(path, module_state_dict(*denoiser));

  ScheduleFit fit;
  UnrolledNet net = unrolled_from_denoiser(path, 8, 32, true, {}, &fit);
  EXPECT_LT(fit.mean_log_error, 0.03);
  EXPECT_TRUE(net->resunet_prior(0)->options().global_residual);
  net->eval();
  denoiser->eval();

  const double sigma = 2.55 / 255.0;
  auto x = test::test_image(3, 40, 48, 1);
  auto k = test::test_kernel(9, 2);
  auto y = conv_circular(x, k) + sigma * torch::randn_like(x);
  torch::NoGradGuard no_grad;
  auto unrolled = net->forward(y, k, torch::full({1, 1, 1, 1}, sigma));
  auto pnp = pnp_hqs(y, k, sigma, *denoiser).image;
  const double diff = (unrolled - pnp).abs().mean().item<double>();
  const double change = (pnp - y).abs().mean().item<double>();
  EXPECT_LT(diff, 0.05 * change) << "mean |unrolled - pnp| " << diff << " vs mean |pnp - y| " << change;

  // Saved and reloaded through the USRNet-style checkpoint path, it is the same network.
  const std::string saved = dir + "/unrolled.pth";
  save_state_dict(saved, module_state_dict(*net));
  auto again = load_unrolled_net(saved);
  again->eval();
  EXPECT_TRUE(again->resunet_prior(0)->options().global_residual);
  EXPECT_LT(test::max_abs_diff(again->forward(y, k, torch::full({1, 1, 1, 1}, sigma)), unrolled), 1e-6);
}

}  // namespace
}  // namespace unroll
