#include "priors/attention_unet.h"

#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {

using test::count_parameters;

AttentionUNetOptions tiny_attention_options() {
  AttentionUNetOptions o;
  o.channels = 1;
  o.nc = {8, 16};
  o.nb = 1;
  o.heads = 2;
  return o;
}

void expect_error_naming(const std::function<void()>& f, const std::string& field) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one naming '" << field << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(AttentionUNet, OddAndTinySizesComeBackTheSameSize) {
  torch::manual_seed(0);
  auto o = tiny_attention_options();
  o.channels = 3;
  o.nc = {8, 8, 16};  // pads to multiples of 4
  AttentionUNet net(o);
  EXPECT_EQ(net.kind(), "attention-unet");
  EXPECT_EQ(net.channels(), 3);
  torch::NoGradGuard no_grad;
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{13, 21}, {1, 1}, {4, 4}, {2, 7}}) {
    SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w));
    auto x = torch::rand({2, 3, h, w});
    auto y = net.denoise(x, 0.05);
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  }
}

TEST(AttentionUNet, ForwardIsDeterministic) {
  auto x = test::test_image(1, 13, 21);
  torch::manual_seed(3);
  AttentionUNet a(tiny_attention_options());
  torch::manual_seed(3);
  AttentionUNet b(tiny_attention_options());
  torch::NoGradGuard no_grad;
  auto ya = a.denoise(x, 0.1);
  EXPECT_TRUE(torch::equal(ya, a.denoise(x, 0.1)));
  EXPECT_TRUE(torch::equal(ya, b.denoise(x, 0.1)));
  // The noise-level map is an input: another sigma gives another output.
  EXPECT_GT(test::max_abs_diff(ya, a.denoise(x, 0.3)), 1e-6);
}

TEST(AttentionUNet, PerSampleSigmaMatchesSeparateCalls) {
  torch::manual_seed(1);
  AttentionUNet net(tiny_attention_options());
  torch::NoGradGuard no_grad;
  auto x = torch::cat({test::test_image(1, 9, 10, 1), test::test_image(1, 9, 10, 2)}, 0);
  auto sigma = torch::tensor({0.02f, 0.2f}).reshape({2, 1, 1, 1});
  auto y = net.denoise(x, sigma);
  EXPECT_LT(test::max_abs_diff(y[0], net.denoise(x.narrow(0, 0, 1), 0.02)[0]), 1e-5);
  EXPECT_LT(test::max_abs_diff(y[1], net.denoise(x.narrow(0, 1, 1), 0.2)[0]), 1e-5);
  expect_error_naming([&] { net.denoise(x, torch::zeros({3, 1, 1, 1})); }, "sigma");
  expect_error_naming([&] { net.denoise(torch::rand({1, 3, 8, 8}), 0.1); }, "denoise expects");
}

TEST(AttentionUNet, SwitchingAttentionsOffRemovesTheirParameters) {
  auto o = tiny_attention_options();
  o.nc = {8, 12, 16};
  o.nb = 2;
  o.se_reduction = 4;
  const int64_t full = count_parameters(AttentionUNet(o));

  // Self-attention on c tokens: 2 LayerNorms (2c each), in-projection 3c*c + 3c, out-projection
  // c*c + c, MLP c*2c + 2c + 2c*c + c.
  const int64_t c = o.nc.back();
  const int64_t attention = 4 * c + (3 * c * c + 3 * c) + (c * c + c) + (2 * c * c + 2 * c) + (2 * c * c + c);
  // SE in every residual block: 2*nb blocks at the outer scales (down + up), nb at the bottleneck.
  auto se = [](int64_t ch, int64_t hidden) { return ch * hidden + hidden + hidden * ch + ch; };
  const int64_t channel = 2 * o.nb * (se(8, 2) + se(12, 3)) + o.nb * se(16, 4);

  auto no_sa = o;
  no_sa.self_attention = false;
  EXPECT_EQ(full - count_parameters(AttentionUNet(no_sa)), attention);
  auto no_ca = o;
  no_ca.channel_attention = false;
  EXPECT_EQ(full - count_parameters(AttentionUNet(no_ca)), channel);
  auto none = no_sa;
  none.channel_attention = false;
  const int64_t plain = count_parameters(AttentionUNet(none));
  EXPECT_EQ(full - plain, attention + channel);
  // The plain U-Net counted by hand: head, tail, two 3x3 convs per block, strided and transposed convs.
  auto conv = [](int64_t in, int64_t out, int64_t k) { return in * out * k * k + out; };
  int64_t expected = conv(2, 8, 3) + conv(8, 1, 3);
  expected += 2 * o.nb * 2 * (conv(8, 8, 3) + conv(12, 12, 3)) + o.nb * 2 * conv(16, 16, 3);
  expected += conv(8, 12, 2) + conv(12, 16, 2) + conv(12, 8, 2) + conv(16, 12, 2);  // down + transposed up
  EXPECT_EQ(plain, expected);
  // The position encoding is fixed, not learned.
  auto no_pe = o;
  no_pe.position_encoding = PositionEncoding::None;
  EXPECT_EQ(count_parameters(AttentionUNet(no_pe)), full);
  // The default configuration (documented in the header).
  EXPECT_EQ(count_parameters(AttentionUNet()), 1203907);
}

