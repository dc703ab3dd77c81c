#include "nets/convir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {

// Reads a plain-dict .pth (zip serialization) with torch::pickle_load; see shared/fixtures/README.md.
std::map<std::string, torch::Tensor> read_plain_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto value = torch::pickle_load(bytes);
  if (!value.isGenericDict()) throw std::runtime_error(path + " is not a plain dict");
  std::map<std::string, torch::Tensor> out;
  for (const auto& kv : value.toGenericDict()) out[kv.key().toStringRef()] = kv.value().toTensor();
  return out;
}

std::string fixture_dir() {
  const auto shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/fixtures/convir_s";
}

ConvIROptions fixture_options() {
  ConvIROptions o = ConvIROptions::small();
  o.base_channel = 8;
  return o;
}

// A cheap model for shape tests: one block per stage, width 8.
ConvIROptions tiny_options(bool msm = true) {
  ConvIROptions o;
  o.num_res = 1;
  o.base_channel = 8;
  o.use_msm = msm;
  return o;
}

std::map<std::string, torch::Tensor> cloned_state(const ConvIR& m) {
  std::map<std::string, torch::Tensor> s;
  for (const auto& kv : convir_state_dict(m)) s[kv.first] = kv.second.detach().clone();
  return s;
}

using test::error_of;

TEST(ConvIROptions, ValidateNamesFieldAndValue) {
  auto bad = [](auto edit) {
    ConvIROptions o;
    edit(o);
    return error_of([&] { o.validate(); });
  };
  EXPECT_NE(bad([](ConvIROptions& o) { o.num_res = 0; }).find("num_res must be >= 1, got 0"), std::string::npos);
  EXPECT_NE(bad([](ConvIROptions& o) { o.base_channel = 6; }).find("base_channel"), std::string::npos);
  EXPECT_NE(bad([](ConvIROptions& o) { o.base_channel = 12; }).find("group must divide base_channel"),
            std::string::npos);
  EXPECT_NE(bad([](ConvIROptions& o) { o.dilations = {7, 9}; }).find("dilations"), std::string::npos);
  EXPECT_NE(bad([](ConvIROptions& o) { o.act = "relu"; }).find("\"relu\""), std::string::npos);
  EXPECT_NE(error_of([] { ConvIROptions::from_variant("huge"); }).find("huge"), std::string::npos);
  EXPECT_EQ(ConvIROptions::from_variant("B").num_res, 8);
  EXPECT_NO_THROW(ConvIROptions().validate());
}

// Official figures (shared/fixtures/param_counts.txt; README: 5.53M / 8.63M / 14.83M).
TEST(ConvIR, ParameterCountsMatchOfficialVariants) {
  EXPECT_EQ(module_parameter_count(*ConvIR(ConvIROptions::small())), 5530505);
  EXPECT_EQ(module_parameter_count(*ConvIR(ConvIROptions::base())), 8630665);
  EXPECT_EQ(module_parameter_count(*ConvIR(ConvIROptions::large())), 14830985);
  EXPECT_EQ(module_parameter_count(*ConvIR(fixture_options())), 383585);
}

// The seed-000 variant: num_res 6, MSM removed. From the official counts, a width-c residual block has
// 2(9c^2 + c) parameters and an MSM 36c^2 + 393c + 432 (4 dense 3x3 convs + 3 multi-shape kernels of
// 131c + 144), so the rest of the network is 5,530,505 - 8*387,520 - 2*863,472 = 703,401 (the same
// residue follows from B and L) and the variant has 703,401 + 12*387,520 = 5,353,641 parameters.
TEST(ConvIR, Seed000VariantParameterCount) {
  ConvIROptions o;
  o.num_res = 6;
  o.use_msm = false;
  ConvIR m(o);
  EXPECT_EQ(module_parameter_count(*m), 5353641);
  for (const auto& kv : convir_state_dict(m)) {
    if (kv.first.find(".layers.") != std::string::npos) {
      EXPECT_EQ(kv.first.find(".main.1."), std::string::npos) << "residual block with an MSM: " << kv.first;
    }
  }
  o.use_msm = true;
  EXPECT_EQ(module_parameter_count(*ConvIR(o)), 5353641 + 1726944);  // + the six MSMs
}

