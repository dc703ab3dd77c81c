#include "core/tensor.h"

#include <gtest/gtest.h>

#include <limits>

namespace unroll {
namespace {

TEST(CheckFinite, RejectsNanAndInfAcceptsHugeFiniteValues) {
  auto x = torch::rand({1, 1, 7, 9});
  EXPECT_NO_THROW(check_finite(x, "x"));
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    auto y = x.clone();
    y[0][0][3][4] = bad;
    EXPECT_THROW(check_finite(y, "y"), std::exception) << bad;
    EXPECT_THROW(check_finite(y.to(torch::kFloat64), "y"), std::exception) << bad;
  }
  // +Inf and -Inf together sum to NaN; still rejected.
  auto both = x.clone();
  both[0][0][0][0] = std::numeric_limits<double>::infinity();
  both[0][0][0][1] = -std::numeric_limits<double>::infinity();
  EXPECT_THROW(check_finite(both, "both"), std::exception);
  // Finite values whose sum overflows float32 are finite: the fast path must not reject them.
  auto huge = torch::full({4, 4}, 3e38, torch::kFloat32);
  EXPECT_NO_THROW(check_finite(huge, "huge"));
  EXPECT_NO_THROW(check_finite(torch::ones({3}, torch::kInt64), "integers"));
}

// Channels-last weights change the layout of the convolutions, not what they compute.
TEST(Tensor, ChannelsLastWeightsKeepTheOutput) {
  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)), torch::nn::ReLU(),
                            torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(8, 4, 2).stride(2)),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 3, 1)));
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({1, 3, 23, 30});
  const auto before = net->forward(x);
  use_channels_last(*net);
  for (const auto& p : net->parameters()) {
    if (p.dim() == 4) {
      EXPECT_TRUE(p.is_contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  const auto after = net->forward(x);
  EXPECT_EQ(after.sizes(), before.sizes());
  EXPECT_LT((after - before).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace unroll
