#include "hqs/unrolled_net.h"

#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/data_step.h"
#include "core/error.h"
#include "core/fft.h"
#include "hqs/hyper_net.h"
#include "test_util.h"

namespace unroll {
namespace {

using test::count_parameters;

UnrolledNetOptions toy_options(int iterations = 2) {
  UnrolledNetOptions o;
  o.iterations = iterations;
  o.hyper_channels = 8;
  o.prior.in_nc = 2;
  o.prior.out_nc = 1;
  o.prior.nc = {8, 8, 16, 16};
  o.prior.nb = 1;
  return o;
}

TEST(UnrolledNet, OfficialConfigurationsHaveUsrnetNamesAndCounts) {
  UnrolledNet tiny(UnrolledNetOptions::usrnet_tiny());
  EXPECT_EQ(count_parameters(*tiny), 590332);  // USRNet README: 0.59M
  auto sd = module_state_dict(*tiny);
  ASSERT_EQ(sd.size(), 42u + 1);  // + the prior's global-residual flag buffer (Unroll's, after the parameters)
  EXPECT_EQ(sd.back().first, "p.global_residual");
  sd.pop_back();
  EXPECT_EQ(sd.front().first, "p.m_head.weight");
  EXPECT_EQ(sd[36].first, "h.mlp.0.weight");
  EXPECT_EQ(sd.back().first, "h.mlp.4.bias");
  EXPECT_EQ(sd.back().second.sizes(), torch::IntArrayRef({12}));
  EXPECT_EQ(count_parameters(*UnrolledNet(UnrolledNetOptions::usrnet())), 17016016);  // README: 17.02M
}

TEST(UnrolledNet, UsrnetTinyMatchesTheOfficialFixture) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared folder absent";
  const std::string dir = shared + "/fixtures/usrnet_tiny";
  auto io = load_state_dict_map(dir + "/io.pth");
  UnrolledNet net(UnrolledNetOptions::usrnet_tiny());
  load_into_module(*net, load_state_dict(dir + "/weights.pth"), /*strict=*/true, "usrnet_tiny/weights.pth");
  net->eval();
  torch::NoGradGuard no_grad;
  const auto sigma = io.at("sigma");
  auto out = net->forward_all(io.at("x"), io.at("k"), sigma, static_cast<int64_t>(io.at("sf").item<double>()));
  EXPECT_LT(test::max_abs_diff(out.hyper, io.at("dbg_ab")), 1e-5);
  EXPECT_LT(test::max_abs_diff(out.data_steps.at(0), io.at("dbg_d_00")), 1e-5);
  EXPECT_LT(test::max_abs_diff(out.prior_steps.at(0), io.at("dbg_p_00")), 1e-4);
  EXPECT_LT(test::max_abs_diff(out.data_steps.at(5), io.at("dbg_d_05")), 1e-4);
  const double err = test::max_abs_diff(out.image, io.at("out"));
  EXPECT_LT(err, 1e-4);
  RecordProperty("usrnet_tiny_sf1_max_abs_err", std::to_string(err * 1e6) + "e-6");
  // float64 end to end (the fixture's own float64 rerun moved `out` by 4.9e-7).
  {
    UnrolledNet net64(UnrolledNetOptions::usrnet_tiny());
    load_into_module(*net64, load_state_dict(dir + "/weights.pth"));
    net64->to(torch::kFloat64);
    auto out64 = net64->forward(io.at("x").to(torch::kFloat64), io.at("k"), sigma.to(torch::kFloat64));
    EXPECT_EQ(out64.scalar_type(), torch::kFloat64);
    EXPECT_LT(test::max_abs_diff(out64, io.at("out")), 1e-4);
  }
  // A checkpoint of another architecture: clear error naming the first missing key.
  try {
    load_into_module(*net, load_state_dict(shared + "/fixtures/drunet_small/weights.pth"), true, "drunet_small");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing key 'p.m_head.weight'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_unrolled_net(shared + "/fixtures/convir_s/weights.pth"), Error);
  // The architecture is recovered from the file alone.
  auto loaded = load_unrolled_net(dir + "/weights_plaindict.pth");
  EXPECT_EQ(loaded->options().iterations, 6);
  EXPECT_EQ(loaded->options().hyper_channels, 32);
  EXPECT_EQ(loaded->options().prior.nc, std::vector<int64_t>({16, 32, 64, 64}));
  EXPECT_LT(test::max_abs_diff(loaded->forward(io.at("x"), io.at("k"), sigma), io.at("out")), 1e-4);
  // sf = 2: block-split data module, zero-filling upsampler, nearest initialisation.
  auto out2 = net->forward(io.at("sf2_x"), io.at("k"), sigma, static_cast<int64_t>(io.at("sf2_sf").item<double>()));
  ASSERT_EQ(out2.sizes(), io.at("sf2_out").sizes());
  const double err2 = test::max_abs_diff(out2, io.at("sf2_out"));
  EXPECT_LT(err2, 1e-4);
  RecordProperty("usrnet_tiny_sf2_max_abs_err", std::to_string(err2 * 1e6) + "e-6");
}

TEST(HyperNet, OutputsArePositive) {
  torch::manual_seed(4);
  HyperNet h(HyperNetOptions{2, 6, 8});
  {
    torch::NoGradGuard no_grad;
    for (auto& p : h->parameters()) p.uniform_(-3.0, 3.0);
    h->named_parameters()["mlp.4.bias"].fill_(-50.0);  // softplus deep in its tail
  }
  auto x = torch::cat({torch::rand({16, 1, 1, 1}) * 0.2, torch::randint(1, 5, {16, 1, 1, 1}).to(torch::kFloat)}, 1);
  auto out = h->forward(x);
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({16, 6, 1, 1}));
  EXPECT_GT(out.min().item<double>(), 0.0);
  EXPECT_THROW(h->forward(torch::rand({1, 3, 1, 1})), Error);
}

