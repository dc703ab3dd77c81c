// `unroll experiment` as a user runs it: a tiny experiment on the bundled sample trains, evaluates and
// writes a well-formed report.md and plot in seconds, reuses its checkpoints when run again, and bad
// configs give one error naming the key and its line. The shipped configs parse (--dry-run).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "datasets_io/fake_datasets.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

#ifdef UNROLL_EXE
int experiment(const std::string& args, std::string* out, const std::string& env = "") {
  return test::run_command("cd " + std::string(UNROLL_SOURCE_DIR) + " && " + env + " OMP_NUM_THREADS=1 " + UNROLL_EXE +
                               " experiment " + args,
                           out);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Two unrolled variants (K = 1, 2) of a tiny network trained for a few steps on crops of the bundled
// sample, a method variant and two baselines, evaluated on the sample blurred on the fly.
const char* kTinyConfig = R"(# tiny experiment for tests/cli/experiment_test.cpp
[experiment]
name = tiny
task = unrolled
description = Smoke test of unroll experiment.

[model]
nc = 8,16,16,16
nb = 1

[data]
train = data/sample
val = data/sample
test = synthetic:data/sample,kernels=gaussian,size=9,noise=2.55,crop=64

[train]
steps = 50
batch = 2
crop = 32
kernel_size = 9
checkpoint_every = 2
validate_every = 4

[eval]
methods = wiener,admm
params = admm.iters=10
grids = 1

[variant.K1]
label = K=1
model.iterations = 1

[variant.K2]
label = K=2
model.iterations = 2

[variant.tv]
label = HQS-TV
method = hqs-tv

[size.quick]
train.steps = 4
variant.K2.train.steps = 3
)";

TEST(ExperimentCli, TinyExperimentEndToEnd) {
  const fs::path dir = test::temp_dir("experiment_cli_tiny");
  std::ofstream(dir / "tiny.ini") << kTinyConfig;
  const std::string out = (dir / "out").string();
  std::string log;
  ASSERT_EQ(experiment((dir / "tiny.ini").string() + " --size quick --out " + out, &log), 0) << log;
  for (const char* f : {"report.md", "psnr.png", "K1/train.ini", "K1/model.pth", "K1/done.json", "K2/model.pth",
                        "eval/results.csv", "eval/summary.json", "eval/summary.md"})
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;
  EXPECT_FALSE(fs::exists(fs::path(out) / "tv"));  // a method variant trains nothing
  // The size's override reached the training config, and the variant's key too.
  const std::string ini = read_text(fs::path(out) / "K2" / "train.ini");
  EXPECT_NE(ini.find("steps = 3"), std::string::npos) << ini;  // [size.quick] variant.K2.train.steps wins
  EXPECT_NE(read_text(fs::path(out) / "K1" / "train.ini").find("steps = 4"), std::string::npos);
  EXPECT_NE(ini.find("iterations = 2"), std::string::npos) << ini;
  EXPECT_NE(ini.find("out = " + out + "/K2"), std::string::npos) << ini;
  const std::string md = read_text(fs::path(out) / "report.md");
  for (const char* needle :
       {"# Experiment tiny (size quick)", "| method / variant | kind | PSNR (dB) |", "| K=1 | trained unrolled |",
        "| K=2 | trained unrolled |", "| HQS-TV | variant |", "| wiener | method |", "| blurred input |",
        "![PSNR per variant](psnr.png)", "build/unroll train --config", "## Timing"})
    EXPECT_NE(md.find(needle), std::string::npos) << needle << "\n" << md;
  auto plot = read_image((fs::path(out) / "psnr.png").string());
  EXPECT_GT(plot.size(3), 300);
  auto j = nlohmann::json::parse(read_text(fs::path(out) / "eval" / "summary.json"));
  ASSERT_EQ(j["datasets"].size(), 1u);
  EXPECT_EQ(j["datasets"][0]["methods"].size(), 5u);
  // The reproduce command of a variant works as written (its train.ini resumes at the end: nothing to do).
  std::string train_log;
  ASSERT_EQ(test::run_command("cd " + std::string(UNROLL_SOURCE_DIR) + " && OMP_NUM_THREADS=1 " + UNROLL_EXE +
                                  " train --config " + out + "/K1/train.ini",
                              &train_log),
            0)
      << train_log;
  EXPECT_NE(train_log.find("trained steps 4..4"), std::string::npos) << train_log;

  // Running again reuses both trainings; --only-eval too.
  ASSERT_EQ(experiment((dir / "tiny.ini").string() + " --size quick --out " + out, &log), 0) << log;
  EXPECT_EQ(log.find("training K1"), std::string::npos) << log;
  EXPECT_NE(read_text(fs::path(out) / "report.md").find("finished earlier, reused"), std::string::npos);
  ASSERT_EQ(experiment((dir / "tiny.ini").string() + " --size quick --only-eval --out " + out, &log), 0) << log;
  // A changed variant is refused instead of silently mixing configs.
  std::string changed = kTinyConfig;
  changed.replace(changed.find("model.iterations = 2"), 20, "model.iterations = 3");
  std::ofstream(dir / "tiny.ini") << changed;
  EXPECT_NE(experiment((dir / "tiny.ini").string() + " --size quick --out " + out, &log), 0);
  EXPECT_NE(log.find("differs"), std::string::npos) << log;
  // --only-eval with a variant that never trained.
  EXPECT_NE(
      experiment((dir / "tiny.ini").string() + " --size quick --only-eval --out " + (dir / "fresh").string(), &log), 0);
  EXPECT_NE(log.find("not trained yet"), std::string::npos) << log;
}