TEST(AttentionUNet, ZeroTailWithGlobalResidualIsTheIdentity) {
  torch::manual_seed(2);
  auto o = tiny_attention_options();
  o.channels = 3;
  AttentionUNet net(o);
  auto x = torch::rand({2, 3, 13, 21});
  torch::NoGradGuard no_grad;
  EXPECT_GT(test::max_abs_diff(net.denoise(x, 0.1), x), 1e-4);  // not the identity before
  net.zero_init_tail();
  EXPECT_EQ(test::max_abs_diff(net.denoise(x, 0.1), x), 0.0);
  auto no_res = o;
  no_res.global_residual = false;
  AttentionUNet zero(no_res);
  zero.zero_init_tail();
  EXPECT_EQ(zero.denoise(x, 0.1).abs().max().item<double>(), 0.0);
}

TEST(AttentionUNet, PositionEncodingIsTheDocumentedSinusoid) {
  const int64_t c = 8, q = 2;
  auto pe = sinusoidal_position_encoding_2d(c, 3, 5, torch::TensorOptions().dtype(torch::kFloat64));
  ASSERT_EQ(pe.sizes().vec(), (std::vector<int64_t>{8, 3, 5}));
  const double w1 = 1.0 / 100.0;  // 1/10000^(1/2)
  EXPECT_NEAR(pe[0][2][4].item<double>(), std::sin(2.0), 1e-12);
  EXPECT_NEAR(pe[1][2][4].item<double>(), std::sin(2.0 * w1), 1e-12);
  EXPECT_NEAR(pe[q][2][4].item<double>(), std::cos(2.0), 1e-12);
  EXPECT_NEAR(pe[2 * q][2][4].item<double>(), std::sin(4.0), 1e-12);
  EXPECT_NEAR(pe[3 * q + 1][2][4].item<double>(), std::cos(4.0 * w1), 1e-12);
  // It changes the network's output (same weights, encoding on vs off).
  auto o = tiny_attention_options();
  torch::manual_seed(4);
  AttentionUNet with(o);
  o.position_encoding = PositionEncoding::None;
  torch::manual_seed(4);
  AttentionUNet without(o);
  torch::NoGradGuard no_grad;
  auto x = test::test_image(1, 8, 8);
  EXPECT_GT(test::max_abs_diff(with.denoise(x, 0.1), without.denoise(x, 0.1)), 1e-6);
}