// || (k ⊛ x)↓sf - y ||^2 + a ||x - z||^2 is minimised where  A^T (A x - y) + a (x - z) = 0,
// with A = downsample ∘ circular convolution and A^T = correlation ∘ zero-filling upsampling.
TEST(SrDataStep, SolvesTheNormalEquations) {
  torch::manual_seed(5);
  for (int64_t sf : {1, 2, 3}) {
    SCOPED_TRACE(sf);
    const int64_t h = 10, w = 7;
    auto y = torch::rand({2, 3, h, w}, torch::kFloat64);
    auto k = test::test_kernel(5, sf).to(torch::kFloat64);
    auto z = torch::rand({2, 3, h * sf, w * sf}, torch::kFloat64);
    auto a = torch::tensor({0.05, 0.7}, torch::kFloat64).reshape({2, 1, 1, 1});
    SrDataStep step(y, k, sf);
    auto x = step.solve(z, a);
    using torch::indexing::Slice;
    auto ax = conv_circular(x, k).index({Slice(), Slice(), Slice(0, torch::indexing::None, sf),
                                         Slice(0, torch::indexing::None, sf)});
    auto residual = corr_circular(upsample_zeros(ax - y, sf), k) + a * (x - z);
    EXPECT_LT(residual.abs().max().item<double>(), 1e-10);
    if (sf == 1) {  // the sf = 1 path of the network is core FourierDataStep: same solution
      EXPECT_LT(test::max_abs_diff(FourierDataStep(y, k).solve(z, a), x), 1e-12);
    }
  }
}

// float64 central differences against autograd for the data step in y, z, alpha and the kernel.
TEST(SrDataStep, GradientMatchesFiniteDifferences) {
  torch::manual_seed(6);
  for (int64_t sf : {1, 2}) {
    SCOPED_TRACE(sf);
    auto y = torch::rand({1, 2, 6, 5}, torch::kFloat64).requires_grad_(true);
    auto z = torch::rand({1, 2, 6 * sf, 5 * sf}, torch::kFloat64).requires_grad_(true);
    auto a = torch::full({1, 1, 1, 1}, 0.3, torch::kFloat64).requires_grad_(true);
    auto k = (test::test_kernel(3, 7).to(torch::kFloat64) + 0.05).requires_grad_(true);
    auto weights = torch::randn({1, 2, 6 * sf, 5 * sf}, torch::kFloat64);
    auto loss_of = [&](const torch::Tensor& yy, const torch::Tensor& zz, const torch::Tensor& aa,
                       const torch::Tensor& kk) {
      auto x = sf == 1 ? FourierDataStep(yy, kk).solve(zz, aa) : SrDataStep(yy, kk, sf).solve(zz, aa);
      return (x * weights).sum();
    };
    auto loss = loss_of(y, z, a, k);
    auto grads = torch::autograd::grad({loss}, {y, z, a, k});
    torch::NoGradGuard no_grad;
    const double eps = 1e-6;
    std::vector<torch::Tensor> inputs = {y.detach(), z.detach(), a.detach(), k.detach()};
    for (size_t which = 0; which < inputs.size(); ++which) {
      auto flat = inputs[which].flatten();
      for (int64_t idx : {int64_t(0), flat.numel() / 2, flat.numel() - 1}) {
        auto eval = [&](double delta) {
          auto args = inputs;
          args[which] = inputs[which].clone();
          args[which].view({-1})[idx] += delta;
          return loss_of(args[0], args[1], args[2], args[3]).item<double>();
        };
        const double numeric = (eval(eps) - eval(-eps)) / (2 * eps);
        const double analytic = grads[which].flatten()[idx].item<double>();
        EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << "input " << which << " index " << idx;
      }
    }
  }
}

