// The experiment plan (experiment/plan.h): layers resolve in order into typed values -- a TrainConfig
// per trained variant --, errors name FILE:LINE: key, and every shipped experiment's variant configs
// survive write_train_config and a read back.
#include "experiment/plan.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "test_util.h"
#include "train/train_config_ini.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

using test::error_of;

const char* kSmall = R"(# a small experiment
[experiment]
name = small
task = unrolled

[model]
nc = 8,16,16,16
nb = 1

[data]
train = data/sample
test = synthetic:/x,kernels=gaussian,size=9
test = dpir:/a:/b

[train]
steps = 50
lr = 1e-4
crop = 32

[eval]
methods = wiener,admm
params = admm.iters=10
limit = 2

[variant.K1]
label = K=1
model.iterations = 1
train.steps = 20

[variant.K2]
model.iterations = 2

[variant.tv]
label = HQS-TV
method = hqs-tv
params = iters=5

[variant.den]
task = denoiser

[size.quick]
train.steps = 4
data.test = synthetic:/y
variant.K2.train.steps = 3
)";

std::string write_config(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = (fs::path(dir) / name).string();
  std::ofstream(path) << text;
  return path;
}

TEST(ExperimentPlan, LayersResolveInOrderIntoTypedConfigs) {
  const std::string dir = test::temp_dir("plan_layers");
  const std::string path = write_config(dir, "small.ini", kSmall);

  const ExperimentPlan full = plan_experiment(path, "", dir + "/out");
  EXPECT_EQ(full.name, "small");
  EXPECT_EQ(full.size, "full");
  EXPECT_EQ(full.config_path, path);
  ASSERT_EQ(full.test_sources.size(), 2u);
  EXPECT_EQ(full.test_sources[0].kind, EvalSource::Kind::Synthetic);
  EXPECT_EQ(full.test_sources[0].kernel_size, 9);
  EXPECT_EQ(full.test_sources[1].kind, EvalSource::Kind::Dpir);
  EXPECT_EQ(full.eval.limit, 2);
  EXPECT_EQ(full.eval_flags, " --limit 2");
  ASSERT_EQ(full.baselines.size(), 2u);
  EXPECT_EQ(full.baselines[1].method, "admm");
  EXPECT_EQ(full.baselines[1].params.at("iters"), 10);
  ASSERT_EQ(full.variants.size(), 4u);

  const ExperimentVariant& k1 = full.variants[0];
  EXPECT_TRUE(k1.trained);
  EXPECT_EQ(k1.label, "K=1");
  EXPECT_EQ(k1.dir, dir + "/out/K1");
  EXPECT_EQ(k1.method.method, "unrolled");
  const TrainConfig& c1 = k1.train;
  EXPECT_EQ(c1.task, "unrolled");
  EXPECT_EQ(c1.name, "small_K1");
  EXPECT_EQ(c1.out_dir, dir + "/out/K1");
  EXPECT_EQ(c1.trainer.out_dir, c1.out_dir);  // finished: derived fields set
  EXPECT_EQ(c1.iterations, 1);
  EXPECT_EQ(c1.trainer.steps, 20);  // the variant overrides the base
  EXPECT_EQ(c1.trainer.lr, 1e-4);
  EXPECT_EQ(c1.trainer.crop, 32);
  EXPECT_EQ(c1.nc_text, "8,16,16,16");
  EXPECT_EQ(c1.train_dir, "data/sample");
  EXPECT_EQ(c1.given, (std::set<std::string>{"experiment.name", "experiment.task", "model.nc", "model.nb",
                                             "model.iterations", "data.train", "train.steps", "train.lr",
                                             "train.crop", "train.out"}));
  EXPECT_EQ(full.variants[1].train.trainer.steps, 50);  // the base's
  EXPECT_EQ(full.variants[1].label, "K2");

  const ExperimentVariant& tv = full.variants[2];
  EXPECT_FALSE(tv.trained);
  EXPECT_EQ(tv.method.method, "hqs-tv");
  EXPECT_EQ(tv.method.params.at("iters"), 5);
  EXPECT_TRUE(tv.dir.empty());

  // A trained denoiser is evaluated as the PnP prior of its own architecture.
  const ExperimentVariant& den = full.variants[3];
  EXPECT_EQ(den.train.task, "denoiser");
  EXPECT_EQ(den.method.method, "pnp");
  EXPECT_EQ(den.method.prior, "resunet");

  // Size quick: its keys come last, its variant keys after them; data.test is replaced, not added to.
  const ExperimentPlan quick = plan_experiment(path, "quick", dir + "/out");
  EXPECT_EQ(quick.variants[0].train.trainer.steps, 4);
  EXPECT_EQ(quick.variants[1].train.trainer.steps, 3);
  EXPECT_EQ(quick.variants[1].train.iterations, 2);
  ASSERT_EQ(quick.test_sources.size(), 1u);
  EXPECT_EQ(quick.test_sources[0].text, "synthetic:/y");
  // The default output folder.
  EXPECT_EQ(plan_experiment(path, "quick").out_dir, "runs/experiments/small/quick");

  // Each variant's config reads back from its train.ini text to the same config.
  for (const auto& v : quick.variants) {
    if (!v.trained) continue;
    std::istringstream in(write_train_config(v.train));
    const TrainConfig back = parse_train_config(parse_ini(in, "train.ini"), "train.ini");
    EXPECT_TRUE(same_train_config(back, v.train)) << v.name;
    EXPECT_EQ(back.given, v.train.given) << v.name;
  }
}

