#include "priors/widen.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "priors/resunet.h"
#include "test_util.h"

namespace unroll {
namespace {

ResUNetOptions small_resunet(std::vector<int64_t> nc) {
  ResUNetOptions o = ResUNetOptions::usrnet_tiny();
  o.in_nc = 2;
  o.out_nc = 1;
  o.nc = std::move(nc);
  o.nb = 1;
  o.global_residual = true;
  return o;
}

// A widened ResUNet (convolutions, strided convolutions, 2x2 up-convolutions, residual and skip
// additions) computes what the narrow one computes, and its new weights learn.
TEST(Widen, WidenedResUNetKeepsItsOutputAndItsNewWeightsGetGradients) {
  torch::manual_seed(5);
  ResUNet narrow(small_resunet({8, 8, 16, 16}));
  ResUNet wide(small_resunet({12, 16, 16, 24}));
  embed_narrower(wide, narrow, "test");
  const auto x = test::test_image(1, 24, 24, 1);
  const auto sigma = torch::scalar_tensor(0.05);
  torch::Tensor before;
  {
    torch::NoGradGuard no_grad;
    before = narrow.denoise(x, sigma);
    EXPECT_LT(test::max_abs_diff(wide.denoise(x, sigma), before), 1e-6);
  }
  // The zeroed block (extra inputs of m_tail into its one output) gets a gradient.
  wide.denoise(x, sigma).abs().sum().backward();
  torch::Tensor tail;
  for (const auto& p : wide.named_parameters())
    if (p.key() == "m_tail.weight") tail = p.value();
  ASSERT_TRUE(tail.defined());
  EXPECT_GT(tail.grad().narrow(1, 8, 4).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(tail.narrow(1, 8, 4).abs().sum().item<double>(), 0.0);
}

TEST(Widen, NarrowerOrOtherNetworksAreErrors) {
  ResUNet narrow(small_resunet({8, 8, 16, 16}));
  ResUNet wide(small_resunet({12, 16, 16, 24}));
  EXPECT_THROW(embed_narrower(narrow, wide, "test"), Error);  // the "narrow" one is wider
  ResUNetOptions deeper = small_resunet({8, 8, 16, 16});
  deeper.nb = 2;
  EXPECT_THROW(embed_narrower(*std::make_shared<ResUNet>(deeper), narrow, "test"), Error);  // modules missing
  // A layer that is not a convolution or linear layer keeps its shape.
  torch::nn::Sequential a(torch::nn::BatchNorm2d(4)), b(torch::nn::BatchNorm2d(6));
  try {
    embed_narrower(*b, *a, "norm");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be widened"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace unroll