// The state dict has the official names, shapes and order, BatchNorm buffers included.
TEST(ConvIR, StateDictMatchesOfficialParamsTxt) {
  const auto dir = fixture_dir();
  if (dir.empty()) GTEST_SKIP() << "shared folder absent";
  std::ifstream in(dir + "/params.txt");
  ASSERT_TRUE(in) << dir << "/params.txt";
  std::vector<std::pair<std::string, std::string>> expected;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, shape;
    std::getline(ls, name, '\t');
    std::getline(ls, shape, '\t');
    if (name == "total_parameters") continue;
    expected.emplace_back(name, shape);
  }
  ConvIR m(fixture_options());
  const auto actual = convir_state_dict(m);
  ASSERT_EQ(actual.size(), expected.size());
  ASSERT_EQ(actual.size(), 506u);
  int64_t buffer_elements = 0;
  for (const auto& b : m->buffers()) buffer_elements += b.numel();
  EXPECT_EQ(buffer_elements, 2610);
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].first, expected[i].first) << "entry " << i;
    std::ostringstream shape;
    shape << "[";
    for (int64_t d = 0; d < actual[i].second.dim(); ++d) shape << (d ? ", " : "") << actual[i].second.size(d);
    shape << "]";
    EXPECT_EQ(shape.str(), expected[i].second) << actual[i].first;
  }
}

// Official code, random weights (shared/fixtures/convir_s): all three outputs within 1e-4.
TEST(ConvIR, MatchesOfficialFixture) {
  const auto dir = fixture_dir();
  if (dir.empty()) GTEST_SKIP() << "shared folder absent";
  const auto weights = read_plain_dict(dir + "/weights_plaindict.pth");
  const auto io = read_plain_dict(dir + "/io.pth");
  ConvIR m(fixture_options());
  load_convir_state(m, weights);
  m->eval();
  torch::NoGradGuard no_grad;
  const auto x = io.at("x");
  ASSERT_EQ(x.sizes(), torch::IntArrayRef({1, 3, 256, 288}));
  const auto out = m->forward(x);
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const auto& ref = io.at("out_" + std::to_string(i));
    ASSERT_EQ(out[i].sizes(), ref.sizes()) << "out_" << i;
    const double err = test::max_abs_diff(out[i], ref);
    EXPECT_LT(err, 1e-4) << "out_" << i;
    std::cout << "[ convir ] fixture out_" << i << " max |diff| = " << err << "\n";
  }
}

