#include "core/checkpoint.h"

#include <caffe2/serialize/inline_container.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {

namespace fs = std::filesystem;

struct ParamLine {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;
};

// Parses a fixture params.txt: "name<TAB>[d0, d1, ...]<TAB>dtype" lines, then "total_parameters<TAB>N".
std::vector<ParamLine> read_params(const std::string& path, int64_t* total) {
  std::ifstream in(path);
  std::vector<ParamLine> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, shape, dtype;
    std::getline(ls, name, '\t');
    std::getline(ls, shape, '\t');
    std::getline(ls, dtype, '\t');
    if (name == "total_parameters") {
      *total = std::stoll(shape);
      continue;
    }
    ParamLine p{name, {}, dtype};
    for (char& c : shape)
      if (c == '[' || c == ']' || c == ',') c = ' ';
    std::istringstream ss(shape);
    int64_t d;
    while (ss >> d) p.shape.push_back(d);
    out.push_back(p);
  }
  return out;
}

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kInt64: return "int64";
    default: return c10::toString(t);
  }
}

bool python_has_torch() {
  static int cached = -1;
  if (cached < 0) cached = test::run_command("/usr/bin/python3 -c 'import torch'") == 0 ? 1 : 0;
  return cached == 1;
}

void expect_same(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.scalar_type(), b[i].second.scalar_type()) << a[i].first;
    ASSERT_EQ(a[i].second.sizes(), b[i].second.sizes()) << a[i].first;
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }
}

TEST(Checkpoint, LoadsEveryFixtureInBothLayouts) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared folder absent";
  for (const std::string fixture : {"usrnet_tiny", "drunet_small", "convir_s"}) {
    const std::string dir = shared + "/fixtures/" + fixture;
    int64_t total = -1;
    const auto expected = read_params(dir + "/params.txt", &total);
    ASSERT_FALSE(expected.empty()) << dir;
    StateDict first;
    for (const std::string file : {"weights.pth", "weights_plaindict.pth"}) {
      SCOPED_TRACE(fixture + "/" + file);
      const auto sd = load_state_dict(dir + "/" + file);
      ASSERT_EQ(sd.size(), expected.size());
      int64_t params = 0;
      for (size_t i = 0; i < sd.size(); ++i) {
        EXPECT_EQ(sd[i].first, expected[i].name) << "entry " << i;
        EXPECT_EQ(sd[i].second.sizes().vec(), expected[i].shape) << expected[i].name;
        EXPECT_EQ(dtype_name(sd[i].second.scalar_type()), expected[i].dtype) << expected[i].name;
        if (sd[i].second.is_floating_point()) params += sd[i].second.numel();
      }
      // Buffers (BatchNorm running stats, ConvIR) are float too; the count of parameters is a lower bound.
      EXPECT_GE(params, total);
      // The fixtures are U(-0.1, 0.1) parameters: a byte-order or offset bug would break this.
      for (const auto& [name, t] : sd) {
        if (name.find("running_var") == std::string::npos && t.is_floating_point() && t.numel() > 0) {
          EXPECT_LE(t.abs().max().item<double>(), 1.0) << name;
        }
      }
      if (first.empty())
        first = sd;
      else
        expect_same(first, sd);
    }
  }
}

TEST(Checkpoint, LoadsIoDictAndMapView) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared folder absent";
  const auto io = load_state_dict_map(shared + "/fixtures/usrnet_tiny/io.pth");
  ASSERT_TRUE(io.count("x") && io.count("k") && io.count("sigma") && io.count("out"));
  EXPECT_EQ(io.at("k").sizes(), torch::IntArrayRef({1, 1, 25, 25}));
  EXPECT_NEAR(io.at("k").sum().item<double>(), 1.0, 1e-5);
  EXPECT_NEAR(io.at("sigma").item<double>(), 0.01, 1e-7);
}

