#include "priors/resunet.h"

#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/unroll_format.h"
#include "test_util.h"

namespace unroll {
namespace {

using test::count_parameters;

ResUNetOptions small_options(bool usrnet_padding) {
  ResUNetOptions o;
  o.in_nc = 2;
  o.out_nc = 1;
  o.nc = {8, 8, 16, 16};
  o.nb = 1;
  o.padding = usrnet_padding ? ResUNetPadding::Replicate : ResUNetPadding::None;
  return o;
}

TEST(ResUNet, OfficialConfigurationsHaveTheOfficialParameterCounts) {
  // param_counts.txt of the fixtures: DRUNet colour 32,640,960 (64 entries), grey 32,638,656,
  // fixture drunet_small 1,063,920 (36 entries). The module has one more entry, last: Unroll's
  // global-residual flag buffer (0 here; official files lack it and load keeping it).
  ResUNet drunet(ResUNetOptions::drunet(3));
  EXPECT_EQ(count_parameters(drunet), 32640960);
  EXPECT_EQ(module_state_dict(drunet).size(), 64u + 1);
  EXPECT_EQ(count_parameters(ResUNet(ResUNetOptions::drunet(1))), 32638656);
  ResUNet small(ResUNetOptions::drunet_small());
  EXPECT_EQ(count_parameters(small), 1063920);
  auto sd = module_state_dict(small);
  ASSERT_EQ(sd.size(), 36u + 1);
  EXPECT_EQ(sd.back().first, kGlobalResidualKey);
  EXPECT_EQ(sd.back().second.item<float>(), 0.0f);
  sd.pop_back();
  EXPECT_EQ(sd[0].first, "m_head.weight");
  EXPECT_EQ(sd[1].first, "m_down1.0.res.0.weight");
  EXPECT_EQ(sd[2].first, "m_down1.0.res.2.weight");
  EXPECT_EQ(sd[5].first, "m_down1.2.weight");
  EXPECT_EQ(sd[20].first, "m_up3.0.weight");
  EXPECT_EQ(sd.back().first, "m_tail.weight");
  for (const auto& [name, t] : sd) EXPECT_EQ(name.find("bias"), std::string::npos) << name;
  // bias = true (KAIR's default) adds a bias to every convolution.
  auto with_bias = ResUNetOptions::drunet_small();
  with_bias.bias = true;
  EXPECT_EQ(module_state_dict(ResUNet(with_bias)).size(), 72u + 1);  // + the flag
}

TEST(ResUNet, DrunetSmallMatchesTheOfficialFixture) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared folder absent";
  const std::string dir = shared + "/fixtures/drunet_small";
  auto io = load_state_dict_map(dir + "/io.pth");
  for (const std::string file : {"weights.pth", "weights_plaindict.pth"}) {
    SCOPED_TRACE(file);
    ResUNet net(ResUNetOptions::drunet_small());
    load_into_module(net, load_state_dict(dir + "/" + file), /*strict=*/true, file);
    net.eval();
    torch::NoGradGuard no_grad;
    const auto& x = io.at("x");
    auto out = net.forward(x);
    ASSERT_EQ(out.sizes(), io.at("out").sizes());
    const double err = test::max_abs_diff(out, io.at("out"));
    EXPECT_LT(err, 1e-4);
    RecordProperty("drunet_small_max_abs_err", std::to_string(err * 1e6) + "e-6");
    // The Prior interface builds the same noise map itself.
    auto via_prior = net.denoise(x.narrow(1, 0, 3), io.at("noise_level").reshape({1, 1, 1, 1}));
    EXPECT_LT(test::max_abs_diff(via_prior, io.at("out")), 1e-4);
    // The architecture is recovered from the file alone.
    auto loaded = load_resunet(dir + "/" + file, ResUNetPadding::None);
    EXPECT_EQ(loaded->options().nc, std::vector<int64_t>({16, 32, 64, 128}));
    EXPECT_EQ(loaded->options().nb, 2);
    EXPECT_FALSE(loaded->options().bias);
    EXPECT_EQ(test::max_abs_diff(loaded->forward(x), out), 0.0);
    // float64 agrees too (the fixture's float64 reference moved by 2.4e-6).
    net.to(torch::kFloat64);
    EXPECT_LT(test::max_abs_diff(net.forward(x.to(torch::kFloat64)), io.at("out").to(torch::kFloat64)), 1e-4);
  }
}

TEST(ResUNet, OddSizesArePaddedAndCroppedBackExactly) {
  torch::manual_seed(0);
  ResUNet drunet_like(small_options(false));
  ResUNet usrnet_like(small_options(true));
  load_into_module(usrnet_like, module_state_dict(drunet_like));
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 1, 13, 21});
  auto sigma = torch::tensor({0.05f, 0.1f}).reshape({2, 1, 1, 1});
  auto out = drunet_like.denoise(x, sigma);
  ASSERT_EQ(out.sizes(), x.sizes());
  // Reference: the noise map appended, replicate-padded bottom/right to 16x24, forward, crop.
  auto input = torch::cat({x, sigma.expand({2, 1, 13, 21})}, 1);
  auto padded = torch::nn::functional::pad(input, torch::nn::functional::PadFuncOptions({0, 3, 0, 3}).mode(torch::kReplicate));
  auto ref = drunet_like.forward(padded).narrow(2, 0, 13).narrow(3, 0, 21);
  EXPECT_EQ(test::max_abs_diff(out, ref), 0.0);
  // USRNet's ResUNet pads inside forward(): same numbers.
  EXPECT_LT(test::max_abs_diff(usrnet_like.forward(input), ref), 1e-6);
  // pad_multiple = 16 (DPIR's test_mode modulo): padded to 16x32 instead.
  auto o16 = small_options(false);
  o16.pad_multiple = 16;
  ResUNet net16(o16);
  load_into_module(net16, module_state_dict(drunet_like));
  auto padded16 = torch::nn::functional::pad(input, torch::nn::functional::PadFuncOptions({0, 11, 0, 3}).mode(torch::kReplicate));
  EXPECT_EQ(test::max_abs_diff(net16.denoise(x, sigma), drunet_like.forward(padded16).narrow(2, 0, 13).narrow(3, 0, 21)), 0.0);
  o16.pad_multiple = 12;
  EXPECT_THROW(ResUNet{o16}, Error);
  // 1x1 images work; without internal padding forward() refuses odd sizes with a clear message.
  EXPECT_EQ(drunet_like.denoise(torch::rand({1, 1, 1, 1}), 0.1).sizes(), torch::IntArrayRef({1, 1, 1, 1}));
  try {
    drunet_like.forward(input);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(drunet_like.denoise(torch::rand({1, 3, 8, 8}), 0.1), Error);  // wrong channel count
}