TEST(UnrolledNet, OddSizesDeterminismAndIntermediates) {
  torch::manual_seed(7);
  UnrolledNet net(toy_options(3));
  torch::NoGradGuard no_grad;
  auto y = torch::rand({2, 1, 13, 19});
  auto k = test::test_kernel(5, 1);
  auto sigma = torch::tensor({0.01f, 0.03f}).reshape({2, 1, 1, 1});
  auto out = net->forward_all(y, k, sigma);
  EXPECT_EQ(out.image.sizes(), y.sizes());
  ASSERT_EQ(out.data_steps.size(), 3u);
  ASSERT_EQ(out.prior_steps.size(), 3u);
  EXPECT_TRUE(torch::equal(out.prior_steps.back(), out.image));
  EXPECT_TRUE(torch::equal(net->forward(y, k, sigma), out.image));
  auto sr = net->forward(y, k, sigma, 2);
  EXPECT_EQ(sr.sizes(), torch::IntArrayRef({2, 1, 26, 38}));
  // Per-sample kernels and a scalar sigma.
  auto kb = torch::stack({test::test_kernel(5, 1), test::test_kernel(5, 2)}).unsqueeze(1);
  EXPECT_EQ(net->forward(y, kb, torch::scalar_tensor(0.02)).sizes(), y.sizes());
  EXPECT_THROW(net->forward(torch::rand({1, 3, 8, 8}), k, sigma), Error);     // channels
  EXPECT_THROW(net->forward(y, test::test_kernel(15), sigma), Error);         // kernel larger than image
}

TEST(UnrolledNet, PerIterationPriorsAreSeparateAndNotOfficial) {
  auto o = toy_options(2);
  o.prior_groups = 2;
  UnrolledNet net(o);
  auto sd = module_state_dict(*net);
  EXPECT_EQ(sd.front().first, "p.0.m_head.weight");
  EXPECT_NE(net->prior(0).get(), net->prior(1).get());
  UnrolledNet shared(toy_options(2));
  EXPECT_EQ(count_parameters(*net) - count_parameters(*shared), count_parameters(*shared->prior(0)));
  EXPECT_THROW(load_into_module(*shared, sd), Error);
  // Architecture inference round trip for both layouts.
  auto inferred = unrolled_options_from_state_dict(sd);
  EXPECT_EQ(inferred.prior_groups, 2);
  EXPECT_EQ(inferred.iterations, 2);
  EXPECT_EQ(inferred.hyper_channels, 8);
  EXPECT_EQ(inferred.prior.nc, std::vector<int64_t>({8, 8, 16, 16}));
  EXPECT_EQ(inferred.prior.nb, 1);
  EXPECT_EQ(inferred.prior.in_nc, 2);
  EXPECT_EQ(unrolled_options_from_state_dict(module_state_dict(*shared)).prior_groups, 1);
  EXPECT_THROW(unrolled_options_from_state_dict(module_state_dict(*shared->prior(0))), Error);
  // A corrupt group index (too many digits for an int, or too many groups) is a clear error, not an
  // uncaught std::out_of_range.
  auto corrupt = sd;
  corrupt.front().first = "p.99999999999.m_head.weight";
  EXPECT_THROW(unrolled_options_from_state_dict(corrupt), Error);
  corrupt.front().first = "p.7.m_head.weight";
  EXPECT_THROW(unrolled_options_from_state_dict(corrupt), Error);
}

