// `unroll train` as CI runs it: the smoke config (a few steps on 32x32 crops of the bundled sample)
// trains, writes atomic checkpoints, resumes instead of retraining, and rejects bad configs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/checkpoint.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

#ifdef UNROLL_EXE
int train(const std::string& args, std::string* out) {
  return test::run_command("cd " + std::string(UNROLL_SOURCE_DIR) + " && OMP_NUM_THREADS=1 " + UNROLL_EXE + " train " + args, out);
}

TEST(TrainCli, SmokeRunCheckpointsAndResumes) {
  const std::string dir = test::temp_dir("train_smoke");
  std::string out;
  ASSERT_EQ(train("--config experiments/smoke_denoiser.ini --out " + dir, &out), 0) << out;
  EXPECT_NE(out.find("trained steps 0..12"), std::string::npos) << out;
  for (const char* f : {"model.pth", "resume.pt", "train_log.csv", "config.ini"}) EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos);
  auto weights = load_state_dict(dir + "/model.pth");
  EXPECT_FALSE(weights.empty());
  // Running again continues from the checkpoint (nothing left to do) and keeps the weights.
  ASSERT_EQ(train("--config experiments/smoke_denoiser.ini --out " + dir, &out), 0) << out;
  EXPECT_NE(out.find("trained steps 12..12"), std::string::npos) << out;
  auto again = load_state_dict(dir + "/model.pth");
  ASSERT_EQ(again.size(), weights.size());
  for (size_t i = 0; i < weights.size(); ++i) EXPECT_TRUE(torch::equal(again[i].second, weights[i].second));
  // More steps extend the run.
  ASSERT_EQ(train("--config experiments/smoke_denoiser.ini --steps 16 --out " + dir, &out), 0) << out;
}

TEST(TrainCli, BadConfigsNameTheProblem) {
  const std::string dir = test::temp_dir("train_bad");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  std::string out;
  EXPECT_NE(train("--config " + write("unknown.ini", "[experiment]\ntask = denoiser\n[train]\nstepz = 3\n"), &out), 0);
  EXPECT_NE(out.find("train.stepz"), std::string::npos) << out;
  EXPECT_NE(train("--config " + write("task.ini", "[experiment]\ntask = dance\n[data]\ntrain = data/sample\n"), &out), 0);
  EXPECT_NE(out.find("experiment.task"), std::string::npos) << out;
  EXPECT_NE(train("--config " + write("lr.ini", "[experiment]\ntask = denoiser\n[data]\ntrain = data/sample\n[train]\nlr = -1\nout = " + dir + "/run\n"), &out), 0);
  EXPECT_NE(out.find("lr"), std::string::npos) << out;
  EXPECT_NE(train("--config " + dir + "/missing.ini", &out), 0);
  EXPECT_NE(out.find("missing.ini"), std::string::npos) << out;
  EXPECT_NE(out.find("error: "), std::string::npos) << out;
}
#endif

}  // namespace
}  // namespace unroll