// End-to-end networks (task deblur) train as variants and are evaluated blind with their family's method.
TEST(ExperimentCli, EndToEndVariantsTrainAndEvaluateBlind) {
  const fs::path dir = test::temp_dir("experiment_cli_e2e");
  std::ofstream(dir / "e2e.ini") << R"([experiment]
name = e2e
task = deblur
[data]
train = data/sample
test = synthetic:data/sample,kernels=gaussian,size=9,noise=2.55,crop=64
[train]
steps = 2
batch = 2
crop = 32
kernel_size = 9
[eval]
methods = wiener
[variant.atrous]
label = ATROUS_NET
model.family = atrous
[variant.seed]
label = ConvIR seed-000
model.family = convir-seed
[variant.att]
label = attention prior
task = denoiser
model.family = attention-unet
)";
  const std::string out = (dir / "out").string();
  std::string log;
  ASSERT_EQ(experiment((dir / "e2e.ini").string() + " --out " + out, &log), 0) << log;
  const std::string md = read_text(fs::path(out) / "report.md");
  for (const char* needle : {"| ATROUS_NET | trained deblur |", "| ConvIR seed-000 | trained deblur |",
                             "evaluated with `atrous`", "evaluated with `convir`",
                             "| attention prior | trained denoiser |"})
    EXPECT_NE(md.find(needle), std::string::npos) << needle << "\n" << md;
  // Each trained denoiser is evaluated as the PnP prior of its own architecture.
  EXPECT_EQ(md.find("failed"), std::string::npos) << md;
}

