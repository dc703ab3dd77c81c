// Experiments (eval/experiment.h): training is done once and reused, changed configs and unfinished
// runs are refused unless told, the report and the plot are well-formed.
#include "eval/experiment.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "datasets_io/fake_datasets.h"
#include "eval/report.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A plan whose "trained" variants are evaluated with wiener (which ignores weights), so the runner's
// bookkeeping is tested without real training.
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
  plan.test_sources = {"synthetic:" + (fs::path(root) / "sharp").string() + ",kernels=gaussian,size=7"};
  plan.baselines = {EvalMethod{"", "admm", {{"iters", 5}}, "", ""}};
  plan.eval.progress = false;
  plan.eval.grids = 1;
  for (const std::string name : {"A", "B"}) {
    ExperimentVariant v;
    v.name = name;
    v.label = "variant " + name;
    v.trained = true;
    v.task = "denoiser";
    v.train_config = "[experiment]\ntask = denoiser\n# " + name + "\n";
    v.dir = (fs::path(plan.out_dir) / name).string();
    v.method = EvalMethod{"", "wiener", {}, "", ""};
    v.settings = {{"train.steps", "3"}};
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
  std::vector<std::pair<std::string, bool>> calls;
  auto train = [&](const ExperimentVariant& v, bool resume) {
    calls.push_back({v.name, resume});
    EXPECT_EQ(read_text(fs::path(v.dir) / "train.ini"), v.train_config);  // written before training
    TrainingOutcome o;
    o.steps = 3;
    o.seconds = 1.5;
    o.val_psnr = 20.0;
    return o;
  };
  auto result = run_experiment(plan, train);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_FALSE(calls[0].second);
  ASSERT_EQ(result.eval.datasets.size(), 1u);
  ASSERT_EQ(result.eval.datasets[0].methods.size(), 4u);  // admm, variant A, variant B, tv
  EXPECT_EQ(result.eval.datasets[0].methods[1].method, "variant A");
  EXPECT_EQ(result.eval.datasets[0].methods[1].ok, 2);
  write_experiment_report(plan, result);
  for (const char* f :
       {"report.md", "psnr.png", "eval/results.csv", "eval/summary.json", "eval/summary.md", "A/done.json"})
    EXPECT_TRUE(fs::exists(fs::path(plan.out_dir) / f)) << f;
  auto done = nlohmann::json::parse(read_text(fs::path(plan.out_dir) / "A" / "done.json"));
  EXPECT_EQ(done["steps"], 3);
  const std::string md = read_text(fs::path(plan.out_dir) / "report.md");
  for (const char* needle : {"# Experiment unit (size quick)", "Bookkeeping test.", "| variant A | trained denoiser |",
                             "| admm | method |", "| tv | variant |", "![PSNR per variant](psnr.png)", "## Reproduce",
                             "build/unroll train --config", "--methods hqs-tv", "## Timing"})
    EXPECT_NE(md.find(needle), std::string::npos) << needle << "\n" << md;
  auto plot = read_image((fs::path(plan.out_dir) / "psnr.png").string());
  EXPECT_EQ(plot.size(1), 3);
  EXPECT_GT(plot.size(3), 300);

  // Second run: nothing is trained again; the report says so.
  calls.clear();
  auto again = run_experiment(plan, train);
  EXPECT_TRUE(calls.empty());
  EXPECT_TRUE(again.training.at("A").reused);
  EXPECT_NE(experiment_report_markdown(plan, again).find("finished earlier, reused"), std::string::npos);

  // A changed config is refused, naming the folder.
  auto changed = plan;
  changed.variants[0].train_config += "# changed\n";
  const std::string msg = test::error_of([&] { run_experiment(changed, train); });
  EXPECT_NE(msg.find("differs"), std::string::npos) << msg;
  EXPECT_NE(msg.find(plan.variants[0].dir), std::string::npos) << msg;
  EXPECT_TRUE(calls.empty());
}

TEST(Experiment, OnlyEvalAndUnfinishedRuns) {
  const std::string root = test::temp_dir("experiment_resume");
  auto plan = small_plan(root);
  int trained = 0;
  bool resumed = false;
  auto train = [&](const ExperimentVariant&, bool resume) {
    ++trained;
    resumed = resumed || resume;
    return TrainingOutcome{};
  };
  ExperimentRunOptions only_eval;
  only_eval.only_eval = true;
  EXPECT_NE(test::error_of([&] { run_experiment(plan, train, only_eval); }).find("not trained yet"), std::string::npos);
  // An interrupted run: a checkpoint without done.json.
  fs::create_directories(plan.variants[0].dir);
  std::ofstream(fs::path(plan.variants[0].dir) / "resume.pt") << "checkpoint";
  EXPECT_NE(test::error_of([&] { run_experiment(plan, train); }).find("--resume"), std::string::npos);
  EXPECT_EQ(trained, 0);  // refused before any training
  ExperimentRunOptions resume;
  resume.resume = true;
  run_experiment(plan, train, resume);
  EXPECT_EQ(trained, 2);
  EXPECT_TRUE(resumed);
  // Bad plans fail before training.
  auto bad = plan;
  bad.test_sources = {"gopro:" + root + "/nothing"};
  EXPECT_THROW(run_experiment(bad, train), Error);
  auto dup = plan;
  dup.variants[1].label = "variant A";
  EXPECT_NE(test::error_of([&] { run_experiment(dup, train); }).find("used twice"), std::string::npos);
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