TEST(UnrolledNet, PriorGroupsServeContiguousRunsOfIterations) {
  auto o = toy_options(5);
  o.prior_groups = 2;  // iterations 0-2 -> prior 0, 3-4 -> prior 1
  UnrolledNet net(o);
  for (int k : {1, 2}) EXPECT_EQ(net->prior(k).get(), net->prior(0).get());
  EXPECT_NE(net->prior(3).get(), net->prior(0).get());
  EXPECT_EQ(net->prior(4).get(), net->prior(3).get());
  EXPECT_EQ(unrolled_options_from_state_dict(module_state_dict(*net)).prior_groups, 2);
  o.prior_groups = 6;
  EXPECT_THROW(UnrolledNet{o}, Error);
  o.prior_groups = 0;
  EXPECT_THROW(UnrolledNet{o}, Error);
}

// Untying a shared prior (1 -> 3 groups) and tying per-iteration priors back (4 -> 2) keep the output
// exactly, and the new groups are independent copies.
TEST(UnrolledNet, RegroupingPriorsKeepsTheOutput) {
  torch::manual_seed(3);
  const auto k = test::test_kernel(5, 1);
  const auto y = conv_circular(test::test_image(1, 16, 16, 2), k);
  const auto sigma = torch::scalar_tensor(0.02);
  torch::NoGradGuard no_grad;

  UnrolledNet shared(toy_options(4));
  shared->eval();
  const auto before = shared->forward(y, k, sigma);
  UnrolledNet untied = regroup_priors(shared, 3);
  EXPECT_EQ(untied->options().prior_groups, 3);
  EXPECT_FALSE(untied->is_training());
  EXPECT_EQ(test::max_abs_diff(untied->forward(y, k, sigma), before), 0.0);
  EXPECT_NE(untied->prior(0).get(), untied->prior(3).get());
  for (auto& p : untied->prior(3)->parameters()) p.add_(0.01);  // changing one copy leaves the rest alone
  EXPECT_EQ(test::max_abs_diff(regroup_priors(shared, 1)->forward(y, k, sigma), before), 0.0);
  EXPECT_GT(test::max_abs_diff(untied->forward(y, k, sigma), before), 0.0);

  auto o = toy_options(4);
  o.prior_groups = 4;
  UnrolledNet each(o);
  each->eval();
  // 4 -> 2 groups: group 0 takes iteration 0's prior, group 1 iteration 2's; equal output once
  // iterations 1 and 3 use the same weights as 0 and 2.
  load_into_module(*each->prior(1), module_state_dict(*each->prior(0)));
  load_into_module(*each->prior(3), module_state_dict(*each->prior(2)));
  const auto each_out = each->forward(y, k, sigma);
  EXPECT_EQ(test::max_abs_diff(regroup_priors(each, 2)->forward(y, k, sigma), each_out), 0.0);
  EXPECT_THROW(regroup_priors(shared, 5), Error);
}

TEST(UnrolledNet, WideningPriorsKeepsTheOutput) {
  torch::manual_seed(4);
  const auto k = test::test_kernel(5, 1);
  const auto y = conv_circular(test::test_image(1, 16, 16, 2), k);
  const auto sigma = torch::scalar_tensor(0.02);
  auto o = toy_options(3);
  o.prior_groups = 2;
  UnrolledNet narrow(o);
  narrow->eval();
  UnrolledNet wide = widen_priors(narrow, {12, 16, 16, 24});
  EXPECT_EQ(wide->options().prior.nc, std::vector<int64_t>({12, 16, 16, 24}));
  EXPECT_EQ(wide->options().prior_groups, 2);
  EXPECT_GT(count_parameters(*wide), count_parameters(*narrow));
  torch::NoGradGuard no_grad;
  EXPECT_LT(test::max_abs_diff(wide->forward(y, k, sigma), narrow->forward(y, k, sigma)), 1e-6);
  EXPECT_THROW(widen_priors(narrow, {4, 8, 16, 16}), Error);
  EXPECT_THROW(widen_priors(narrow, {8, 8, 16}), Error);
}