// A wrong variant fails by name: an S-shaped state into a 5-block model is missing layers.4; a width-16
// model sees a shape mismatch on the first tensor; an extra key and a dropped key are named.
TEST(ConvIR, LoadStateNamesFirstMismatch) {
  ConvIR src(tiny_options());
  auto state = cloned_state(src);

  ConvIROptions five = tiny_options();
  five.num_res = 2;
  ConvIR deeper(five);
  auto msg = error_of([&] { load_convir_state(deeper, state); });
  EXPECT_NE(msg.find("missing entry 'Encoder.0.layers.1.main.0.main.0.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("num_res=2"), std::string::npos) << msg;

  ConvIROptions wide = tiny_options();
  wide.base_channel = 16;
  ConvIR wider(wide);
  msg = error_of([&] { load_convir_state(wider, state); });
  EXPECT_NE(msg.find("shape mismatch for 'Encoder.0.layers.0.main.0.main.0.weight'"), std::string::npos) << msg;

  auto extra = state;
  extra["Encoder.0.layers.0.extra"] = torch::zeros({1});
  ConvIR dst(tiny_options());
  msg = error_of([&] { load_convir_state(dst, extra); });
  EXPECT_NE(msg.find("unexpected entry 'Encoder.0.layers.0.extra'"), std::string::npos) << msg;

  auto dropped = state;
  dropped.erase("SCM2.main.4.bias");
  msg = error_of([&] { load_convir_state(dst, dropped); });
  EXPECT_NE(msg.find("missing entry 'SCM2.main.4.bias'"), std::string::npos) << msg;

  // An MSM checkpoint into the no-MSM variant: the MSM tensors are unexpected.
  ConvIR plain(tiny_options(false));
  msg = error_of([&] { load_convir_state(plain, state); });
  EXPECT_NE(msg.find("unexpected entry 'Decoder.0.layers.0.main.1."), std::string::npos) << msg;
}

// Loading copies every parameter and buffer: two models built with different random initialisations
// agree after one loads the other's state (DataParallel "module." prefix and an ordered list accepted).
TEST(ConvIR, LoadStateReproducesOutputs) {
  torch::manual_seed(1);
  ConvIR a(tiny_options());
  torch::manual_seed(2);
  ConvIR b(tiny_options());
  {
    torch::NoGradGuard g;
    for (auto& p : a->parameters()) p.uniform_(-0.1, 0.1);
    for (const auto& kv : a->named_buffers())
      if (kv.key().find("running_mean") != std::string::npos) kv.value().uniform_(-0.1, 0.1);
  }
  std::vector<std::pair<std::string, torch::Tensor>> prefixed;
  for (const auto& kv : cloned_state(a)) prefixed.emplace_back("module." + kv.first, kv.second);
  load_convir_state(b, prefixed);
  a->eval();
  b->eval();
  torch::NoGradGuard g;
  auto x = torch::rand({1, 3, 256, 256});
  const auto oa = a->forward(x), ob = b->forward(x);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(test::max_abs_diff(oa[i], ob[i]), 0.0);
}

TEST(ConvIR, ForwardShapesAndSizeChecks) {
  torch::NoGradGuard g;
  ConvIR m(tiny_options());
  m->eval();
  EXPECT_EQ(convir_min_side(m->options()), 256);
  EXPECT_EQ(convir_size_multiple(m->options()), 32);
  const auto out = m->forward(torch::rand({2, 3, 256, 320}));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].sizes(), torch::IntArrayRef({2, 3, 64, 80}));
  EXPECT_EQ(out[1].sizes(), torch::IntArrayRef({2, 3, 128, 160}));
  EXPECT_EQ(out[2].sizes(), torch::IntArrayRef({2, 3, 256, 320}));
  auto msg = error_of([&] { m->forward(torch::rand({1, 3, 224, 256})); });
  EXPECT_NE(msg.find(">= 256"), std::string::npos) << msg;
  msg = error_of([&] { m->forward(torch::rand({1, 3, 256, 260})); });
  EXPECT_NE(msg.find("multiples of 32"), std::string::npos) << msg;
  msg = error_of([&] { m->forward(torch::rand({1, 1, 256, 256})); });
  EXPECT_NE(msg.find("[N,3,H,W]"), std::string::npos) << msg;

  // Without the MSM only the two stride-2 stages constrain the size.
  ConvIR plain(tiny_options(false));
  plain->eval();
  EXPECT_EQ(convir_min_side(plain->options()), 4);
  EXPECT_EQ(plain->forward(torch::rand({1, 3, 36, 44}))[2].sizes(), torch::IntArrayRef({1, 3, 36, 44}));
}

// By default the output convolutions start at zero: an untrained network returns its (downsampled)
// input at all three scales, in training and evaluation mode, and after one Adam step on an L1 loss
// it no longer does (the zeros do not trap training).
TEST(ConvIR, UntrainedNetworkIsTheIdentityAndStillTrains) {
  torch::manual_seed(0);
  ConvIR m(tiny_options());
  auto x = torch::rand({2, 3, 256, 256});
  // Nearest-neighbour halving keeps every second pixel.
  const auto x_2 = x.slice(2, 0, 256, 2).slice(3, 0, 256, 2);
  const auto x_4 = x_2.slice(2, 0, 128, 2).slice(3, 0, 128, 2);
  for (bool training : {true, false}) {
    m->train(training);
    torch::NoGradGuard g;
    const auto out = m->forward(x);
    EXPECT_EQ(test::max_abs_diff(out[0], x_4), 0.0);
    EXPECT_EQ(test::max_abs_diff(out[1], x_2), 0.0);
    EXPECT_EQ(test::max_abs_diff(out[2], x), 0.0);
  }
  m->train();
  torch::optim::Adam adam(m->parameters(), torch::optim::AdamOptions(1e-3));
  const auto target = torch::rand_like(x);
  (m->forward(x)[2] - target).abs().mean().backward();
  adam.step();
  torch::NoGradGuard g;
  m->eval();
  EXPECT_GT(test::max_abs_diff(m->forward(x)[2], x), 1e-4);
}