TEST(ResUNet, ForwardIsDeterministic) {
  torch::manual_seed(1);
  ResUNet net(small_options(true));
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 1, 24, 17});
  auto a = net.denoise(x, 0.1);
  auto b = net.denoise(x, 0.1);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, net.denoise(x, 0.2)));  // the noise map matters
}

TEST(ResUNet, GlobalResidualWithZeroTailIsTheIdentity) {
  auto o = small_options(true);
  o.global_residual = true;
  ResUNet net(o);
  net.zero_init_tail();
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 1, 9, 10});
  EXPECT_EQ(test::max_abs_diff(net.denoise(x, 0.1), x), 0.0);
}

TEST(ResUNet, AdamStepsReduceTheDenoisingLoss) {
  torch::manual_seed(2);
  auto o = small_options(true);
  o.global_residual = true;
  ResUNet net(o);
  auto clean = test::test_image(1, 16, 16).repeat({4, 1, 1, 1});
  auto noisy = clean + 0.1 * torch::randn_like(clean);
  torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(1e-3));
  auto loss_fn = [&] { return (net.denoise(noisy, 0.1) - clean).abs().mean(); };
  const double before = loss_fn().item<double>();
  for (int step = 0; step < 5; ++step) {
    opt.zero_grad();
    auto loss = loss_fn();
    loss.backward();
    opt.step();
  }
  const double after = loss_fn().item<double>();
  EXPECT_LT(after, before * 0.95) << before << " -> " << after;
}

TEST(ResUNet, CheckpointOfAnotherArchitectureGivesAClearError) {
  ResUNet small(ResUNetOptions::drunet_small());
  ResUNet tiny(ResUNetOptions::usrnet_tiny());
  try {
    load_into_module(tiny, module_state_dict(small), true, "drunet_small.pth");
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("drunet_small.pth"), std::string::npos) << msg;
    EXPECT_NE(msg.find("m_down3.2.weight"), std::string::npos) << msg;  // first mismatch: [64,64,2,2] vs [128,64,2,2]
    EXPECT_NE(msg.find("[128, 64, 2, 2]"), std::string::npos) << msg;
  }
  const std::string shared = test::shared_dir();
  if (shared.empty()) return;
  // The USRNet checkpoint (prefix "p.", plus "h.") into a bare ResUNet: first missing key.
  try {
    load_into_module(tiny, load_state_dict(shared + "/fixtures/usrnet_tiny/weights.pth"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing key 'm_head.weight'"), std::string::npos) << e.what();
  }
}

TEST(ResUNet, OptionsValidationNamesTheField) {
  auto o = ResUNetOptions::drunet_small();
  o.nb = 0;
  try {
    ResUNet net(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nb must be >= 1, got 0"), std::string::npos) << e.what();
  }
  o = ResUNetOptions::drunet_small();
  o.act = 'X';
  EXPECT_THROW(ResUNet{o}, Error);
  EXPECT_THROW(make_prior("nope"), Error);
  EXPECT_EQ(make_prior("drunet-small")->channels(), 3);
  EXPECT_EQ(make_prior("tv")->kind(), "tv");
  EXPECT_EQ(make_prior("attention-unet")->kind(), "attention-unet");
}

TEST(ResUNet, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(3);
  ResUNet net(small_options(false));
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 1, 19, 30});
  auto cpu = net.denoise(x, 0.07);
  net.to(torch::kCUDA);
  auto gpu = net.denoise(x.to(torch::kCUDA), 0.07);
  EXPECT_TRUE(gpu.is_cuda());
  EXPECT_LT(test::max_abs_diff(gpu.cpu(), cpu), 1e-4);
}

}  // namespace
}  // namespace unroll