TEST(AttentionUNet, GradientsReachTheFirstConvAndTheAttention) {
  torch::manual_seed(5);
  AttentionUNet net(tiny_attention_options());
  auto x = test::test_image(1, 9, 11);
  net.denoise(x, 0.1).square().mean().backward();
  auto params = net.named_parameters();
  for (const std::string name : {"m_head.weight", "m_attention.attention.in_proj_weight", "m_attention.mlp1.weight",
                                 "m_down1.0.se.fc1.weight", "m_tail.weight"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(params.contains(name));
    const auto& g = params[name].grad();
    ASSERT_TRUE(g.defined());
    EXPECT_GT(g.abs().sum().item<double>(), 0.0);
  }
}

TEST(AttentionUNet, AdamStepsReduceAnL1DenoisingLoss) {
  torch::manual_seed(6);
  auto o = tiny_attention_options();
  AttentionUNet net(o);
  auto clean = torch::cat({test::test_image(1, 16, 16, 1), test::test_image(1, 16, 16, 2)}, 0);
  auto noisy = clean + 0.1 * torch::randn(clean.sizes());
  torch::optim::Adam adam(net.parameters(), torch::optim::AdamOptions(1e-3));
  std::vector<double> losses;
  for (int step = 0; step <= 5; ++step) {
    auto loss = (net.denoise(noisy, 0.1) - clean).abs().mean();
    losses.push_back(loss.item<double>());
    if (step == 5) break;
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  std::cout << "[ info     ] L1 loss over 5 Adam steps: " << losses.front() << " -> " << losses.back() << "\n";
  EXPECT_LT(losses.back(), 0.9 * losses.front()) << "first " << losses.front() << " last " << losses.back();
}

// Windowed self-attention: a window covering the map is global attention; otherwise each window only
// sees its own tokens, its positions count within the window (a window's output does not depend on
// where the window sits), and a map that is not whole windows is padded with masked tokens.
TEST(AttentionUNet, WindowedAttentionIsLocalAndSizeIndependent) {
  torch::manual_seed(9);
  SpatialSelfAttention global(16, 4, PositionEncoding::Sinusoidal, 0);
  SpatialSelfAttention windowed(16, 4, PositionEncoding::Sinusoidal, 4);
  torch::NoGradGuard no_grad;
  auto from = global->named_parameters();
  for (auto& item : windowed->named_parameters()) item.value().copy_(from[item.key()]);
  auto small = torch::randn({2, 16, 4, 3});
  EXPECT_LT(test::max_abs_diff(windowed->forward(small), global->forward(small)), 1e-6);

  // An 8x12 map is 2x3 windows of 4x4: each equals global attention on that window alone.
  auto x = torch::randn({1, 16, 8, 12});
  auto out = windowed->forward(x);
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      auto tile = x.narrow(2, 4 * i, 4).narrow(3, 4 * j, 4).contiguous();
      EXPECT_LT(test::max_abs_diff(out.narrow(2, 4 * i, 4).narrow(3, 4 * j, 4), global->forward(tile)), 1e-5)
          << "window " << i << "," << j;
    }
  }
  // A 6x7 map: padded to 8x8 with masked tokens; the top-left window is the full 4x4 one, the bottom
  // right a 2x3 map attended on its own.
  auto odd = torch::randn({1, 16, 6, 7});
  auto o = windowed->forward(odd);
  ASSERT_EQ(o.sizes(), odd.sizes());
  EXPECT_LT(test::max_abs_diff(o.narrow(2, 0, 4).narrow(3, 0, 4), global->forward(odd.narrow(2, 0, 4).narrow(3, 0, 4).contiguous())), 1e-5);
  EXPECT_LT(test::max_abs_diff(o.narrow(2, 4, 2).narrow(3, 4, 3), global->forward(odd.narrow(2, 4, 2).narrow(3, 4, 3).contiguous())), 1e-5);

  AttentionUNetOptions bad;
  bad.attention_window = -1;
  EXPECT_THROW(bad.validate(), Error);
}

TEST(AttentionUNet, BadOptionsThrowNamingTheField) {
  auto with = [](const std::function<void(AttentionUNetOptions&)>& edit) {
    return [edit] {
      auto o = tiny_attention_options();
      edit(o);
      AttentionUNet net(o);
    };
  };
  expect_error_naming(with([](auto& o) { o.channels = 0; }), "channels");
  expect_error_naming(with([](auto& o) { o.nc = {}; }), "nc");
  expect_error_naming(with([](auto& o) { o.nc = {8, 0}; }), "nc[1]");
  expect_error_naming(with([](auto& o) { o.nb = 0; }), "nb");
  expect_error_naming(with([](auto& o) { o.heads = 3; }), "heads");
  expect_error_naming(with([](auto& o) { o.heads = 0; }), "heads");
  expect_error_naming(with([](auto& o) { o.se_reduction = 0; }), "se_reduction");
  expect_error_naming(with([](auto& o) {
                        o.nc = {8, 6};
                        o.heads = 2;
                      }),
                      "position_encoding");
  // Heads and the encoding are not checked when self-attention is off.
  auto o = tiny_attention_options();
  o.self_attention = false;
  o.heads = 3;
  EXPECT_NO_THROW(AttentionUNet{o});
  AttentionUNet net(tiny_attention_options());
  expect_error_naming([&] { net.forward(torch::rand({1, 1, 8, 8})); }, "input must be");
}

}  // namespace
}  // namespace unroll
