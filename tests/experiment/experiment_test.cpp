// Experiments (experiment/experiment.h): training is done once and reused (also from a train.ini
// spelt differently), changed configs and unfinished runs are refused unless told, bad plans fail
// before any training, the report and the plot are well-formed.
#include "experiment/experiment.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "datasets_io/fake_datasets.h"
#include "eval/report.h"
#include "io/image_io.h"
#include "test_util.h"
#include "train/train_config_ini.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// A tiny denoiser trained for two steps on crops of `images`, into `dir`.
TrainConfig tiny_denoiser(const std::string& images, const std::string& dir, const std::string& name) {
  TrainConfig c;
  c.source = "unit.ini [variant." + name + "]";
  c.name = "unit_" + name;
  c.task = "denoiser";
  c.nc_text = "8,8,8,8";
  c.nb = 1;
  c.train_dir = images;
  c.trainer.steps = 2;
  c.trainer.batch = 2;
  c.trainer.crop = 16;
  c.trainer.checkpoint_every = 0;
  c.trainer.validate_every = 0;
  c.trainer.progress = false;
  c.out_dir = dir;
  c.given = {"experiment.name", "experiment.task", "model.nc", "model.nb", "data.train", "train.steps",
             "train.batch", "train.crop", "train.checkpoint_every", "train.validate_every", "train.out"};
  finish_train_config(c);
  return c;
}

// A plan whose trained variants are tiny denoisers evaluated with wiener (which ignores weights), so
// the runner's bookkeeping is tested with real (two-step) trainings.
ExperimentPlan small_plan(const std::string& root) {
  for (int i = 0; i < 2; ++i)
    test::put(fs::path(root) / "sharp" / ("s" + std::to_string(i) + ".png"), test::test_image(3, 24, 24, i));
  ExperimentPlan plan;
  plan.name = "unit";
  plan.size = "quick";
  plan.description = "Bookkeeping test.";
  plan.config_path = "unit.ini";
  plan.command = "build/unroll experiment unit.ini";
  plan.out_dir = (fs::path(root) / "out").string();
  plan.test_sources = {
      parse_eval_source("synthetic:" + (fs::path(root) / "sharp").string() + ",kernels=gaussian,size=7")};
  plan.baselines = {EvalMethod{"", "admm", {{"iters", 5}}, "", ""}};
  plan.eval.progress = false;
  plan.eval.grids = 1;
  for (const std::string name : {"A", "B"}) {
    ExperimentVariant v;
    v.name = name;
    v.label = "variant " + name;
    v.trained = true;
    v.dir = (fs::path(plan.out_dir) / name).string();
    v.train = tiny_denoiser((fs::path(root) / "sharp").string(), v.dir, name);
    v.method = EvalMethod{"", "wiener", {}, "", ""};
    v.settings = {{"train.steps", "2"}};
    plan.variants.push_back(v);
  }
  ExperimentVariant m;
  m.name = "tv";
  m.method = EvalMethod{"", "hqs-tv", {}, "", ""};
  plan.variants.push_back(m);
  return plan;
}

TEST(Experiment, TrainsOnceReusesAndReports) {
  const std::string root = test::temp_dir("experiment_unit");
  auto plan = small_plan(root);
  auto result = run_experiment(plan);
  ASSERT_EQ(result.training.size(), 2u);
  EXPECT_FALSE(result.training.at("A").reused);
  EXPECT_EQ(result.training.at("A").steps, 2);
  ASSERT_EQ(result.eval.datasets.size(), 1u);
  ASSERT_EQ(result.eval.datasets[0].methods.size(), 4u);  // admm, variant A, variant B, tv
  EXPECT_EQ(result.eval.datasets[0].methods[1].method, "variant A");
  EXPECT_EQ(result.eval.datasets[0].methods[1].ok, 2);
  // train.ini: where it came from, then the variant's config, which reads back to the same config.
  const fs::path ini = fs::path(plan.variants[0].dir) / "train.ini";
  EXPECT_EQ(read_text(ini), variant_train_ini(plan, plan.variants[0]));
  EXPECT_EQ(read_text(ini).rfind("# Written by `unroll experiment unit.ini` (size quick) for variant A.", 0), 0u);
  EXPECT_TRUE(same_train_config(read_train_config(ini.string()), plan.variants[0].train));
  write_experiment_report(plan, result);
  for (const char* f : {"report.md", "psnr.png", "eval/results.csv", "eval/summary.json", "eval/summary.md",
                        "A/done.json", "A/model.pth", "B/model.pth"})
    EXPECT_TRUE(fs::exists(fs::path(plan.out_dir) / f)) << f;
  auto done = nlohmann::json::parse(read_text(fs::path(plan.out_dir) / "A" / "done.json"));
  EXPECT_EQ(done["steps"], 2);
  const std::string md = read_text(fs::path(plan.out_dir) / "report.md");
  for (const char* needle : {"# Experiment unit (size quick)", "Bookkeeping test.", "| variant A | trained denoiser |",
                             "| admm | method |", "| tv | variant |", "![PSNR per variant](psnr.png)", "## Reproduce",
                             "build/unroll train --config", "--methods hqs-tv", "## Timing"})
    EXPECT_NE(md.find(needle), std::string::npos) << needle << "\n" << md;
  auto plot = read_image((fs::path(plan.out_dir) / "psnr.png").string());
  EXPECT_EQ(plot.size(1), 3);
  EXPECT_GT(plot.size(3), 300);

  // Second run: nothing is trained again; the report says so.
  const auto model_time = fs::last_write_time(fs::path(plan.out_dir) / "A" / "model.pth");
  auto again = run_experiment(plan);
  EXPECT_TRUE(again.training.at("A").reused);
  EXPECT_TRUE(again.training.at("B").reused);
  EXPECT_EQ(fs::last_write_time(fs::path(plan.out_dir) / "A" / "model.pth"), model_time);
  EXPECT_NE(experiment_report_markdown(plan, again).find("finished earlier, reused"), std::string::npos);

  // A train.ini of the same config spelt otherwise (as an earlier version wrote it: another key order,
  // the values as the user typed them) is the same config: reused.
  std::ofstream(ini) << "# Written by an earlier unroll\n\n[experiment]\nname = unit_A\ntask = denoiser\n"
                     << "[train]\nsteps = 2\nbatch = 2\ncrop = 16\ncheckpoint_every = 0\nvalidate_every = 0\n"
                     << "out = " << plan.variants[0].dir << "\n[model]\nnb = 1\nnc = 8,8,8,8\n[data]\ntrain = "
                     << plan.variants[0].train.train_dir << "\n";
  EXPECT_TRUE(run_experiment(plan).training.at("A").reused);

  // A changed config is refused, naming the folder.
  auto changed = plan;
  changed.variants[0].train.trainer.steps = 3;
  std::string msg = test::error_of([&] { run_experiment(changed); });
  EXPECT_NE(msg.find("differs"), std::string::npos) << msg;
  EXPECT_NE(msg.find(plan.variants[0].dir), std::string::npos) << msg;
  // So is a train.ini that does not read.
  std::ofstream(ini) << "[train]\nstepz = 2\n";
  msg = test::error_of([&] { run_experiment(plan); });
  EXPECT_NE(msg.find("differs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train.stepz: unknown key"), std::string::npos) << msg;
}