// Training mode: BatchNorm uses batch statistics (batch > 1 needed, as in the official code) and every
// parameter group receives gradients.
TEST(ConvIR, BackwardReachesEncoderAndDecoder) {
  torch::manual_seed(0);
  ConvIROptions official = tiny_options();
  official.zero_init_outputs = false;  // zero output convolutions would stop the gradient at step 0
  ConvIR m(official);
  m->train();
  auto x = torch::rand({2, 3, 256, 256});
  const auto out = m->forward(x);
  (out[0].abs().mean() + out[1].abs().mean() + out[2].abs().mean()).backward();
  // gamma = 0 and lamb_l = 0 at initialisation (official) block the gradient into the dynamic-filter
  // internals; everything else, and those gates themselves, must receive a gradient.
  int64_t checked = 0;
  for (const auto& kv : m->named_parameters()) {
    const auto& name = kv.key();
    const bool gate = name.find("square_att.lamb_") != std::string::npos ||
                      name.find("strip_att.gamma") != std::string::npos ||
                      name.find("strip_att.beta") != std::string::npos;
    if (name.find("_att.") != std::string::npos && !gate) continue;
    ++checked;
    ASSERT_TRUE(kv.value().grad().defined()) << name;
    EXPECT_GT(kv.value().grad().abs().sum().item<double>(), 0.0) << name;
  }
  EXPECT_GT(checked, 100);
}

TEST(ReflectPadTo, MatchesReflectionPadAndContinuesPeriodically) {
  auto x = torch::rand({1, 2, 5, 7}, torch::kFloat64);
  EXPECT_EQ(test::max_abs_diff(reflect_pad_to(x, 9, 10), torch::reflection_pad2d(x, {0, 3, 0, 4})), 0.0);
  auto row = torch::arange(3, torch::kFloat64).reshape({1, 1, 1, 3});  // 0 1 2
  auto padded = reflect_pad_to(row, 1, 10);
  auto expect = torch::tensor({0, 1, 2, 1, 0, 1, 2, 1, 0, 1}, torch::kFloat64).reshape({1, 1, 1, 10});
  EXPECT_EQ(test::max_abs_diff(padded, expect), 0.0);
  EXPECT_EQ(test::max_abs_diff(reflect_pad_to(torch::ones({1, 1, 1, 1}), 4, 3), torch::ones({1, 1, 4, 3})), 0.0);
  EXPECT_THROW(reflect_pad_to(x, 4, 7), Error);
}

TEST(ConvIRDeblur, OddSizesKeepShape) {
  torch::manual_seed(3);
  ConvIR m(tiny_options());
  m->train();
  auto y = test::test_image(3, 37, 50);
  auto out = convir_deblur(m, y);
  EXPECT_EQ(out.sizes(), y.sizes());
  EXPECT_TRUE(m->is_training());  // flag restored
  EXPECT_GE(out.min().item<double>(), 0.0);
  EXPECT_LE(out.max().item<double>(), 1.0);
  EXPECT_FALSE(out.requires_grad());

  // Grey [H,W] in, grey [H,W] out, float64 kept.
  auto grey = test::test_image(1, 17, 9).to(torch::kFloat64)[0][0];
  auto g = convir_deblur(m, grey);
  EXPECT_EQ(g.sizes(), grey.sizes());
  EXPECT_EQ(g.scalar_type(), torch::kFloat64);

  EXPECT_THROW(convir_deblur(m, torch::full({1, 3, 8, 8}, std::nan(""))), Error);
  EXPECT_THROW(convir_deblur(m, torch::rand({1, 2, 8, 8})), Error);
}