TEST(UnrolledNet, AdamStepsReduceTheLossOnAFixedBatch) {
  torch::manual_seed(8);
  UnrolledNet net(toy_options(2));
  auto clean = test::test_image(1, 16, 16).repeat({2, 1, 1, 1});
  auto k = test::test_kernel(5, 3);
  auto blurred = conv_circular(clean, k) + 0.01 * torch::randn({2, 1, 16, 16});
  auto sigma = torch::full({2, 1, 1, 1}, 0.01);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  auto loss_fn = [&] {
    auto out = net->forward_all(blurred, k, sigma);
    torch::Tensor loss = torch::zeros({});
    for (const auto& z : out.prior_steps) loss = loss + (z - clean).abs().mean();  // deep supervision
    return loss;
  };
  const double before = loss_fn().item<double>();
  for (int step = 0; step < 5; ++step) {
    opt.zero_grad();
    auto loss = loss_fn();
    loss.backward();
    opt.step();
  }
  const double after = loss_fn().item<double>();
  EXPECT_LT(after, before * 0.95) << before << " -> " << after;
  for (const auto& p : net->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
}

TEST(UnrolledNet, ForwardWithAnyDataStepMatchesTheConvolutionPass) {
  torch::manual_seed(4);
  UnrolledNet net(toy_options(3));
  torch::NoGradGuard no_grad;
  auto y = torch::rand({2, 1, 16, 24});
  auto k = test::test_kernel(5, 1);
  auto sigma = torch::full({2, 1, 1, 1}, 0.03);
  const FourierDataStep step(y, k);
  auto with = net->forward_with([&](const torch::Tensor& z, const torch::Tensor& a) { return step.solve(z, a); }, y,
                                sigma, /*keep_intermediates=*/true);
  auto all = net->forward_all(y, k, sigma, 1, true);
  EXPECT_LT(test::max_abs_diff(with.image, all.image), 1e-6);
  ASSERT_EQ(with.data_steps.size(), 3u);
  EXPECT_LT(test::max_abs_diff(with.data_steps[1], all.data_steps[1]), 1e-6);
  EXPECT_THROW(net->forward_with([&](const torch::Tensor& z, const torch::Tensor&) { return z; }, y,
                                 torch::full({3, 1, 1, 1}, 0.1)),
               Error);
}

TEST(UnrolledNet, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(9);
  UnrolledNet net(toy_options(2));
  torch::NoGradGuard no_grad;
  auto y = torch::rand({1, 1, 20, 12});
  auto k = test::test_kernel(5);
  auto sigma = torch::full({1, 1, 1, 1}, 0.02);
  auto cpu = net->forward(y, k, sigma, 2);
  net->to(torch::kCUDA);
  auto gpu = net->forward(y.cuda(), k.cuda(), sigma.cuda(), 2);
  EXPECT_LT(test::max_abs_diff(gpu.cpu(), cpu), 1e-4);
}

}  // namespace
}  // namespace unroll

namespace unroll {
namespace {

// Issue 28 (grey variants): the grey network made from a colour one computes, for one iteration, exactly
// what the colour network computes on (y, y, y), averaged over the channels. Later iterations differ: the
// colour network's channels part after its first prior step, the grey one averages them at every step.
TEST(UnrolledNet, GreyFromColourEqualsTheColourNetworkOnReplicatedChannels) {
  torch::manual_seed(5);
  auto o = toy_options(1);
  o.prior.in_nc = 4;
  o.prior.out_nc = 3;
  o.prior.global_residual = true;
  UnrolledNet colour(o);
  colour->eval();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : colour->parameters()) p.add_(0.05 * torch::randn_like(p));  // the tail is not zero
  }
  const auto k = test::test_kernel(5, 1);
  const auto y = conv_circular(test::test_image(1, 16, 16, 2), k);
  const auto sigma = torch::scalar_tensor(0.02);
  torch::NoGradGuard no_grad;
  const auto reference = colour->forward(y.expand({1, 3, 16, 16}).contiguous(), k, sigma).mean(1, true);
  UnrolledNet grey = grey_from_colour(colour);
  EXPECT_EQ(grey->channels(), 1);
  EXPECT_FALSE(grey->is_training());
  EXPECT_EQ(grey->options().iterations, 1);
  const auto out = grey->forward(y, k, sigma);
  EXPECT_LT(test::max_abs_diff(out, reference), 1e-5);
  EXPECT_GT(reference.abs().max().item<double>(), 0.1);
  // Only colour ResUNet networks convert.
  EXPECT_NE(test::error_of([&] { grey_from_colour(grey); }).find("must take RGB + a noise map"), std::string::npos);
}

}  // namespace
}  // namespace unroll
