#include "priors/convir_prior.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "core/checkpoint.h"
#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {

ConvIRPriorOptions tiny(int64_t channels = 3) {
  ConvIRPriorOptions o;
  o.net.num_res = 1;
  o.net.base_channel = 8;
  o.image_channels = channels;
  return o;
}

// At initialisation the adapter is the identity on the image and ignores sigma, so the prior is exactly
// the blind network run the way convir_deblur runs it (without clamping).
TEST(ConvIRPrior, StartsAsTheBlindNetwork) {
  torch::manual_seed(0);
  ConvIRPrior prior(tiny());
  prior.eval();
  torch::NoGradGuard g;
  auto x = test::test_image(3, 37, 50, 1);
  ConvIRDeblurOptions raw;
  raw.clamp = false;
  const auto blind = convir_deblur(prior.net(), x, raw);
  EXPECT_LT(test::max_abs_diff(prior.denoise(x, 0.05), blind), 1e-6);
  EXPECT_LT(test::max_abs_diff(prior.denoise(x, 0.2), blind), 1e-6);

  // Once the adapter reads the noise map, sigma changes the result.
  prior.adapter()->weight.select(1, 3).fill_(0.5);
  EXPECT_GT(test::max_abs_diff(prior.denoise(x, 0.2), prior.denoise(x, 0.05)), 1e-4);
  // Per-sample sigma.
  auto batch = torch::cat({x, x}, 0);
  auto per = prior.denoise(batch, torch::tensor({0.05, 0.2}).reshape({2, 1, 1, 1}));
  EXPECT_LT(test::max_abs_diff(per[1], prior.denoise(x, 0.2)[0]), 1e-5);
}

TEST(ConvIRPrior, GreyShapesGradientsAndNames) {
  ConvIRPrior prior(tiny(1));
  prior.train();
  auto x = test::test_image(1, 2, 9, 2).repeat({2, 1, 1, 1}).requires_grad_(true);
  auto y = prior.denoise(x, 0.1);
  EXPECT_EQ(y.sizes(), x.sizes());
  y.square().mean().backward();
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(prior.adapter()->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_EQ(prior.kind(), "convir");
  EXPECT_EQ(prior.channels(), 1);
  const auto state = module_state_dict(prior);
  EXPECT_EQ(state.front().first, "net.Encoder.0.layers.0.main.0.main.0.weight");
  bool has_adapter = false;
  for (const auto& kv : state) has_adapter = has_adapter || kv.first == "adapter.bias";
  EXPECT_TRUE(has_adapter);
  EXPECT_THROW(prior.denoise(torch::rand({1, 3, 8, 8}), 0.1), Error);
  ConvIRPriorOptions bad = tiny();
  bad.image_channels = 2;
  EXPECT_THROW(bad.validate(), Error);
}

// Official weights drop into the prior's network: on the fixture input (a supported size, so no
// padding) the prior reproduces the official full-scale output.
TEST(ConvIRPrior, OfficialWeightsThroughThePrior) {
  const auto shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared folder absent";
  const auto dir = shared + "/fixtures/convir_s";
  ConvIRPriorOptions o;
  o.net = ConvIROptions::small();
  o.net.base_channel = 8;
  ConvIRPrior prior(o);
  load_convir_state(prior.net(), load_state_dict(dir + "/weights.pth"));
  prior.eval();
  std::ifstream in(dir + "/io.pth", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto io = torch::pickle_load(bytes).toGenericDict();
  const auto x = io.at("x").toTensor(), ref = io.at("out_2").toTensor();
  torch::NoGradGuard g;
  EXPECT_LT(test::max_abs_diff(prior.denoise(x, 0.03), ref), 1e-4);
}

}  // namespace
}  // namespace unroll