TEST(ExperimentPlan, ErrorsNameFileLineAndKey) {
  const std::string dir = test::temp_dir("plan_errors");
  const std::string head = "[experiment]\nname = e\ntask = unrolled\n[data]\ntrain = t\ntest = synthetic:/x\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {head + "[train]\nsteps = 3\nbatch = many\n", "bad.ini:9: train.batch: expected an integer, got 'many'"},
      {head + "[variant.a]\nmodel.iterations = 2\nmodel.iterations = 3\n",
       "bad.ini:9: variant.a.model.iterations is already set on line 8"},
      {head + "[size.quick]\nvariant.a.train.steps = 3\n", "bad.ini:8: size.quick.variant.a: there is no [variant.a]"},
      {head + "[size.quick]\neval.limit = -1\n[variant.a]\nlabel = A\n", "bad.ini: eval.limit must be >= 0, got -1"},
      {head + "[variant.a]\nmodel.prior_groups = 9\n", "bad.ini [variant.a]: model.prior_groups must be in 1..model.iterations"},
      {head + "[eval]\nmethods = admm\nparams = wiener.nsr=1\n", "eval.params names 'wiener', which is not in eval.methods"},
      {head + "[variant.a]\nmethod = wiener\nmodel.iterations = 2\n", "training keys (model.iterations) need a task"},
      {head + "[train]\nout = x\n", "bad.ini:8: train.out: the experiment chooses"},
      {head + "[data]\ntest = ${UNROLL_PLAN_TEST_UNSET}\n", "bad.ini:8: data.test: uses ${UNROLL_PLAN_TEST_UNSET}"},
      {head + "[eval]\nmetric = best\n[variant.a]\nlabel = A\n", "best"},
      {"[experiment]\nname = bad name\n[data]\ntest = synthetic:/x\n", "experiment.name may hold letters"},
  };
  for (const auto& [text, needle] : cases) {
    const std::string path = write_config(dir, "bad.ini", text);
    const std::string msg = error_of([&] { plan_experiment(path, "quick"); });
    EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in '" << msg << "'\n" << text;
  }
  EXPECT_NE(error_of([&] { plan_experiment(dir + "/none.ini"); }).find(dir + "/none.ini: cannot open"),
            std::string::npos);
  const std::string ok = write_config(dir, "ok.ini", head + "[variant.a]\nlabel = A\n");
  EXPECT_NE(error_of([&] { plan_experiment(ok, "medium"); }).find("--size must be quick or full, got 'medium'"),
            std::string::npos);
}

// Every shipped experiment at both sizes: every trained variant's config is finished and valid, and it
// reads back from the train.ini text write_train_config gives to the same config.
TEST(ExperimentPlan, ShippedExperimentsWriteTrainConfigsThatReadBack) {
  ::setenv("CIFAR10", "/cifar-10-batches-bin", 1);  // only substituted; nothing is opened
  int trained = 0;
  for (const auto& e : fs::directory_iterator(fs::path(UNROLL_SOURCE_DIR) / "experiments")) {
    std::ifstream f(e.path());
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (e.path().extension() != ".ini" || text.find("[variant.") == std::string::npos) continue;
    for (const char* size : {"quick", "full"}) {
      const ExperimentPlan plan = plan_experiment(e.path().string(), size, "/tmp/out");
      for (const auto& v : plan.variants) {
        if (!v.trained) continue;
        ++trained;
        const std::string what = e.path().filename().string() + " " + size + " " + v.name;
        std::istringstream in(write_train_config(v.train));
        const TrainConfig back = parse_train_config(parse_ini(in, what), what);
        EXPECT_TRUE(same_train_config(back, v.train)) << what;
        EXPECT_EQ(back.given, v.train.given) << what;
        EXPECT_EQ(back.out_dir, "/tmp/out/" + v.name) << what;
      }
    }
  }
  ::unsetenv("CIFAR10");
  EXPECT_GE(trained, 20);
}

}  // namespace
}  // namespace unroll
