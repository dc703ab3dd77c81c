#include "nets/seed_baselines.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "nets/convir.h"
#include "test_util.h"

namespace unroll {
namespace {

int64_t conv_params(int64_t in, int64_t out, int64_t k) { return in * out * k * k + out; }

void expect_shape_and_gradient(torch::nn::Module& m, const std::function<torch::Tensor(const torch::Tensor&)>& f,
                               const std::vector<std::pair<int64_t, int64_t>>& sizes) {
  for (const auto& hw : sizes) {
    SCOPED_TRACE(std::to_string(hw.first) + "x" + std::to_string(hw.second));
    auto x = test::test_image(3, hw.first, hw.second, 11).requires_grad_(true);
    auto y = f(x);
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
    m.zero_grad();
    y.square().mean().backward();
    EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
    int64_t with_grad = 0;
    for (const auto& p : m.parameters()) with_grad += p.grad().defined() && p.grad().abs().sum().item<double>() > 0;
    EXPECT_EQ(with_grad, static_cast<int64_t>(m.parameters().size()));
  }
}

// Whether every layer is wired to the output should not hang on the random draw: with He weights and
// zero biases all ReLUs of a small net can be dead on a tiny input (seen at 1x1 with 8 channels, a
// few runs in a hundred), and then only the last bias gets a gradient. Small positive weights and
// biases keep every ReLU open on a positive image, so a parameter without gradient means a layer that
// is not connected.
void open_every_relu(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& p : m.parameters()) p.abs_().mul_(0.1).add_(1e-3);
}

TEST(AtrousNet, ParameterCountFollowsLayerTable) {
  for (int blocks : {5, 10}) {
    AtrousNetOptions o = blocks == 5 ? AtrousNetOptions::cifar10() : AtrousNetOptions::reds();
    AtrousNet m(o);
    const int64_t c = 64;
    const int64_t expected = conv_params(3, c, 9) + conv_params(c, c, 3) + blocks * 2 * conv_params(c, c, 3) +
                             conv_params(c, c, 4) + conv_params(c, 3, 3);
    EXPECT_EQ(module_parameter_count(*m), expected);
  }
  EXPECT_EQ(module_parameter_count(*AtrousNet(AtrousNetOptions::cifar10())), 489155);
  EXPECT_EQ(module_parameter_count(*AtrousNet(AtrousNetOptions::reds())), 858435);
}

// One residual block sees exactly an 11x11 neighbourhood: push an impulse through a block with positive
// weights and measure the support of the response.
TEST(AtrousNet, BlockReceptiveFieldIs11) {
  AtrousNetOptions o;
  o.channels = 2;
  o.num_blocks = 1;
  EXPECT_EQ(o.block_receptive_field(), 11);
  AtrousNet m(o);
  auto block = m->blocks->ptr<torch::nn::SequentialImpl>(0);
  torch::NoGradGuard g;
  for (auto& kv : block->named_parameters()) {
    if (kv.key().find("weight") != std::string::npos) kv.value().fill_(1.0);
    else kv.value().zero_();
  }
  auto x = torch::zeros({1, 2, 31, 31});
  x[0][0][15][15] = 1.0;
  auto support = (block->forward(x).abs().sum(1)[0] > 0).nonzero();
  EXPECT_EQ(support.select(1, 0).min().item<int64_t>(), 10);
  EXPECT_EQ(support.select(1, 0).max().item<int64_t>(), 20);
  EXPECT_EQ(support.select(1, 1).min().item<int64_t>(), 10);
  EXPECT_EQ(support.select(1, 1).max().item<int64_t>(), 20);
}

TEST(AtrousNet, OddSizesAndIdentityWithZeroTail) {
  AtrousNetOptions o;
  o.channels = 8;
  o.num_blocks = 2;
  o.zero_init_tail = false;  // a non-zero tail, so that the output is not the input
  AtrousNet m(o);
  open_every_relu(*m);
  expect_shape_and_gradient(*m, [&](const torch::Tensor& x) { return m->forward(x); }, {{37, 50}, {1, 1}, {2, 7}});
  auto x = test::test_image(3, 13, 9);
  EXPECT_GT(test::max_abs_diff(m->forward(x), x), 0.0);
  o.zero_init_tail = true;  // the default: the untrained network is the identity
  AtrousNet z(o);
  EXPECT_EQ(test::max_abs_diff(z->forward(x), x), 0.0);  // output = input + residual
  AtrousNetOptions bad;
  bad.dilations = {2, 0};
  EXPECT_THROW(bad.validate(), Error);
  EXPECT_THROW(m->forward(torch::rand({1, 1, 8, 8})), Error);
}

TEST(CarloNet, ParameterCountAndOddSizes) {
  CarloNet m;
  const int64_t c = 64;
  EXPECT_EQ(module_parameter_count(*m),
            conv_params(3, c, 3) + 4 * conv_params(c, c, 3) + 4 * conv_params(c, c, 3) + conv_params(c, 3, 3));
  EXPECT_EQ(module_parameter_count(*m), 298947);
  CarloNetOptions o;
  o.channels = 8;
  o.depth = 4;
  CarloNet small(o);
  open_every_relu(*small);
  expect_shape_and_gradient(*small, [&](const torch::Tensor& x) { return small->forward(x); },
                            {{37, 50}, {5, 3}, {1, 1}});
  // Zero weights: every layer outputs 0 and the outermost skip returns the input.
  {
    torch::NoGradGuard g;
    for (auto& p : small->parameters()) p.zero_();
  }
  auto x = test::test_image(3, 21, 16);
  EXPECT_EQ(test::max_abs_diff(small->forward(x), x), 0.0);
  CarloNetOptions bad;
  bad.depth = 0;
  EXPECT_THROW(bad.validate(), Error);
}

// The seed-002 layer table: every layer's count, then the total (Keras counts BatchNorm's moving
// mean/variance).
TEST(UNetResNet, ParameterCountIsSeedTable) {
  UNetResNet m;
  EXPECT_EQ(module_parameter_count(*m->conv1), 448);
  EXPECT_EQ(module_parameter_count(*m->conv2), 11008);
  EXPECT_EQ(module_parameter_count(*m->conv3), 92288);
  EXPECT_EQ(keras_parameter_count(*m->res1), 333184);
  EXPECT_EQ(keras_parameter_count(*m->res2), 312704);
  EXPECT_EQ(module_parameter_count(*m->up1), 147584);
  EXPECT_EQ(module_parameter_count(*m->up2), 73792);
  EXPECT_EQ(module_parameter_count(*m->out), 1731);
  EXPECT_EQ(keras_parameter_count(*m), 972739);
  EXPECT_EQ(module_parameter_count(*m), 972739 - 4 * 2 * 128);  // 4 BatchNorms x (mean, var) x 128
}

TEST(UNetResNet, OddSizes) {
  UNetResNet m;
  m->train();
  // BatchNorm in training mode needs more than one value per channel: batch of 2 via a wrapper.
  expect_shape_and_gradient(
      *m, [&](const torch::Tensor& x) { return m->forward(torch::cat({x, x.flip(3)}, 0)).narrow(0, 0, 1); },
      {{37, 50}, {3, 5}});
  m->eval();
  torch::NoGradGuard g;
  auto y = m->forward(test::test_image(3, 1, 1));
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({1, 3, 1, 1}));
}

