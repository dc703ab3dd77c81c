// The end-to-end model zoo behind one interface (nets/deblur_net.h), built and loaded through the
// model-family table (priors/model_family.h): every family builds, runs on odd sizes, round-trips its
// checkpoint, and rejects checkpoints of another family by name.
#include "nets/deblur_net.h"

#include <gtest/gtest.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "priors/model_family.h"
#include "test_util.h"

namespace unroll {
namespace {

ModelBuild build(bool zero_init_outputs, int64_t base_channel = 0) {
  ModelBuild b;
  b.zero_init_outputs = zero_init_outputs;
  b.base_channel = base_channel;
  return b;
}

TEST(DeblurNet, EveryFamilyBuildsWithItsDocumentedSize) {
  for (const auto& family : model_family_names(ModelRole::Deblur)) {
    SCOPED_TRACE(family);
    torch::manual_seed(0);
    auto net = make_deblur_net(family);
    EXPECT_EQ(net.family(), family);
    EXPECT_GT(net.parameter_count(), 0);
  }
  EXPECT_EQ(make_deblur_net("convir-s").parameter_count(), 5530505);
  EXPECT_EQ(make_deblur_net("convir-b").parameter_count(), 8630665);
  EXPECT_EQ(make_deblur_net("convir-l").parameter_count(), 14830985);
  EXPECT_THROW(make_deblur_net("resnet-9000"), Error);
}

// zero_init_outputs = false is the official initialisation: the same random draws as the default, with
// the three output convolutions left as drawn (how every ConvIR here was trained before 2026-12-02);
// the default starts them at zero, so the untrained network returns its input.
TEST(DeblurNet, ConvIROutputInitialisationIsSelectable) {
  torch::manual_seed(4);
  auto zero = make_deblur_net("convir-seed");
  torch::manual_seed(4);
  auto official = make_deblur_net("convir-seed", build(/*zero_init_outputs=*/false));
  const auto a = module_state_dict(*zero.module()), b = module_state_dict(*official.module());
  ASSERT_EQ(a.size(), b.size());
  int64_t differing = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (torch::equal(a[i].second, b[i].second)) continue;
    ++differing;
    EXPECT_TRUE(a[i].first.rfind("ConvsOut.", 0) == 0 || a[i].first.rfind("feat_extract.5.", 0) == 0) << a[i].first;
    EXPECT_EQ(a[i].second.abs().max().item<double>(), 0.0) << a[i].first;
  }
  EXPECT_GE(differing, 3);  // at least the three output convolutions' weights
  auto y = torch::rand({1, 3, 64, 64});
  EXPECT_EQ(test::max_abs_diff(zero.deblur(y), y), 0.0);
  EXPECT_GT(test::max_abs_diff(official.deblur(y), y), 1e-3);
}

// A narrower ConvIR (model.base_channel) keeps the official topology and names: load_deblur_net reads the width
// back from the file, and the loaded network gives the same output.
TEST(DeblurNet, NarrowConvIRRoundTripsThroughItsCheckpoint) {
  torch::manual_seed(2);
  auto narrow = make_deblur_net("convir-s", build(/*zero_init_outputs=*/false, /*base_channel=*/16));
  EXPECT_LT(narrow.parameter_count(), make_deblur_net("convir-s").parameter_count() / 3);
  const std::string path = test::temp_dir("narrow_convir") + "/model.pth";
  narrow.save(path);
  auto loaded = load_deblur_net("convir", path);
  EXPECT_EQ(loaded.family(), "convir-s");
  EXPECT_EQ(loaded.parameter_count(), narrow.parameter_count());
  auto y = test::test_image(3, 64, 64, 1);
  EXPECT_EQ(test::max_abs_diff(loaded.deblur(y), narrow.deblur(y)), 0.0);
  EXPECT_THROW(make_deblur_net("atrous", build(true, 16)), Error);
}

TEST(DeblurNet, SeedFamiliesDeblurOddSizesAndConvIRTakesItsMultiples) {
  auto y = test::test_image(3, 21, 27, 4);
  for (const auto& family : model_family_names(ModelRole::Deblur)) {
    if (family.rfind("convir", 0) == 0) continue;  // the MSM variants need 256x256 (slow on a CPU test)
    SCOPED_TRACE(family);
    torch::manual_seed(0);
    auto net = make_deblur_net(family);
    auto x = net.deblur(y);
    ASSERT_EQ(x.sizes(), y.sizes());
    EXPECT_GE(x.min().item<double>(), 0.0);
    EXPECT_LE(x.max().item<double>(), 1.0);
    EXPECT_TRUE(net.module()->is_training());  // deblur restores the training flag
    EXPECT_EQ(net.deblur(y.mean(1, true)).sizes(), y.mean(1, true).sizes());  // grey in, grey out
  }
  torch::manual_seed(0);
  auto seed = make_deblur_net("convir-seed");
  EXPECT_EQ(seed.size_multiple(), 4);
  EXPECT_EQ(seed.deblur(y).sizes(), y.sizes());  // padded and cropped back
  auto outs = seed.outputs(test::test_image(3, 32, 24, 5));
  ASSERT_EQ(outs.size(), 3u);
  EXPECT_EQ(outs[0].size(2), 8);
  EXPECT_EQ(outs[2].size(2), 32);
  EXPECT_THROW(seed.outputs(test::test_image(3, 30, 24, 5)), Error);  // not a multiple of 4
  auto s = make_deblur_net("convir-s");
  EXPECT_EQ(s.min_side(), 256);
  EXPECT_EQ(s.min_train_batch(), 2);
  EXPECT_EQ(seed.min_train_batch(), 1);
  EXPECT_THROW(s.check_size(128, 128, "crop"), Error);
}

TEST(DeblurNet, CheckpointsRoundTripAndWrongFamiliesAreNamed) {
  const std::string dir = test::temp_dir("deblur_net");
  auto y = test::test_image(3, 20, 20, 9);
  torch::manual_seed(1);
  auto atrous = make_deblur_net("atrous");
  atrous.module()->eval();
  atrous.save(dir + "/atrous.pth");
  auto back = load_deblur_net("atrous", dir + "/atrous.pth");
  EXPECT_EQ(back.family(), "atrous");
  EXPECT_TRUE(torch::allclose(back.deblur(y), atrous.deblur(y)));
  try {
    load_deblur_net("kaist", dir + "/atrous.pth");
    FAIL() << "an ATROUS_NET checkpoint loaded as KAIST_NET";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("atrous.pth"), std::string::npos) << e.what();
  }
  // The block count is read from the file.
  auto reds = make_deblur_net("atrous-reds");
  reds.save(dir + "/reds.pth");
  EXPECT_EQ(load_deblur_net("atrous", dir + "/reds.pth").family(), "atrous-reds");

  // ConvIR checkpoints carry their variant; a family that names another one is an error.
  torch::manual_seed(2);
  auto seed = make_deblur_net("convir-seed");
  seed.save(dir + "/seed.pth");
  auto loaded = load_deblur_net("convir", dir + "/seed.pth");
  EXPECT_EQ(loaded.family(), "convir-seed");
  seed.module()->eval();
  EXPECT_TRUE(torch::allclose(loaded.deblur(y), seed.deblur(y), 1e-5, 1e-6));
  try {
    load_deblur_net("convir-s", dir + "/seed.pth");
    FAIL() << "a seed-variant checkpoint loaded as ConvIR-S";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("convir-seed"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace unroll
