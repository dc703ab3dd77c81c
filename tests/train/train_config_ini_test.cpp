// The training config as INI (train/train_config_ini.h): every shipped training config reads, writes
// and reads back to the same values and the same given keys; differently spelt files of one config
// compare equal; bad files name FILE:LINE: key.
#include "train/train_config_ini.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {
namespace fs = std::filesystem;

using test::error_of;

/// Every field as text (17 digits), keyed by name.
std::map<std::string, std::string> fields(TrainConfig c) {
  std::map<std::string, std::string> out;
  visit_train_config(c, [&](const char* key, auto& field, const char*) {
    std::ostringstream s;
    s.precision(17);
    s << field;
    out[key] = s.str();
  });
  return out;
}

TrainConfig parse_text(const std::string& text, const std::string& source = "t.ini") {
  std::istringstream in(text);
  return parse_train_config(parse_ini(in, source), source);
}

/// parse(write(c)) == c: the same fields, the same given keys, the same canonical text.
void expect_round_trip(const TrainConfig& c, const std::string& what) {
  const std::string text = write_train_config(c);
  const TrainConfig back = parse_text(text, what);
  EXPECT_EQ(fields(back), fields(c)) << what << "\n" << text;
  EXPECT_EQ(back.given, c.given) << what << "\n" << text;
  EXPECT_EQ(write_train_config(back), text) << what;
  EXPECT_TRUE(same_train_config(back, c)) << what;
}

TEST(TrainConfigIni, ShippedTrainingConfigsRoundTrip) {
  int configs = 0;
  for (const auto& e : fs::directory_iterator(fs::path(UNROLL_SOURCE_DIR) / "experiments")) {
    std::ifstream in(e.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Training configs: an [experiment] task and no variants (experiments are tests/experiment's).
    if (e.path().extension() != ".ini" || text.find("[variant.") != std::string::npos ||
        text.find("\ntask = ") == std::string::npos)
      continue;
    ++configs;
    const TrainConfig c = read_train_config(e.path().string());
    EXPECT_EQ(c.source, e.path().string());
    expect_round_trip(c, e.path().filename().string());
  }
  EXPECT_GE(configs, 15);
}

TEST(TrainConfigIni, WritesOnlyTheGivenKeysInTableOrder) {
  const TrainConfig c = parse_text(
      "[train]\nsteps = 30\nlr = 1e-4\n[experiment]\ntask = unrolled\n[model]\nshared_prior = false\n"
      "iterations = 4\n[data]\ntrain = data/sample\n");
  EXPECT_EQ(c.prior_groups, 4);  // derived by finish_train_config, not given
  EXPECT_EQ(write_train_config(c),
            "[experiment]\ntask = unrolled\n\n[model]\niterations = 4\nshared_prior = 0\n\n[data]\ntrain = "
            "data/sample\n\n[train]\nsteps = 30\nlr = 0.0001\n");
  expect_round_trip(c, "derived");
}

TEST(TrainConfigIni, SameConfigHoweverSpelt) {
  const TrainConfig a = parse_text(
      "[experiment]\ntask = denoiser\nname = x\n[model]\nnc = 8,16,16,16\nglobal_residual = true\n"
      "[train]\nlr = 1e-4\nsteps = 20\n# a comment\n");
  const TrainConfig b = parse_text(
      "# written in another order, with other spellings\n[train]\nsteps = 20   # twenty\nlr = 0.0001\n"
      "[model]\nglobal_residual = 1\nnc = 8,16,16,16\n[experiment]\nname = x\ntask = denoiser\n", "other.ini");
  EXPECT_TRUE(same_train_config(a, b));
  TrainConfig c = b;
  c.trainer.steps = 21;
  EXPECT_FALSE(same_train_config(a, c));
  // A key set to its default is still a different config: c.given decides what applies.
  const TrainConfig d = parse_text(
      "[experiment]\ntask = denoiser\nname = x\n[model]\nnc = 8,16,16,16\nglobal_residual = true\nnb = 2\n"
      "[train]\nlr = 1e-4\nsteps = 20\n");
  EXPECT_FALSE(same_train_config(a, d));
}

TEST(TrainConfigIni, BadFilesNameTheLineAndTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[experiment]\ntask = denoiser\n[train]\nstepz = 3\n", "t.ini:4: train.stepz: unknown key"},
      {"[experiment]\ntask = denoiser\n[train]\nsteps = -x\n", "t.ini:4: train.steps: expected an integer, got '-x'"},
      {"[experiment]\ntask = denoiser\n[train]\nseed = -1\n", "t.ini:4: train.seed: expected a non-negative integer"},
      {"[experiment]\ntask = denoiser\n[model]\nglobal_residual = maybe\n", "t.ini:4: model.global_residual"},
      {"[experiment]\ntask = denoiser\n[train]\nlr = fast\n", "t.ini:4: train.lr: expected a finite number"},
      {"[experiment]\ntask = denoiser\n[train]\nsteps = 3\n\nsteps = 4\n",
       "t.ini:6: train.steps is already set on line 4"},
      {"task = denoiser\n", "t.ini:1: task: unknown key"},
      {"[experiment]\ntask = dance\n", "t.ini: experiment.task must be denoiser, unrolled, blind-unrolled or deblur"},
      {"[model]\nnb = 1\n", "t.ini: experiment.task is required"},
      {"[experiment]\ntask denoiser\n", "t.ini:2: expected key = value"},
  };
  for (const auto& [text, needle] : cases) {
    const std::string msg = error_of([&] { parse_text(text); });
    EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in '" << msg << "'";
  }
  const std::string dir = test::temp_dir("train_config_ini");
  EXPECT_NE(error_of([&] { read_train_config(dir + "/none.ini"); }).find(dir + "/none.ini: cannot open"),
            std::string::npos);
  TrainConfig c = parse_text("[experiment]\ntask = denoiser\n");
  c.train_dir = "images#1";
  c.given.insert("data.train");
  EXPECT_NE(error_of([&] { write_train_config(c); }).find("data.train = 'images#1' cannot be written"),
            std::string::npos);
}

}  // namespace
}  // namespace unroll