TEST(PerPixelKernels, DeltaUniformAndDirectShifts) {
  torch::manual_seed(3);
  auto b = torch::rand({2, 3, 7, 6}, torch::kFloat64);
  auto delta = torch::zeros({2, 25, 7, 6}, torch::kFloat64);
  delta.select(1, 12).fill_(1.0);
  EXPECT_EQ(test::max_abs_diff(apply_per_pixel_kernels(b, delta), b), 0.0);
  auto uniform = torch::full({2, 25, 7, 6}, 1.0 / 25, torch::kFloat64);
  auto box = torch::avg_pool2d(torch::replication_pad2d(b, {2, 2, 2, 2}), {5, 5}, {1, 1});
  EXPECT_LT(test::max_abs_diff(apply_per_pixel_kernels(b, uniform), box), 1e-12);
  // Random field against explicit shifts of the replicate-padded image.
  auto k = torch::rand({2, 9, 7, 6}, torch::kFloat64);
  auto padded = torch::replication_pad2d(b, {1, 1, 1, 1});
  auto direct = torch::zeros_like(b);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j)
      direct += k.narrow(1, i * 3 + j, 1) * padded.narrow(2, i, 7).narrow(3, j, 6);
  EXPECT_LT(test::max_abs_diff(apply_per_pixel_kernels(b, k), direct), 1e-12);
  EXPECT_THROW(apply_per_pixel_kernels(b, torch::rand({2, 8, 7, 6}, torch::kFloat64)), Error);
}