TEST(Experiment, OnlyEvalUnfinishedRunsAndBadPlans) {
  const std::string root = test::temp_dir("experiment_resume");
  auto plan = small_plan(root);
  ExperimentRunOptions only_eval;
  only_eval.only_eval = true;
  EXPECT_NE(test::error_of([&] { run_experiment(plan, only_eval); }).find("not trained yet"), std::string::npos);
  // Bad plans fail before any training: missing data, duplicate labels, missing training images.
  auto bad = plan;
  bad.test_sources = {parse_eval_source("gopro:" + root + "/nothing")};
  EXPECT_THROW(run_experiment(bad), Error);
  auto dup = plan;
  dup.variants[1].label = "variant A";
  EXPECT_NE(test::error_of([&] { run_experiment(dup); }).find("used twice"), std::string::npos);
  auto no_images = plan;
  no_images.variants[1].train.train_dir = root + "/no_images";
  const std::string msg = test::error_of([&] { run_experiment(no_images); });
  EXPECT_NE(msg.find("unit.ini [variant.B]: data.train"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(plan.variants[0].dir));  // variant A was not trained first

  // An interrupted run: a checkpoint without done.json is refused unless resumed.
  run_experiment(plan);
  fs::remove(fs::path(plan.variants[0].dir) / "done.json");
  ASSERT_TRUE(fs::exists(fs::path(plan.variants[0].dir) / "resume.pt"));
  EXPECT_NE(test::error_of([&] { run_experiment(plan); }).find("--resume"), std::string::npos);
  ExperimentRunOptions resume;
  resume.resume = true;
  const auto resumed = run_experiment(plan, resume);
  EXPECT_FALSE(resumed.training.at("A").reused);
  EXPECT_EQ(resumed.training.at("A").first_step, 2);  // continued from its last checkpoint: nothing left
  EXPECT_TRUE(resumed.training.at("B").reused);
  EXPECT_TRUE(fs::exists(fs::path(plan.variants[0].dir) / "done.json"));
}

TEST(LinePlot, DrawsSeriesAndRejectsBadInput) {
  const std::string dir = test::temp_dir("line_plot");
  const std::string path = dir + "/plot.png";
  write_line_plot(path, "K ablation", "PSNR (dB)", {"K=1", "K=2", "K=4", "K=8"},
                  {{"dpir", {24.1, 26.3, std::nan(""), 28.0}}, {"synthetic", {20.0, 21.5, 22.0, 23.5}}});
  auto img = read_image(path);
  ASSERT_EQ(img.size(1), 3);
  // Something coloured was drawn (the series), not only black text on white.
  auto rgb = img[0];
  auto colourful = ((std::get<0>(rgb.max(0)) - std::get<0>(rgb.min(0))) > 0.3).sum().item<int64_t>();
  EXPECT_GT(colourful, 200);
  EXPECT_THROW(write_line_plot(path, "t", "y", {"a", "b"}, {{"s", {1.0}}}), Error);
  EXPECT_THROW(write_line_plot(path, "t", "y", {"a"}, {{"s", {std::nan("")}}}), Error);
  EXPECT_THROW(write_line_plot(path, "t", "y", {}, {}), Error);
  write_line_plot(dir + "/flat.png", "one value", "y", {"only"}, {{"s", {5.0}}});  // degenerate range is fine
  EXPECT_TRUE(fs::exists(dir + "/flat.png"));
}

}  // namespace
}  // namespace unroll
