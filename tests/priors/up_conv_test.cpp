#include "priors/up_conv.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace unroll {
namespace {

// UpConv2x2 is the 2x2 stride-2 transposed convolution it replaces: same initial parameters (same RNG
// draws), same output and same gradients, with and without bias, on odd sizes.
TEST(UpConv2x2, EqualsTheTransposedConvolution) {
  for (bool bias : {true, false}) {
    torch::manual_seed(5);
    torch::nn::ConvTranspose2d ref(torch::nn::ConvTranspose2dOptions(6, 4, 2).stride(2).bias(bias));
    torch::manual_seed(5);
    UpConv2x2 up(6, 4, bias);
    EXPECT_TRUE(torch::equal(up->weight, ref->weight));
    if (bias) {
      ASSERT_TRUE(up->bias.defined());
      EXPECT_TRUE(torch::equal(up->bias, ref->bias));
    }
    EXPECT_EQ(up->named_parameters().size(), bias ? 2u : 1u);
    auto x = torch::randn({2, 6, 7, 5}, torch::requires_grad());
    auto a = ref->forward(x), b = up->forward(x);
    ASSERT_EQ(b.sizes(), a.sizes());
    EXPECT_LT(test::max_abs_diff(a, b), 1e-5);
    auto g = torch::randn_like(a);
    auto ga = torch::autograd::grad({a}, {x, ref->weight}, {g});
    auto gb = torch::autograd::grad({b}, {x, up->weight}, {g});
    EXPECT_LT(test::max_abs_diff(ga[0], gb[0]), 1e-4);
    EXPECT_LT(test::max_abs_diff(ga[1], gb[1]), 1e-4);
  }
}

}  // namespace
}  // namespace unroll