namespace unroll {
namespace {

// USRNet-tiny's layout at toy widths, for the global-residual flag tests.
ResUNetOptions tiny_options(bool global_residual) {
  ResUNetOptions o = ResUNetOptions::usrnet_tiny();
  o.nc = {8, 16, 16, 16};
  o.nb = 1;
  o.global_residual = global_residual;
  return o;
}

TEST(ResUNet, GlobalResidualFlagTravelsWithTheWeights) {
  ResUNetOptions o = tiny_options(/*global_residual=*/true);
  ResUNet net(o);
  net.zero_init_tail();
  const std::string path = test::temp_dir("resunet_residual") + "/m.pth";
  save_state_dict(path, module_state_dict(net));
  auto loaded = load_resunet(path);
  auto x = torch::rand({1, 3, 16, 16});
  // Zero tail + global residual is the identity; without the flag it would output zeros.
  EXPECT_LT(test::max_abs_diff(loaded->denoise(x, 0.1), x), 1e-6);
  o.global_residual = false;
  ResUNet plain(o);
  save_state_dict(path, module_state_dict(plain));
  EXPECT_FALSE(load_resunet(path)->options().global_residual);
}

// Issue 28: a denoiser Unroll trained, with its global_residual entry removed, loaded as the official
// (residual-free) architecture and restored near-black images. Unroll's files now carry a format
// marker, and in a marked file the missing flag is an error naming the key.
TEST(ResUNet, AStrippedGlobalResidualFlagIsAnErrorInUnrollsOwnFiles) {
  ResUNetOptions o = tiny_options(/*global_residual=*/true);
  ResUNet net(o);
  const std::string dir = test::temp_dir("resunet_stripped");
  StateDict stripped;
  for (const auto& e : with_unroll_marker(module_state_dict(net)))
    if (e.first != kGlobalResidualKey) stripped.push_back(e);
  save_state_dict(dir + "/stripped.pth", stripped);
  EXPECT_NE(test::error_of([&] { load_resunet(dir + "/stripped.pth"); }).find("missing key 'global_residual'"),
            std::string::npos);
  // The same through a strict module load (the route of every other loader).
  ResUNet target(o);
  EXPECT_NE(test::error_of([&] { load_into_module(target, stripped, true, "stripped.pth"); })
                .find("stripped.pth: missing key 'global_residual'"),
            std::string::npos);

  // Without the marker the file reads as an official one: no residual (documented; nothing can tell).
  StateDict official;
  for (const auto& e : stripped)
    if (e.first != kUnrollFormatKey) official.push_back(e);
  save_state_dict(dir + "/official.pth", official);
  EXPECT_FALSE(load_resunet(dir + "/official.pth")->options().global_residual);

  // Unroll's non-residual networks record the flag as 0, so both values survive a marked round trip.
  for (bool residual : {true, false}) {
    o.global_residual = residual;
    ResUNet m(o);
    save_state_dict(dir + "/marked.pth", with_unroll_marker(module_state_dict(m)));
    EXPECT_EQ(load_resunet(dir + "/marked.pth")->options().global_residual, residual);
  }
  // A flag that is neither 0 nor 1 is refused.
  StateDict bad = with_unroll_marker(module_state_dict(net));
  for (auto& e : bad)
    if (e.first == kGlobalResidualKey) e.second = torch::full({1}, 0.5f);
  EXPECT_NE(test::error_of([&] { resunet_options_from_state_dict(bad); }).find("'global_residual' must be 1 or 0"),
            std::string::npos);
}

TEST(ResUNet, FilesWrittenBeforeTheFlagWas0Or1StillLoad) {
  // Before the format marker, only residual networks carried the buffer (value 1), non-residual ones
  // nothing: both load as they were trained.
  ResUNetOptions o = tiny_options(/*global_residual=*/false);
  ResUNet plain(o);
  StateDict old_plain;
  for (const auto& e : module_state_dict(plain))
    if (e.first != kGlobalResidualKey) old_plain.push_back(e);
  ResUNet fresh(o);
  EXPECT_NO_THROW(load_into_module(fresh, old_plain, true, "old.pth"));
  EXPECT_FALSE(resunet_options_from_state_dict(old_plain).global_residual);
  o.global_residual = true;
  ResUNet residual(o);
  EXPECT_TRUE(resunet_options_from_state_dict(module_state_dict(residual)).global_residual);
}

}  // namespace
}  // namespace unroll