TEST(ExperimentCli, BadConfigsNameTheKeyAndLine) {
  const fs::path dir = test::temp_dir("experiment_cli_bad");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  const std::string head =
      "[experiment]\nname = bad\ntask = unrolled\n[data]\ntrain = data/sample\ntest = synthetic:data/sample\n";
  struct Case {
    std::string name, text, needle;
  };
  const std::vector<Case> cases = {
      {"unknown.ini", head + "[eval]\nlimt = 3\n", "unknown.ini:8: eval.limt: unknown key"},
      {"value.ini", head + "[eval]\nlimit = many\n", "value.ini:8: eval.limit"},
      {"train_value.ini", head + "[train]\nsteps = -x\n", "train_value.ini:8: train.steps"},
      {"variant_key.ini", head + "[variant.a]\nmodel.iteratoins = 2\n",
       "variant_key.ini:8: variant.a.model.iteratoins: unknown key"},
      {"variant_value.ini", head + "[variant.a]\nmodel.iterations = two\n",
       "variant_value.ini:8: variant.a.model.iterations"},
      {"size.ini", head + "[size.medium]\ntrain.steps = 3\n", "unknown size 'medium'"},
      {"out.ini", head + "[train]\nout = somewhere\n", "out.ini:8: train.out"},
      {"notest.ini", "[experiment]\nname = x\n[eval]\nmethods = wiener\n", "data.test is required"},
      {"noname.ini", "[data]\ntest = synthetic:data/sample\n[eval]\nmethods = wiener\n", "experiment.name is required"},
      {"env.ini", head + "[variant.a]\nmethod = wiener\nweights = ${UNROLL_TEST_UNSET_VARIABLE}\n",
       "env.ini:9: variant.a.weights: uses ${UNROLL_TEST_UNSET_VARIABLE}, which is not set"},
      {"method.ini", head + "[eval]\nmethods = wiener,magic\n", "unknown method 'magic'"},
      {"param.ini", head + "[eval]\nmethods = admm\nparams = admm.lambdaa=1\n", "eval.params: admm: unknown parameter 'lambdaa'"},
      {"task.ini", head + "[variant.a]\ntask = dance\n", "task must be unrolled, blind-unrolled, denoiser or deblur"},
      {"twice.ini", head + "[eval]\nlimit = 1\nlimit = 2\n", "twice.ini:9: eval.limit is already set on line 8"},
      {"data.ini", "[experiment]\nname = x\n[data]\ntest = gopro_typo:/x\n[eval]\nmethods = wiener\n",
       "unsupported dataset"},
      {"family.ini", head + "[variant.a]\nmodel.family = kaist\n", "model.family must be resunet, attention-unet or convir-s"},
      {"init.ini", head + "[model]\ninit_prior = models/denoiser_small.pth\nnc = 8,8,8,8\n[variant.a]\nlabel = A\n",
       "model.nc cannot be combined with model.init_prior"},
      {"size_variant.ini", head + "[variant.a]\nlabel = A\n[size.quick]\nvariant.nope.train.steps = 3\n",
       "size_variant.ini:10: size.quick.variant.nope: there is no [variant.nope]"},
  };
  for (const auto& c : cases) {
    std::string log;
    EXPECT_NE(experiment(write(c.name, c.text) + " --dry-run", &log), 0) << c.name;
    EXPECT_NE(log.find("error: "), std::string::npos) << c.name << ": " << log;
    EXPECT_NE(log.find(c.needle), std::string::npos) << c.name << ": expected '" << c.needle << "' in\n" << log;
    EXPECT_EQ(log.find("terminate called"), std::string::npos) << log;
  }
  std::string log;
  EXPECT_NE(experiment((dir / "missing.ini").string(), &log), 0);
  EXPECT_NE(log.find("missing.ini"), std::string::npos) << log;
}

// Every shipped experiment config parses and opens its data at both sizes (needs ../shared; CIFAR-10
// is faked for the CIFAR experiment, which otherwise stops with a clear error).
TEST(ExperimentCli, ShippedConfigsParse) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared not present";
  const fs::path cifar = test::temp_dir("experiment_cli_cifar");
  for (int b = 1; b <= 5; ++b) test::write_fake_cifar_batch(cifar / ("data_batch_" + std::to_string(b) + ".bin"), 2);
  test::write_fake_cifar_batch(cifar / "test_batch.bin", 2);
  int configs = 0;
  for (const auto& e : fs::directory_iterator(fs::path(UNROLL_SOURCE_DIR) / "experiments")) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".ini" || read_text(e.path()).find("[variant.") == std::string::npos) continue;
    ++configs;
    for (const char* size : {"quick", "full"}) {
      std::string log;
      EXPECT_EQ(experiment("experiments/" + name + " --size " + size + " --dry-run", &log, "CIFAR10=" + cifar.string()),
                0)
          << name << " " << size << "\n"
          << log;
    }
    if (name.find("cifar") != std::string::npos) {
      std::string log;
      EXPECT_NE(experiment("experiments/" + name + " --dry-run", &log, "env -u CIFAR10"), 0) << log;
      EXPECT_NE(log.find("CIFAR10"), std::string::npos) << log;
    }
  }
  EXPECT_GE(configs, 6);
}
#endif

}  // namespace
}  // namespace unroll