// On a supported size no padding happens: the result is the full-scale output, clamped.
TEST(ConvIRDeblur, SupportedSizeEqualsForward) {
  torch::manual_seed(4);
  ConvIR m(tiny_options());
  m->eval();
  auto y = test::test_image(3, 256, 288);
  auto out = convir_deblur(m, y);
  torch::NoGradGuard g;
  EXPECT_LT(test::max_abs_diff(out, m->forward(y)[2].clamp(0, 1)), 1e-6);
  // Padding is at the bottom/right: the top-left block of a 250x250 input matches up to the
  // receptive-field effects of the padded border, so the outputs are close but the shape is exact.
  auto small = convir_deblur(m, y.narrow(2, 0, 250).narrow(3, 0, 250));
  EXPECT_EQ(small.sizes(), torch::IntArrayRef({1, 3, 250, 250}));
}

// The official checkpoint layout (collections.OrderedDict, what torch.save(model.state_dict()) writes),
// read by core/checkpoint.h; the variant is inferred from the keys.
TEST(ConvIR, LoadsOfficialOrderedDictCheckpoint) {
  const auto dir = fixture_dir();
  if (dir.empty()) GTEST_SKIP() << "shared folder absent";
  ConvIR m = load_convir(dir + "/weights.pth");
  EXPECT_EQ(m->options().num_res, 4);
  EXPECT_EQ(m->options().base_channel, 8);
  EXPECT_TRUE(m->options().use_msm);
  EXPECT_FALSE(m->is_training());
  const auto io = read_plain_dict(dir + "/io.pth");
  torch::NoGradGuard g;
  const auto out = m->forward(io.at("x"));
  for (int i = 0; i < 3; ++i) EXPECT_LT(test::max_abs_diff(out[i], io.at("out_" + std::to_string(i))), 1e-4);
  // The same file for the wrong variant names the file and the first mismatch.
  ConvIROptions b = ConvIROptions::base();
  b.base_channel = 8;
  const auto msg = error_of([&] { load_convir_strict(dir + "/weights.pth", b); });
  EXPECT_NE(msg.find("weights.pth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing entry 'Encoder.0.layers.4.main.0.main.0.weight'"), std::string::npos) << msg;
}

TEST(ConvIR, OptionsFromStateAndSaveRoundTrip) {
  for (auto o : {ConvIROptions::small(), ConvIROptions::base(), tiny_options(false)}) {
    o.base_channel = 8;
    const auto inferred = convir_options_from_state(convir_state_dict(ConvIR(o)));
    EXPECT_EQ(inferred.num_res, o.num_res);
    EXPECT_EQ(inferred.base_channel, 8);
    EXPECT_EQ(inferred.use_msm, o.use_msm);
  }
  std::vector<std::pair<std::string, torch::Tensor>> not_convir = {{"conv.weight", torch::zeros({1, 1, 3, 3})}};
  EXPECT_NE(error_of([&] { convir_options_from_state(not_convir); }).find("not a ConvIR state dict"),
            std::string::npos);

  torch::manual_seed(9);
  ConvIR a(tiny_options());
  {
    torch::NoGradGuard g;
    for (auto& p : a->parameters()) p.uniform_(-0.1, 0.1);
  }
  const auto path = test::temp_dir("convir_save") + "/model.pth";
  save_convir(a, path);
  ConvIR b = load_convir(path);
  EXPECT_EQ(b->options().num_res, 1);
  a->eval();
  torch::NoGradGuard g;
  auto x = torch::rand({1, 3, 256, 256});
  EXPECT_EQ(test::max_abs_diff(a->forward(x)[2], b->forward(x)[2]), 0.0);
}

TEST(ConvIR, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "CUDA not available";
  torch::manual_seed(5);
  ConvIR m(tiny_options());
  m->eval();
  auto x = torch::rand({1, 3, 256, 256});
  torch::NoGradGuard g;
  const auto cpu = m->forward(x);
  m->to(torch::kCUDA);
  const auto gpu = m->forward(x.to(torch::kCUDA));
  for (int i = 0; i < 3; ++i) EXPECT_LT(test::max_abs_diff(cpu[i], gpu[i].cpu()), 1e-4);
}

}  // namespace
}  // namespace unroll
