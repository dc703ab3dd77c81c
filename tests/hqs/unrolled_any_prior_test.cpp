// The unrolled network around priors other than USRNet's ResUNet (hqs/unrolled_net.h prior_factory):
// ConvIR (issue 5: ConvIR as the HQS prior), the attention U-Net (issue 4) and the TV proximal operator.
// Each runs on odd sizes, trains (gradients reach the prior and the hyper-network), and round-trips
// through a checkpoint whose architecture is recognised from its entry names.
#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/fft.h"
#include "hqs/oracle_prior.h"
#include "hqs/unrolled_net.h"
#include "hqs/warm_start.h"
#include "priors/attention_unet.h"
#include "priors/convir_prior.h"
#include "priors/tv_prox.h"
#include "test_util.h"

namespace unroll {
namespace {

ConvIRPriorOptions tiny_convir() {
  ConvIRPriorOptions o;
  o.net.num_res = 1;
  o.net.base_channel = 8;
  return o;
}

AttentionUNetOptions small_attention() {
  AttentionUNetOptions o;
  o.nc = {8, 16};
  o.nb = 1;  // heads: the default (4), which the weights cannot tell (attention_unet.h)
  o.se_reduction = 2;
  return o;
}

UnrolledNetOptions with_prior(PriorFactory factory, bool shared = true) {
  UnrolledNetOptions o;
  o.iterations = 2;
  o.hyper_channels = 8;
  o.prior_groups = shared ? 1 : o.iterations;
  o.prior_factory = std::move(factory);
  return o;
}

struct Problem {
  torch::Tensor y, k, sigma;
};

Problem problem(int64_t channels, int64_t h, int64_t w) {
  Problem p;
  p.k = test::test_kernel(5, 3);
  p.sigma = torch::full({1, 1, 1, 1}, 0.02);
  p.y = conv_circular(test::test_image(channels, h, w, 4), p.k) + 0.02 * torch::randn({1, channels, h, w});
  return p;
}

// Saves `net`, reloads it through the architecture inference and checks it is the same network.
void expect_round_trip(UnrolledNet& net, const Problem& p, const std::string& name) {
  net->eval();
  torch::NoGradGuard no_grad;
  const auto out = net->forward(p.y, p.k, p.sigma);
  const std::string path = test::temp_dir("unrolled_any_prior") + "/" + name + ".pth";
  save_state_dict(path, module_state_dict(*net));
  UnrolledNet again = load_unrolled_net(path);
  again->eval();
  EXPECT_EQ(again->options().prior_groups, net->options().prior_groups);
  EXPECT_EQ(again->prior(0)->kind(), net->prior(0)->kind());
  EXPECT_EQ(test::max_abs_diff(again->forward(p.y, p.k, p.sigma), out), 0.0);
}

// One backward pass of an L1 loss reaches the hyper-network and (when it has any) the prior.
void expect_trainable(UnrolledNet& net, const Problem& p, const torch::Tensor& target) {
  net->train();
  auto y = torch::cat({p.y, p.y.flip(3)});  // batch 2: ConvIR's dynamic filters batch-normalise
  auto t = torch::cat({target, target.flip(3)});
  auto loss = (net->forward(y, p.k, p.sigma) - t).abs().mean();
  loss.backward();
  double hyper = 0.0, prior = 0.0;
  for (const auto& q : net->hyper_net()->parameters()) hyper += q.grad().defined() ? q.grad().abs().sum().item<double>() : 0.0;
  for (const auto& q : net->prior(0)->parameters()) prior += q.grad().defined() ? q.grad().abs().sum().item<double>() : 0.0;
  EXPECT_GT(hyper, 0.0);
  if (!net->prior(0)->parameters().empty()) {
    EXPECT_GT(prior, 0.0);
  }
}

TEST(UnrolledAnyPrior, ConvIRPriorRunsTrainsAndReloads) {
  torch::manual_seed(1);
  const auto o = tiny_convir();
  UnrolledNet net(with_prior([o] { return PriorPtr(std::make_shared<ConvIRPrior>(o)); }));
  EXPECT_EQ(net->prior(0)->kind(), "convir");
  EXPECT_EQ(net->channels(), 3);
  const auto sd = module_state_dict(*net);
  EXPECT_EQ(sd.front().first.compare(0, 6, "p.net."), 0) << sd.front().first;
  const auto p = problem(3, 21, 26);
  {
    torch::NoGradGuard no_grad;
    net->eval();
    EXPECT_EQ(net->forward(p.y, p.k, p.sigma).sizes(), p.y.sizes());
  }
  expect_trainable(net, p, test::test_image(3, 21, 26, 4));
  expect_round_trip(net, p, "convir_shared");
  // The inferred options are the tiny variant's.
  const auto inferred = unrolled_options_from_state_dict(module_state_dict(*net));
  ASSERT_TRUE(static_cast<bool>(inferred.prior_factory));
  auto rebuilt = std::dynamic_pointer_cast<ConvIRPrior>(inferred.prior_factory());
  ASSERT_NE(rebuilt, nullptr);
  EXPECT_EQ(rebuilt->options().net.num_res, 1);
  EXPECT_EQ(rebuilt->options().net.base_channel, 8);

  UnrolledNet separate(with_prior([o] { return PriorPtr(std::make_shared<ConvIRPrior>(o)); }, false));
  EXPECT_EQ(module_state_dict(*separate).front().first.compare(0, 8, "p.0.net."), 0);
  EXPECT_NE(separate->prior(0).get(), separate->prior(1).get());
  expect_round_trip(separate, p, "convir_separate");
  EXPECT_THROW(separate->resunet_prior(0), Error);
}

TEST(UnrolledAnyPrior, AttentionUNetPriorRunsTrainsAndReloads) {
  torch::manual_seed(2);
  const auto o = small_attention();
  UnrolledNet net(with_prior([o] { return PriorPtr(std::make_shared<AttentionUNet>(o)); }));
  EXPECT_EQ(net->prior(0)->kind(), "attention-unet");
  const auto p = problem(3, 19, 24);
  expect_trainable(net, p, test::test_image(3, 19, 24, 4));
  expect_round_trip(net, p, "attention");
  const auto inferred = attention_unet_options_from_state_dict(module_state_dict(*net), "p.");
  EXPECT_EQ(inferred.nc, o.nc);
  EXPECT_EQ(inferred.nb, o.nb);
  EXPECT_EQ(inferred.se_reduction, o.se_reduction);
  EXPECT_TRUE(inferred.self_attention);
  EXPECT_TRUE(inferred.channel_attention);
  // Switched-off attentions are read back as off.
  auto plain = o;
  plain.self_attention = false;
  plain.channel_attention = false;
  const auto off = attention_unet_options_from_state_dict(module_state_dict(AttentionUNet(plain)));
  EXPECT_FALSE(off.self_attention);
  EXPECT_FALSE(off.channel_attention);
}

// A parameter-free prior: the unrolled network is HQS-TV with a learned schedule, for any channel count.
TEST(UnrolledAnyPrior, TvPriorLearnsOnlyTheSchedule) {
  torch::manual_seed(3);
  TvPriorOptions tv;
  tv.iterations = 10;
  UnrolledNet net(with_prior([tv] { return PriorPtr(std::make_shared<TvPrior>(tv)); }));
  EXPECT_EQ(net->channels(), 0);
  for (int64_t c : {1, 3}) {
    const auto p = problem(c, 17, 20);
    torch::NoGradGuard no_grad;
    EXPECT_EQ(net->forward(p.y, p.k, p.sigma).sizes(), p.y.sizes());
  }
  const auto p = problem(1, 17, 20);
  expect_trainable(net, p, test::test_image(1, 17, 20, 4));
}

// The warm start takes a ConvIR-prior denoiser checkpoint as it takes a ResUNet one.
TEST(UnrolledAnyPrior, WarmStartFromAConvIRDenoiser) {
  torch::manual_seed(4);
  ConvIRPrior denoiser(tiny_convir());
  const std::string path = test::temp_dir("unrolled_any_prior") + "/convir_denoiser.pth";
  save_state_dict(path, module_state_dict(denoiser));
  ScheduleFitOptions fit;
  fit.steps = 200;
  UnrolledNet net = unrolled_from_denoiser(path, 3, 8, true, fit);
  EXPECT_EQ(net->prior(0)->kind(), "convir");
  net->eval();
  denoiser.eval();
  torch::NoGradGuard no_grad;
  const auto x = test::test_image(3, 20, 23, 5);
  EXPECT_EQ(test::max_abs_diff(net->prior(0)->denoise(x, 0.05), denoiser.denoise(x, 0.05)), 0.0);
}

TEST(UnrolledAnyPrior, UnknownPriorEntriesAreNamedErrors) {
  UnrolledNet net(with_prior([] { return PriorPtr(std::make_shared<TvPrior>()); }));
  auto sd = module_state_dict(*net);  // hyper-network only
  sd.emplace_back("p.mystery.weight", torch::zeros({2, 2}));
  try {
    unrolled_options_from_state_dict(sd);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a prior state dict"), std::string::npos) << e.what();
  }
  EXPECT_THROW(UnrolledNet(with_prior([] { return PriorPtr(); })), Error);
}

// With alternate_transforms, iteration k's prior works on the k mod 8-th flip/rotation of x_k and its
// output is transformed back: an oracle answering in that orientation gives back the truth exactly
// after every one of the 8 transforms (a wrong inverse or a missing transform would not). Non-square,
// so a transposing mode is visible in the shapes.
TEST(UnrolledAnyPrior, TransformAlternationUndoesEveryTransform) {
  const auto truth = test::test_image(3, 16, 24, 6);
  const auto p = problem(3, 16, 24);
  for (bool alternate : {true, false}) {
    auto oracle = std::make_shared<test::OraclePrior>(truth, alternate);
    auto o = with_prior([oracle] { return PriorPtr(oracle); });
    o.iterations = 9;  // every mode once, then mode 0 again
    UnrolledNet net(o);
    net->set_alternate_transforms(alternate);
    torch::NoGradGuard no_grad;
    const auto out = net->forward_all(p.y, p.k, p.sigma);
    EXPECT_EQ(oracle->levels.size(), 9u);
    ASSERT_EQ(out.prior_steps.size(), 9u);
    for (const auto& z : out.prior_steps) EXPECT_EQ(test::max_abs_diff(z, truth), 0.0) << alternate;
  }
}

}  // namespace
}  // namespace unroll