TEST(Checkpoint, SaveLoadRoundTripKeepsOrderDtypesAndValues) {
  const std::string dir = test::temp_dir("checkpoint_roundtrip");
  torch::manual_seed(3);
  auto base = torch::randn({4, 6}, torch::kFloat64);
  StateDict sd = {
      {"z.last_name_first", torch::randn({3, 2, 1, 1})},
      {"a.view", base.t()},                                  // non-contiguous
      {"m.slice", base.narrow(0, 1, 2)},                     // storage offset
      {"ints", torch::arange(7, torch::kInt64)},
      {"half", torch::randn({5}).to(torch::kFloat16)},
      {"flags", torch::tensor({true, false, true})},
      {"scalar", torch::scalar_tensor(2.5)},
  };
  const std::string path = dir + "/rt.pth";
  save_state_dict(path, sd);
  EXPECT_TRUE(fs::exists(path));
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << "temporary file left behind";
  expect_same(load_state_dict(path), sd);

  // Duplicate names are refused and leave no file behind.
  StateDict dup = {{"x", torch::ones({1})}, {"x", torch::ones({1})}};
  EXPECT_THROW(save_state_dict(dir + "/dup.pth", dup), Error);
  EXPECT_FALSE(fs::exists(dir + "/dup.pth"));
}

// float16 export: floating tensors halve, integers and flags stay, the error is within float16's
// rounding, tiny values are counted when they flush to zero, and a model loads the result.
TEST(Checkpoint, CastFloatingHalvesFloatsAndAModelLoadsIt) {
  torch::manual_seed(5);
  torch::nn::Linear linear(6, 3);
  StateDict sd = module_state_dict(*linear);
  sd.emplace_back("steps", torch::tensor({12345}, torch::kInt64));
  sd.emplace_back("flags", torch::tensor({true, false}));
  sd.emplace_back("tiny", torch::tensor({1e-9, 0.0, 0.5}, torch::kFloat64));
  CastSummary s;
  const StateDict half = cast_floating(sd, torch::kFloat16, "m.pth", &s);
  ASSERT_EQ(half.size(), sd.size());
  EXPECT_EQ(s.tensors_cast, 3);
  for (size_t i = 0; i < sd.size(); ++i) {
    EXPECT_EQ(half[i].first, sd[i].first);
    EXPECT_EQ(half[i].second.scalar_type(), sd[i].second.is_floating_point() ? torch::kFloat16 : sd[i].second.scalar_type());
  }
  EXPECT_TRUE(torch::equal(half[2].second, sd[2].second));  // the int64 entry, untouched
  // Weights 3x6 + bias 3 in float32 (84 bytes) -> 42; the float64 'tiny' 24 -> 6; int64 8 and bool 2 stay.
  EXPECT_EQ(s.bytes_before, 84 + 24 + 8 + 2);
  EXPECT_EQ(s.bytes_after, 42 + 6 + 8 + 2);
  EXPECT_EQ(s.values_flushed, 1);               // 1e-9 is below float16's smallest subnormal (6e-8)
  EXPECT_GT(s.max_rel_error, 0.0);
  EXPECT_LE(s.max_rel_error, std::ldexp(1.0, -11));  // round to nearest, 11-bit significand
  EXPECT_GT(s.max_abs_error, 0.0);

  const std::string path = test::temp_dir("checkpoint_cast") + "/half.pth";
  save_state_dict(path, half);
  torch::nn::Linear back(6, 3);
  load_into_module(*back, load_state_dict(path), /*strict=*/false, path);  // extra entries ignored
  EXPECT_EQ(back->weight.scalar_type(), torch::kFloat32);
  auto x = torch::randn({4, 6});
  EXPECT_LT((back->forward(x) - linear->forward(x)).abs().max().item<double>(), 5e-3);

  // bfloat16 keeps float32's range; float32 from float16 is exact.
  CastSummary b;
  cast_floating(sd, torch::kBFloat16, "m.pth", &b);
  EXPECT_EQ(b.values_flushed, 0);
  EXPECT_LE(b.max_rel_error, std::ldexp(1.0, -8));
  CastSummary f;
  cast_floating(half, torch::kFloat32, "half.pth", &f);
  EXPECT_EQ(f.max_abs_error, 0.0);
}