TEST(KaistNet, ParameterCountOddSizesAndBlendIdentity) {
  KaistNet m;
  const int64_t c = 32;
  auto down = [](int64_t ci, int64_t co) { return 66 * ci * co + 2 * co + ci; };
  auto up = [](int64_t ci, int64_t co) { return 57 * ci * co + 2 * co + ci; };
  int64_t expected = conv_params(3, c, 3) + conv_params(c, 25, 3) + conv_params(c, 1, 3) + conv_params(c, 3, 3);
  for (int64_t l = 0; l < 3; ++l) expected += down(c << l, c << (l + 1)) + up(c << (l + 1), c << l);
  EXPECT_EQ(module_parameter_count(*m), expected);

  KaistNetOptions o;
  o.channels = 8;
  o.levels = 2;
  KaistNet small(o);
  expect_shape_and_gradient(*small, [&](const torch::Tensor& x) { return small->forward(x); }, {{37, 50}, {2, 3}});
  // 1x1: a constant padded image, on which every normalised kernel gives the same value (so the kernel
  // head gets no gradient there): shape only.
  EXPECT_EQ(small->forward(test::test_image(3, 1, 1)).sizes(), torch::IntArrayRef({1, 3, 1, 1}));
  // Kernel head -> centre tap, weight head -> w = 1: the output is the input.
  {
    torch::NoGradGuard g;
    small->kernel_head->weight.zero_();
    small->kernel_head->bias.fill_(-50.0);
    small->kernel_head->bias[12] = 50.0;
    small->weight_head->weight.zero_();
    small->weight_head->bias.fill_(50.0);
  }
  auto x = test::test_image(3, 13, 10);
  EXPECT_LT(test::max_abs_diff(small->forward(x), x), 1e-6);
  KaistNetOptions bad;
  bad.kernel_size = 4;
  EXPECT_THROW(bad.validate(), Error);
}

TEST(UNetAutoencoder, ParameterCountAndOddSizes) {
  UNetAutoencoder m;
  auto dc = [](int64_t i, int64_t o) { return 9 * i * o + 9 * o * o + 4 * o; };  // two bias-free convs + 2 BN
  const int64_t c = 64;
  int64_t expected = dc(3, c) + dc(c, 2 * c) + dc(2 * c, 4 * c) + dc(4 * c, 8 * c) + conv_params(c, 3, 1);
  for (int64_t l = 0; l < 3; ++l) expected += conv_params(c << (l + 1), c << l, 2) + dc(c << (l + 1), c << l);
  EXPECT_EQ(module_parameter_count(*m), expected);

  UNetAutoencoderOptions o;
  o.channels = 8;
  UNetAutoencoder small(o);
  small->train();
  expect_shape_and_gradient(
      *small, [&](const torch::Tensor& x) { return small->forward(torch::cat({x, x.flip(3)}, 0)).narrow(0, 0, 1); },
      {{32, 32}, {37, 50}, {5, 3}});
  UNetAutoencoderOptions bad;
  bad.depth = 0;
  EXPECT_THROW(bad.validate(), Error);
}

}  // namespace
}  // namespace unroll
