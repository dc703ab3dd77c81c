// The model-family table (priors/model_family.h) is the one place a family is added: a walk over the
// table checks that every row builds, round-trips its checkpoint through its own loader, recognises its
// weights and declares sizes its network takes. tests/train/train_config_test.cpp walks it for the
// training config, tests/eval/methods_test.cpp for the blind methods; a new row is covered by all three
// without another change.
#include "priors/model_family.h"

#include <gtest/gtest.h>

#include <set>

#include "core/checkpoint.h"
#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {

// Fixed configurations above this size (the official DRUNet, 32.6 M parameters; USRNet's prior) are
// only built: their checkpoints are the official files (tests/hqs, tests/eval with ../shared).
constexpr int64_t kRoundTripMaxParameters = 6'000'000;

// The smallest build a row allows: the narrowest ConvIR, a small ResUNet.
ModelBuild small_build(const ModelFamily& f) {
  ModelBuild b;
  if (f.reads_base_channel) b.base_channel = 8;
  if (f.reads_resunet) {
    b.resunet.nc = {8, 16, 16, 16};
    b.resunet.nb = 1;
  }
  return b;
}

// Same entry names and shapes; with `values`, the same values too.
void expect_same_state(const StateDict& a, const StateDict& b, bool values = true) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.sizes(), b[i].second.sizes()) << a[i].first;
    if (values) EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }
}

TEST(ModelFamily, NamesAreUniquePerRoleAndEveryRowIsComplete) {
  std::set<std::pair<ModelRole, std::string>> seen;
  for (const auto& f : model_families()) {
    SCOPED_TRACE(f.name);
    EXPECT_TRUE(seen.insert({f.role, f.name}).second);
    EXPECT_FALSE(f.description.empty());
    EXPECT_EQ(f.description.find('\n'), std::string::npos);
    if (f.role == ModelRole::Denoiser) {
      EXPECT_TRUE(f.make_prior);
      EXPECT_FALSE(f.make_net || f.load_net);
      EXPECT_EQ(f.state_dict_key.empty(), !f.factory_from_state_dict);
      EXPECT_FALSE(f.reads_base_channel);  // ModelBuild::base_channel is the blind ConvIR's
    } else {
      EXPECT_TRUE(f.make_net && f.load_net);
      EXPECT_FALSE(f.make_prior || f.load_prior);
      EXPECT_FALSE(f.architecture.empty());
      EXPECT_GE(f.size_multiple, 1);
      EXPECT_GE(f.min_side, f.size_multiple);
    }
  }
  // One name, two roles: ConvIR-S as a prior and as a blind network.
  EXPECT_NE(lookup_model_family("convir-s", ModelRole::Denoiser), lookup_model_family("convir-s", ModelRole::Deblur));
  EXPECT_EQ(lookup_model_family("kaist", ModelRole::Denoiser), nullptr);
  EXPECT_EQ(model_family_names(ModelRole::Denoiser, /*trainable_only=*/true),
            (std::vector<std::string>{"resunet", "attention-unet", "convir-s"}));
  EXPECT_EQ(model_family_names(ModelRole::Deblur),
            (std::vector<std::string>{"convir-s", "convir-b", "convir-l", "convir-seed", "atrous", "atrous-reds",
                                      "kaist", "carlo", "unet-resnet", "unet-ae"}));
}

TEST(ModelFamily, UnknownNamesListTheKnownOnes) {
  const std::string prior = test::error_of([] { find_model_family("bm3d", ModelRole::Denoiser); });
  EXPECT_NE(prior.find("unknown prior 'bm3d'; known: tv, resunet, drunet-color"), std::string::npos) << prior;
  const std::string net = test::error_of([] { make_deblur_net("resnet-9000"); });
  EXPECT_NE(net.find("deblur network: unknown family 'resnet-9000' (convir-s, convir-b"), std::string::npos) << net;
  EXPECT_THROW(load_deblur_net("resnet-9000", "/nonexistent.pth"), Error);
  EXPECT_THROW(make_prior("kaist"), Error);  // a blind network, not a prior
}

TEST(ModelFamily, EveryDenoiserBuildsRoundTripsAndIsRecognisedFromItsWeights) {
  const std::string dir = test::temp_dir("model_family_priors");
  for (const auto& f : model_families()) {
    if (f.role != ModelRole::Denoiser) continue;
    SCOPED_TRACE(f.name);
    torch::manual_seed(0);
    PriorPtr prior = f.make_prior(small_build(f));
    ASSERT_NE(prior, nullptr);
    if (!f.load_prior) {  // tv: no weights
      EXPECT_TRUE(module_state_dict(*prior).empty());
      auto x = test::test_image(3, 20, 23, 1);
      EXPECT_EQ(prior->denoise(x, 0.05).sizes(), x.sizes());
      continue;
    }
    const int64_t n = module_parameter_count(*prior);
    EXPECT_GT(n, 0);
    if (n > kRoundTripMaxParameters && !f.trainable) continue;
    const std::string path = dir + "/" + f.name + ".pth";
    save_state_dict(path, module_state_dict(*prior));
    PriorPtr back = f.load_prior(path);
    EXPECT_FALSE(back->is_training());
    expect_same_state(module_state_dict(*back), module_state_dict(*prior));
    // Recognised from its weights (a ResUNet configuration as resunet), also under a prefix, as an
    // unrolled network's prior is: the factory builds the architecture the weights hold.
    const StateDict state = load_state_dict(path);
    const std::string recognised = prior_family_from_state_dict(state);
    EXPECT_TRUE(recognised == f.name || find_model_family(recognised, ModelRole::Denoiser).reads_resunet) << recognised;
    PriorFactory factory = prior_factory_from_state_dict(add_prefix(state, "p."), "p.");
    expect_same_state(module_state_dict(*factory()), state, /*values=*/false);
  }
}

TEST(ModelFamily, EveryBlindNetworkBuildsAtItsSizesAndRoundTripsThroughItsFamilyAndArchitecture) {
  const std::string dir = test::temp_dir("model_family_nets");
  for (const auto& f : model_families()) {
    if (f.role != ModelRole::Deblur) continue;
    SCOPED_TRACE(f.name);
    torch::manual_seed(0);
    DeblurNet net = make_deblur_net(f.name, small_build(f));
    EXPECT_EQ(net.family(), f.name);
    EXPECT_EQ(net.size_multiple(), f.size_multiple);
    EXPECT_EQ(net.min_side(), f.min_side);
    EXPECT_NO_THROW(net.check_size(f.min_side, 2 * f.min_side, "size"));
    if (f.size_multiple > 1) EXPECT_THROW(net.check_size(f.min_side + 1, f.min_side, "size"), Error);
    const std::string path = dir + "/" + f.name + ".pth";
    net.save(path);
    const StateDict saved = load_state_dict(path);
    for (const std::string& name : {f.name, f.architecture}) {
      DeblurNet back = load_deblur_net(name, path);
      EXPECT_EQ(back.family(), f.name) << "loaded as " << name;
      EXPECT_FALSE(back.module()->is_training());
      back.save(dir + "/back.pth");
      expect_same_state(load_state_dict(dir + "/back.pth"), saved);
    }
  }
}

}  // namespace
}  // namespace unroll