TEST(Checkpoint, CastFloatingNamesTheTensorItCannotHold) {
  StateDict big = {{"ok", torch::ones({2})}, {"net.scale", torch::tensor({1.0, 7e4})}};
  try {
    cast_floating(big, torch::kFloat16, "big.pth");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("big.pth: 'net.scale' holds 70000, beyond the range of float16"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(cast_floating(big, torch::kBFloat16, "big.pth"));  // bfloat16 holds it
  StateDict nan = {{"w", torch::tensor({1.0, std::nan("")})}};
  EXPECT_THROW(cast_floating(nan, torch::kFloat16, "nan.pth"), Error);
  EXPECT_THROW(cast_floating(big, torch::kInt32, "big.pth"), Error);
}

TEST(Checkpoint, PythonTorchLoadReadsOurFile) {
  if (!python_has_torch()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch";
  const std::string dir = test::temp_dir("checkpoint_python_reads");
  torch::manual_seed(5);
  StateDict sd = {{"p.m_head.weight", torch::randn({4, 2, 3, 3})},
                  {"h.mlp.0.bias", torch::randn({7}, torch::kFloat64)},
                  {"count", torch::tensor({int64_t(41)})}};
  save_state_dict(dir + "/ours.pth", sd);
  const std::string script = dir + "/read.py";
  std::ofstream(script) << "import torch, sys\n"
                           "d = torch.load(sys.argv[1])\n"
                           "assert isinstance(d, dict), type(d)\n"
                           "for k, v in d.items():\n"
                           "    print(k, tuple(v.shape), str(v.dtype), '%.9e' % v.double().sum().item())\n";
  std::string out;
  ASSERT_EQ(test::run_command("/usr/bin/python3 " + script + " " + dir + "/ours.pth", &out), 0) << out;
  std::ostringstream want;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9e", sd[0].second.to(torch::kFloat64).sum().item<double>());
  want << "p.m_head.weight (4, 2, 3, 3) torch.float32 " << buf << "\n";
  std::snprintf(buf, sizeof buf, "%.9e", sd[1].second.sum().item<double>());
  want << "h.mlp.0.bias (7,) torch.float64 " << buf << "\n";
  want << "count (1,) torch.int64 4.100000000e+01\n";
  EXPECT_EQ(out, want.str());
}

TEST(Checkpoint, ReadsPythonWrappersViewsAndDtypes) {
  if (!python_has_torch()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch";
  const std::string dir = test::temp_dir("checkpoint_python_writes");
  const std::string script = dir + "/write.py";
  // Shared storages with offsets and strides, every supported dtype, single-entry dicts (SETITEM),
  // nested wrappers and non-tensor training metadata.
  std::ofstream(script)
      << "import torch, collections, sys\n"
         "d = sys.argv[1]\n"
         "base = torch.arange(24, dtype=torch.float32).reshape(4, 6)\n"
         "sd = collections.OrderedDict()\n"
         "sd['t'] = base.t()\n"
         "sd['rows'] = base[1:3]\n"
         "sd['col'] = base[:, 2]\n"
         "sd['f64'] = torch.linspace(0, 1, 5, dtype=torch.float64)\n"
         "sd['f16'] = torch.tensor([1.5, -2.25], dtype=torch.float16)\n"
         "sd['bf16'] = torch.tensor([3.0, -0.5], dtype=torch.bfloat16)\n"
         "sd['i64'] = torch.tensor([-(2**40), 7])\n"
         "sd['i32'] = torch.tensor([-3, 9], dtype=torch.int32)\n"
         "sd['u8'] = torch.tensor([200, 1], dtype=torch.uint8)\n"
         "sd['b'] = torch.tensor([True, False])\n"
         "sd['empty'] = torch.zeros(0, 3)\n"
         "torch.save({'model': sd, 'epoch': 12, 'lr': 2e-4, 'name': 'convir'}, d + '/model_wrapper.pkl')\n"
         "torch.save({'model': {'only': torch.ones(2)}}, d + '/single.pth')\n"
         "torch.save({'state_dict': sd}, d + '/state_dict_wrapper.pth')\n"
         "torch.save({'params': sd}, d + '/params_wrapper.pth')\n"
         "torch.save(sd, d + '/legacy.pth', _use_new_zipfile_serialization=False)\n"
         "torch.save([1, 2], d + '/list.pth')\n"
         "torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), d + '/scripted.pt')\n";
  std::string out;
  ASSERT_EQ(test::run_command("/usr/bin/python3 " + script + " " + dir, &out), 0) << out;

  auto base = torch::arange(24, torch::kFloat32).reshape({4, 6});
  for (const std::string file : {"model_wrapper.pkl", "state_dict_wrapper.pth", "params_wrapper.pth"}) {
    SCOPED_TRACE(file);
    const auto sd = load_state_dict(dir + "/" + file);
    ASSERT_EQ(sd.size(), 11u);
    EXPECT_EQ(sd[0].first, "t");
    EXPECT_TRUE(torch::equal(sd[0].second, base.t()));
    EXPECT_TRUE(torch::equal(sd[1].second, base.narrow(0, 1, 2)));
    EXPECT_TRUE(torch::equal(sd[2].second, base.select(1, 2)));
    EXPECT_TRUE(torch::allclose(sd[3].second, torch::linspace(0, 1, 5, torch::kFloat64)));
    EXPECT_EQ(sd[4].second.scalar_type(), torch::kFloat16);
    EXPECT_EQ(sd[4].second.to(torch::kFloat32)[1].item<float>(), -2.25f);
    EXPECT_EQ(sd[5].second.scalar_type(), torch::kBFloat16);
    EXPECT_EQ(sd[5].second.to(torch::kFloat32)[0].item<float>(), 3.0f);
    EXPECT_EQ(sd[6].second[0].item<int64_t>(), -(int64_t(1) << 40));
    EXPECT_EQ(sd[7].second.scalar_type(), torch::kInt32);
    EXPECT_EQ(sd[7].second[0].item<int32_t>(), -3);
    EXPECT_EQ(sd[8].second[0].item<uint8_t>(), 200);
    EXPECT_EQ(sd[9].second.scalar_type(), torch::kBool);
    EXPECT_EQ(sd[10].second.sizes(), torch::IntArrayRef({0, 3}));
  }
  const auto single = load_state_dict(dir + "/single.pth");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].first, "only");

  try {
    load_state_dict(dir + "/legacy.pth");
    FAIL() << "legacy file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("legacy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("_use_new_zipfile_serialization=True"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_state_dict(dir + "/list.pth"), Error);
  try {
    load_state_dict(dir + "/scripted.pt");
    FAIL() << "TorchScript archive accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("TorchScript"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, CorruptAndMissingFilesGiveClearErrors) {
  const std::string dir = test::temp_dir("checkpoint_corrupt");
  try {
    load_state_dict(dir + "/nope.pth");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.pth"), std::string::npos);
  }
  std::ofstream(dir + "/text.pth") << "hello world";
  EXPECT_THROW(load_state_dict(dir + "/text.pth"), Error);
  // A raw pickle stream (what pre-1.6 torch.save wrote) is reported as the legacy format.
  std::ofstream(dir + "/legacy.pth", std::ios::binary) << std::string("\x80\x02\x8a\x0a" "l\xfc\x9c" "F\xf9 j\xa8P\x19.", 15);
  try {
    load_state_dict(dir + "/legacy.pth");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("legacy"), std::string::npos) << e.what();
  }
  // A truncated zip archive.
  StateDict sd = {{"w", torch::randn({64, 64})}};
  save_state_dict(dir + "/good.pth", sd);
  std::ifstream in(dir + "/good.pth", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  expect_same(load_state_dict_from_bytes(bytes, "in-memory"), sd);
  EXPECT_THROW(load_state_dict_from_bytes(bytes.substr(0, bytes.size() / 2), "half"), Error);
}

// A zip archive whose data.pkl is `pickle`, plus raw records (name -> bytes): hand-made hostile files.
void write_raw_checkpoint(const std::string& path, const std::string& pickle,
                          const std::map<std::string, std::string>& records = {}) {
  caffe2::serialize::PyTorchStreamWriter w(path);
  w.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [name, bytes] : records) w.writeRecord(name, bytes.data(), bytes.size());
  w.writeEndOfFile();
}

std::string load_error(const std::string& path) { return test::error_of([&] { load_state_dict(path); }); }

// Issue 28: a pickle nesting lists 200,000 deep crashed every command that loads weights (the
// parsed tree was freed recursively). Now the nesting is bounded with a clear error, and teardown is
// iterative even for nesting the bound cannot see (built through a reused memo slot).
TEST(Checkpoint, HostileNestingIsAnErrorNotACrash) {
  const std::string dir = test::temp_dir("checkpoint_nesting");
  const int n = 200000;
  write_raw_checkpoint(dir + "/deep.pth", std::string("\x80\x02", 2) + std::string(n, ']') + std::string(n - 1, 'a') + ".");
  EXPECT_NE(load_error(dir + "/deep.pth").find("nested deeper than 1000 levels"), std::string::npos)
      << load_error(dir + "/deep.pth");
  // root = []; memo[0] = root; n times: leaf = memo[0]; new = []; memo[0] = new; leaf.append(new).
  std::string chain("\x80\x02]q\x00", 5);
  for (int k = 0; k < n; ++k) chain += std::string("h\x00]q\x00" "a0", 7);
  chain += ".";
  write_raw_checkpoint(dir + "/chain.pth", chain);
  EXPECT_NE(load_error(dir + "/chain.pth").find("expected a dict"), std::string::npos) << load_error(dir + "/chain.pth");
}

// Tensor geometry is checked against its storage without overflow, and a zero-stride view of a tiny
// storage cannot declare billions of elements (issue 28: a 551-byte file made `export` ask for 8 GB).
TEST(Checkpoint, TensorGeometryIsBoundedByItsStorage) {
  const std::string dir = test::temp_dir("checkpoint_geometry");
  auto bin_int = [](int32_t v) {
    std::string b("J");
    for (int k = 0; k < 4; ++k) b.push_back(static_cast<char>((static_cast<uint32_t>(v) >> (8 * k)) & 0xff));
    return b;
  };
  auto str = [](const std::string& t) { return "\x8c" + std::string(1, static_cast<char>(t.size())) + t; };
  // {'w': _rebuild_tensor_v2(storage(float, '0', 'cpu', 4), 0, SIZES, STRIDES)}
  auto pickle = [&](const std::string& sizes, const std::string& strides) {
    return std::string("\x80\x02}", 3) + str("w") + "ctorch._utils\n_rebuild_tensor_v2\n(" + "(" + str("storage") +
           "ctorch\nFloatStorage\n" + str("0") + str("cpu") + bin_int(4) + "tQ" + bin_int(0) + "(" + sizes + "t(" +
           strides + "ttRs.";
  };
  const std::map<std::string, std::string> storage = {{"data/0", std::string(16, '\0')}};
  write_raw_checkpoint(dir + "/ok.pth", pickle(bin_int(2) + bin_int(2), bin_int(2) + bin_int(1)), storage);
  const auto sd = load_state_dict(dir + "/ok.pth");
  ASSERT_EQ(sd.size(), 1u);
  EXPECT_EQ(sd[0].second.sizes(), (std::vector<int64_t>{2, 2}));
  write_raw_checkpoint(dir + "/expanded.pth", pickle(bin_int(1 << 30) + bin_int(8), bin_int(0) + bin_int(0)), storage);
  EXPECT_NE(load_error(dir + "/expanded.pth").find("through zero strides"), std::string::npos)
      << load_error(dir + "/expanded.pth");
  write_raw_checkpoint(dir + "/nan.pth", pickle(bin_int(4), bin_int(1)),
                       {{"data/0", std::string("\0\0\0\0\0\0\xc0\x7f\0\0\0\0\0\0\0\0", 16)}});  // [0, NaN, 0, 0]
  EXPECT_NE(load_error(dir + "/nan.pth").find("'w' holds NaN or Inf"), std::string::npos) << load_error(dir + "/nan.pth");
  write_raw_checkpoint(dir + "/beyond.pth", pickle(bin_int(3) + bin_int(2), bin_int(2) + bin_int(1)), storage);
  EXPECT_NE(load_error(dir + "/beyond.pth").find("exceeds its storage"), std::string::npos);
  // Sizes and strides of 2^40 (8-byte LONG1 ints): the extent overflows int64.
  std::string big("\x8a\x08", 2);
  for (int k = 0; k < 8; ++k) big.push_back(k == 5 ? '\x01' : '\0');
  write_raw_checkpoint(dir + "/overflow.pth", pickle(big + big, big + big), storage);
  EXPECT_NE(load_error(dir + "/overflow.pth").find("overflow"), std::string::npos) << load_error(dir + "/overflow.pth");
}

struct TwoLayer : torch::nn::Module {
  TwoLayer(int64_t hidden) {
    fc1 = register_module("fc1", torch::nn::Linear(3, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, 2));
    register_buffer("scale", torch::ones({2}));
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

TEST(Checkpoint, LoadIntoModuleCopiesAndNamesTheFirstBadKey) {
  TwoLayer src(4), dst(4);
  torch::NoGradGuard g;
  src.named_buffers()["scale"].fill_(3.0);
  auto sd = module_state_dict(src);
  ASSERT_EQ(sd.size(), 5u);
  EXPECT_EQ(sd[0].first, "fc1.weight");
  EXPECT_EQ(sd.back().first, "scale");
  load_into_module(dst, sd);
  EXPECT_TRUE(torch::equal(dst.fc2->weight, src.fc2->weight));
  EXPECT_TRUE(torch::equal(dst.named_buffers()["scale"], torch::full({2}, 3.0)));

  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Missing key: the first one in module order.
  StateDict missing(sd.begin() + 1, sd.end());
  EXPECT_NE(message([&] { load_into_module(dst, missing); }).find("missing key 'fc1.weight'"), std::string::npos);
  EXPECT_NO_THROW(load_into_module(dst, missing, /*strict=*/false));
  // Unexpected key.
  StateDict extra = sd;
  extra.emplace_back("fc3.weight", torch::zeros({1}));
  EXPECT_NE(message([&] { load_into_module(dst, extra); }).find("unexpected key 'fc3.weight'"), std::string::npos);
  // Shape mismatch: another architecture; nothing must be copied.
  TwoLayer wide(5);
  auto before = dst.fc1->weight.clone();
  const auto msg = message([&] { load_into_module(dst, module_state_dict(wide)); });
  EXPECT_NE(msg.find("'fc1.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[5, 3]"), std::string::npos) << msg;
  EXPECT_TRUE(torch::equal(dst.fc1->weight, before));

  EXPECT_EQ(strip_prefix(add_prefix(sd, "p."), "p.").size(), sd.size());
  EXPECT_TRUE(strip_prefix(sd, "p.").empty());
}

}  // namespace
}  // namespace unroll


namespace unroll {
namespace {

// Issue 28: LibTorch's miniz checks no CRC, so a flipped bit used to load; a central directory that
// declares more than the expansion limit is refused before anything is decompressed.
TEST(Checkpoint, CorruptOrExpandingArchivesAreRefused) {
  const std::string dir = test::temp_dir("checkpoint_crc");
  const std::string good = dir + "/good.pth";
  save_state_dict(good, {{"w", torch::arange(64, torch::kFloat32)}});
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_NO_THROW(load_state_dict_from_bytes(bytes, "good"));
  // The float 1.0 (0x3f800000) of element 1 in the stored record: flip one bit of it.
  const std::string one("\x00\x00\x80\x3f", 4);
  const auto at = bytes.find(one);
  ASSERT_NE(at, std::string::npos);
  std::string flipped = bytes;
  flipped[at + 2] = static_cast<char>(flipped[at + 2] ^ 0x01);
  EXPECT_NE(test::error_of([&] { load_state_dict_from_bytes(flipped, "flipped"); }).find("CRC-32"), std::string::npos)
      << test::error_of([&] { load_state_dict_from_bytes(flipped, "flipped"); });
  // A central directory entry (signature PK\1\2) whose uncompressed size claims 400 MB.
  const auto cd = bytes.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(cd, std::string::npos);
  std::string bomb = bytes;
  const uint32_t claimed = 400u << 20;
  for (int k = 0; k < 4; ++k) bomb[cd + 24 + k] = static_cast<char>((claimed >> (8 * k)) & 0xff);
  const std::string msg = test::error_of([&] { load_state_dict_from_bytes(bomb, "bomb"); });
  EXPECT_NE(msg.find("expand to"), std::string::npos) << msg;
  EXPECT_NE(msg.find("UNROLL_MAX_CHECKPOINT_EXPANSION"), std::string::npos) << msg;
}

TEST(Checkpoint, IntegerTensorsDoNotLoadIntoFloatWeights) {
  torch::nn::Linear layer(2, 2);
  StateDict state = module_state_dict(*layer);
  for (auto& [name, t] : state) t = torch::ones(t.sizes(), torch::kInt64);
  const std::string msg = test::error_of([&] { load_into_module(*layer, state, true, "ints.pth"); });
  EXPECT_NE(msg.find("stored as Long"), std::string::npos) << msg;
}

}  // namespace
}  // namespace unroll
