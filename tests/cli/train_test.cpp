// `unroll train` as CI runs it: the smoke config (a few steps on 32x32 crops of the bundled sample)
// trains, writes atomic checkpoints, resumes instead of retraining, and rejects bad configs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/checkpoint.h"
#include "core/unroll_format.h"
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
  // More steps extend the run; --device names where (the checkpoint resumes on any device).
  ASSERT_EQ(train("--config experiments/smoke_denoiser.ini --steps 16 --device cpu --out " + dir, &out), 0) << out;
  EXPECT_NE(out.find("trained steps 12..16"), std::string::npos) << out;
}

// A run checkpointed on the CPU resumes on CUDA and back (only where LibTorch has a CUDA device).
TEST(TrainCli, CheckpointsMoveBetweenDevices) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::string dir = test::temp_dir("train_devices");
  std::string out;
  ASSERT_EQ(train("--config experiments/smoke_denoiser.ini --steps 8 --out " + dir, &out), 0) << out;
  ASSERT_EQ(train("--config experiments/smoke_denoiser.ini --steps 12 --device cuda --out " + dir, &out), 0) << out;
  EXPECT_NE(out.find("trained steps 8..12"), std::string::npos) << out;
  ASSERT_EQ(train("--config experiments/smoke_denoiser.ini --steps 14 --device cpu --out " + dir, &out), 0) << out;
  EXPECT_NE(out.find("trained steps 12..14"), std::string::npos) << out;
}

TEST(TrainCli, EndToEndSmokeRunDeblursBlindFromItsCheckpoint) {
  const std::string dir = test::temp_dir("train_smoke_deblur");
  std::string out;
  ASSERT_EQ(train("--config experiments/smoke_deblur.ini --out " + dir, &out), 0) << out;
  EXPECT_NE(out.find("trained steps 0..6"), std::string::npos) << out;
  ASSERT_TRUE(fs::exists(dir + "/model.pth"));
  const std::string deblur = "cd " + std::string(UNROLL_SOURCE_DIR) + " && " + UNROLL_EXE +
                             " deblur -i data/sample/astronaut.png -m atrous --weights " + dir + "/model.pth -o " +
                             dir + "/x.png";
  ASSERT_EQ(test::run_command(deblur, &out), 0) << out;
  EXPECT_TRUE(fs::exists(dir + "/x.png"));
  // Another family's checkpoint is refused by name.
  ASSERT_NE(test::run_command(deblur.substr(0, deblur.find(" -m ")) + " -m kaist --weights " + dir + "/model.pth -o " +
                                  dir + "/y.png",
                              &out),
            0);
  EXPECT_NE(out.find("error: "), std::string::npos) << out;
  EXPECT_NE(out.find("model.pth"), std::string::npos) << out;

  // model.init_weights fine-tunes from a checkpoint: one step at a vanishing learning rate keeps the
  // start's weights (a fresh initialisation would not), and another family's file is refused up front.
  const std::string tune = dir + "/tune.ini";
  auto write_tune = [&](const std::string& family) {
    std::ofstream(tune) << "[experiment]\ntask = deblur\n[model]\nfamily = " << family << "\ninit_weights = " << dir
                        << "/model.pth\n[data]\ntrain = data/sample\n[train]\nsteps = 1\nbatch = 2\ncrop = 32\n"
                        << "lr = 1e-12\nmin_lr = 1e-12\nkernel_size = 9\nout = " << dir << "/tuned\n";
  };
  write_tune("atrous");
  ASSERT_EQ(train("--config " + tune, &out), 0) << out;
  EXPECT_NE(out.find("starting from"), std::string::npos) << out;
  const auto start = load_state_dict(dir + "/model.pth");
  const auto tuned = load_state_dict(dir + "/tuned/model.pth");
  ASSERT_EQ(start.size(), tuned.size());
  for (size_t i = 0; i < start.size(); ++i)
    EXPECT_TRUE(torch::allclose(start[i].second, tuned[i].second, 1e-5, 1e-6)) << start[i].first;
  fs::remove_all(dir + "/tuned");
  write_tune("kaist");
  EXPECT_NE(train("--config " + tune, &out), 0) << out;
  EXPECT_NE(out.find("error: "), std::string::npos) << out;
  EXPECT_NE(out.find("model.pth"), std::string::npos) << out;
}

// `unroll pack` puts a config and its images in one file; `unroll-train` (LibTorch alone) and
// `unroll train --bundle` train from it exactly as `unroll train --config` trains from the folder.
TEST(TrainCli, BundleTrainsWithLibTorchAloneAsTheConfigDoes) {
  const std::string dir = test::temp_dir("train_bundle");
  const std::string cd = "cd " + std::string(UNROLL_SOURCE_DIR) + " && OMP_NUM_THREADS=1 ";
  std::string out;
  ASSERT_EQ(test::run_command(cd + UNROLL_EXE + " pack --config experiments/smoke_deblur.ini --output " + dir + "/b.pt",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("1 training images"), std::string::npos) << out;
  EXPECT_NE(out.find("1 validation images"), std::string::npos) << out;
  ASSERT_EQ(train("--config experiments/smoke_deblur.ini --steps 3 --out " + dir + "/a", &out), 0) << out;
#ifdef UNROLL_TRAIN_EXE
  const std::string trainer = cd + UNROLL_TRAIN_EXE + " ";
  ASSERT_EQ(test::run_command(trainer + dir + "/b.pt --steps 3 --out " + dir + "/b --float16 " + dir + "/b16.pth", &out), 0)
      << out;
  EXPECT_NE(out.find("trained steps 0..3"), std::string::npos) << out;
  const auto a = load_state_dict(dir + "/a/model.pth");
  const auto b = load_state_dict(dir + "/b/model.pth");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }
  const auto half = load_state_dict(dir + "/b16.pth");
  ASSERT_EQ(half.size(), b.size());
  EXPECT_EQ(half[0].second.scalar_type(), torch::kHalf);
  EXPECT_TRUE(torch::allclose(half[0].second.to(torch::kFloat32), b[0].second, 1e-2, 1e-3));
  // Resuming from its checkpoint, as `unroll train` does.
  ASSERT_EQ(test::run_command(trainer + dir + "/b.pt --steps 4 --out " + dir + "/b", &out), 0) << out;
  EXPECT_NE(out.find("trained steps 3..4"), std::string::npos) << out;
  // Bad input: one error line, exit 1.
  for (const auto& [args, expected] : std::vector<std::pair<std::string, std::string>>{
           {dir + "/missing.pt", "missing.pt: no such training bundle"},
           {dir + "/a/model.pth", "not a training bundle"},
           {dir + "/b.pt --device tpu", "--device: unknown device 'tpu'"},
           {dir + "/b.pt --steps x", "--steps: expected a positive integer"},
           {dir + "/b.pt --bogus", "unknown option '--bogus'"}}) {
    EXPECT_EQ(test::run_command(trainer + args, &out), 1) << args;
    EXPECT_NE(out.find("error: "), std::string::npos) << out;
    EXPECT_NE(out.find(expected), std::string::npos) << args << ": " << out;
  }
  EXPECT_EQ(test::run_command(trainer, &out), 1);
  EXPECT_NE(out.find("usage: unroll-train BUNDLE"), std::string::npos) << out;
  EXPECT_EQ(test::run_command(trainer + "--help", &out), 0);
  EXPECT_NE(out.find("usage: unroll-train BUNDLE"), std::string::npos) << out;
#endif
  ASSERT_EQ(train("--bundle " + dir + "/b.pt --steps 3 --out " + dir + "/c", &out), 0) << out;
  const auto a2 = load_state_dict(dir + "/a/model.pth");
  const auto c = load_state_dict(dir + "/c/model.pth");
  ASSERT_EQ(a2.size(), c.size());
  for (size_t i = 0; i < c.size(); ++i) EXPECT_TRUE(torch::equal(a2[i].second, c[i].second)) << c[i].first;

  // --crop keeps one random crop per training image; it must hold train.crop.
  ASSERT_EQ(test::run_command(cd + UNROLL_EXE + " pack --config experiments/smoke_deblur.ini --crop 48 --device cuda "
                                  "--output " + dir + "/crop.pt",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("train.device cuda"), std::string::npos) << out;
  if (!torch::cuda::is_available()) {
    EXPECT_NE(train("--bundle " + dir + "/crop.pt --steps 1 --out " + dir + "/d", &out), 0);
    EXPECT_NE(out.find("train.device: device 'cuda' requested but this LibTorch build has no usable CUDA device"),
              std::string::npos)
        << out;
  }
  ASSERT_EQ(train("--bundle " + dir + "/crop.pt --steps 1 --device cpu --out " + dir + "/d", &out), 0) << out;
  EXPECT_NE(test::run_command(cd + UNROLL_EXE + " pack --config experiments/smoke_deblur.ini --crop 16 --output " + dir +
                                  "/small.pt",
                              &out),
            0);
  EXPECT_NE(out.find("error: --crop 16 is smaller than train.crop = 32 + train.kernel_size - 1 (valid blur) = 40"),
            std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(dir + "/small.pt"));
  EXPECT_NE(train("--config experiments/smoke_deblur.ini --bundle " + dir + "/b.pt", &out), 0);
  EXPECT_NE(out.find("error: give one of --config and --bundle"), std::string::npos) << out;
}

// The unrolled network trains with another prior than the ResUNet (model.family), and its checkpoint
// runs through `unroll deblur -m unrolled` with the architecture recognised from the file.
TEST(TrainCli, UnrolledNetworkTrainsWithAnAttentionPrior) {
  const std::string dir = test::temp_dir("train_unrolled_attention");
  const std::string config = dir + "/attention.ini";
  std::ofstream(config) << "[experiment]\ntask = unrolled\n[model]\nfamily = attention-unet\niterations = 2\n"
                        << "hyper_channels = 8\n[data]\ntrain = data/sample\n[train]\nsteps = 2\nbatch = 2\n"
                        << "crop = 32\nkernel_size = 9\nsigma_max = 10\nout = " << dir << "/run\n";
  std::string out;
  ASSERT_EQ(train("--config " + config, &out), 0) << out;
  EXPECT_NE(out.find("trained steps 0..2"), std::string::npos) << out;
  const std::string deblur = "cd " + std::string(UNROLL_SOURCE_DIR) + " && " + UNROLL_EXE +
                             " deblur -i data/sample/astronaut.png -k data/sample/motion17.csv -m unrolled --noise 2.55 "
                             "--weights " + dir + "/run/model.pth -o " + dir + "/x.png";
  ASSERT_EQ(test::run_command(deblur, &out), 0) << out;
  EXPECT_TRUE(fs::exists(dir + "/x.png"));

  // model.init_weights fine-tunes a trained unrolled network (architecture from the file, fresh
  // schedule): one step at a vanishing learning rate keeps its weights; restating the architecture is refused.
  auto write_tune = [&](const std::string& extra) {
    std::ofstream(dir + "/tune.ini") << "[experiment]\ntask = unrolled\n[model]\ninit_weights = " << dir
                                     << "/run/model.pth\n" << extra << "[data]\ntrain = data/sample\n[train]\n"
                                     << "steps = 1\nbatch = 2\ncrop = 32\nkernel_size = 9\nlr = 1e-12\n"
                                     << "min_lr = 1e-12\nout = " << dir << "/tuned\n";
    return dir + "/tune.ini";
  };
  ASSERT_EQ(train("--config " + write_tune(""), &out), 0) << out;
  EXPECT_NE(out.find("2 iterations, starting from"), std::string::npos) << out;
  const auto start = load_state_dict(dir + "/run/model.pth");
  const auto tuned = load_state_dict(dir + "/tuned/model.pth");
  ASSERT_EQ(start.size(), tuned.size());
  for (size_t i = 0; i < start.size(); ++i) {
    EXPECT_EQ(start[i].first, tuned[i].first);
    EXPECT_TRUE(torch::allclose(start[i].second, tuned[i].second, 1e-5, 1e-6)) << start[i].first;
  }
  EXPECT_NE(train("--config " + write_tune("iterations = 4\n") + " --dry-run", &out), 0);
  EXPECT_NE(out.find("model.iterations cannot be combined with model.init_weights"), std::string::npos) << out;

  // model.prior_groups with model.init_weights unties the shared prior: both groups start as copies of it.
  ASSERT_EQ(train("--config " + write_tune("prior_groups = 2\n") + " --restart", &out), 0) << out;
  EXPECT_NE(out.find("prior groups 1 -> 2"), std::string::npos) << out;
  std::map<std::string, torch::Tensor> untied;
  for (const auto& [name, t] : load_state_dict(dir + "/tuned/model.pth")) untied.emplace(name, t);
  size_t prior_entries = 0;
  for (const auto& [name, t] : start) {
    if (name.compare(0, 2, "p.") != 0) continue;
    ++prior_entries;
    for (const char* group : {"p.0.", "p.1."}) {
      const auto it = untied.find(group + name.substr(2));
      ASSERT_NE(it, untied.end()) << group << name.substr(2);
      EXPECT_TRUE(torch::allclose(it->second, t, 1e-5, 1e-6)) << it->first;
    }
  }
  EXPECT_GT(prior_entries, 0u);
  EXPECT_NE(train("--config " + write_tune("prior_groups = 3\n") + " --restart", &out), 0);
  EXPECT_NE(out.find("model.prior_groups must be in 1..2"), std::string::npos) << out;
  // model.nc with model.init_weights widens the prior (attention U-Net: not a ResUNet, refused by name).
  EXPECT_NE(train("--config " + write_tune("nc = 16,32,64,64\n") + " --restart", &out), 0);
  EXPECT_NE(out.find("model.nc: widen_priors: only ResUNet priors"), std::string::npos) << out;
  EXPECT_NE(train("--config " + write_tune("prior_groups = 2\nshared_prior = 0\n") + " --dry-run", &out), 0);
  EXPECT_NE(out.find("model.shared_prior and model.prior_groups exclude each other"), std::string::npos) << out;
}

// The shipped network, widened and regrouped into two priors in one fine-tuning start: at a vanishing
// learning rate the result holds, in its leading blocks, the shipped prior that served each new group's
// first iteration (and the shipped hyper-network), with zeros beside them.
TEST(TrainCli, UnrolledNetworkWidensAndUntiesItsPrior) {
  const std::string dir = test::temp_dir("train_unrolled_widen");
  std::ofstream(dir + "/widen.ini") << "[experiment]\ntask = unrolled\n[model]\ninit_weights = models/unrolled_small.pth\n"
                                    << "nc = 20,32,64,72\nprior_groups = 2\n[data]\ntrain = data/sample\n[train]\n"
                                    << "steps = 1\nbatch = 1\ncrop = 32\nkernel_size = 9\nlr = 1e-12\n"
                                    << "min_lr = 1e-12\nout = " << dir << "/run\n";
  std::string out;
  ASSERT_EQ(train("--config " + dir + "/widen.ini --dry-run", &out), 0) << out;
  EXPECT_NE(out.find("2 prior groups"), std::string::npos) << out;
  ASSERT_EQ(train("--config " + dir + "/widen.ini", &out), 0) << out;
  EXPECT_NE(out.find("prior widths 16-32-64-64 -> 20-32-64-72"), std::string::npos) << out;
  std::map<std::string, torch::Tensor> shipped, wide;
  for (const auto& [name, t] : load_state_dict(std::string(UNROLL_SOURCE_DIR) + "/models/unrolled_small.pth"))
    shipped.emplace(name, t);
  for (const auto& [name, t] : load_state_dict(dir + "/run/model.pth")) wide.emplace(name, t);
  // The shipped file's prior groups (p.<g>. prefixes; none = one shared prior under p.).
  int shipped_groups = 1;
  while (shipped.count("p." + std::to_string(shipped_groups) + ".m_head.weight")) ++shipped_groups;
  if (shipped_groups == 1 && shipped.count("p.0.m_head.weight") == 0) shipped_groups = 0;  // shared
  const int K = 8, G = 2;
  using torch::indexing::Slice;
  size_t checked = 0;
  for (const auto& [name, t] : wide) {
    // Unroll's format marker and the prior's global-residual flag (0) are newer than the shipped file.
    if (name == kUnrollFormatKey || is_architecture_flag(name)) continue;
    std::string source = name;
    if (name.compare(0, 2, "p.") == 0) {
      const int g = std::stoi(name.substr(2, name.find('.', 2) - 2));
      const std::string rest = name.substr(name.find('.', 2) + 1);
      const int first_iteration = (g * K + G - 1) / G;  // new group g starts at this iteration
      source = shipped_groups == 0 ? "p." + rest
                                   : "p." + std::to_string(first_iteration * shipped_groups / K) + "." + rest;
    }
    const auto it = shipped.find(source);
    ASSERT_NE(it, shipped.end()) << name << " <- " << source;
    std::vector<at::indexing::TensorIndex> block;
    for (int64_t d = 0; d < it->second.dim(); ++d) block.emplace_back(Slice(0, it->second.size(d)));
    EXPECT_TRUE(torch::allclose(t.index(block), it->second, 1e-5, 1e-6)) << name << " <- " << source;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
  // m_tail reads the 20 first-scale channels: the 4 new ones start at zero.
  EXPECT_EQ(wide.at("p.1.m_tail.weight").size(1), 20);
  EXPECT_LT(wide.at("p.1.m_tail.weight").narrow(1, 16, 4).abs().max().item<double>(), 1e-9);
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
  EXPECT_NE(train("--config " + write("family.ini", "[experiment]\ntask = deblur\n[model]\nfamily = resunet\n[data]\ntrain = data/sample\n"), &out), 0);
  EXPECT_NE(out.find("model.family"), std::string::npos) << out;
  EXPECT_NE(train("--config " + write("blur.ini", "[experiment]\ntask = deblur\n[model]\nfamily = atrous\n[data]\ntrain = data/sample\n[train]\nblur = sideways\n"), &out), 0);
  EXPECT_NE(out.find("train.blur"), std::string::npos) << out;
  EXPECT_NE(train("--config " + write("family_init.ini", "[experiment]\ntask = unrolled\n[model]\nfamily = convir-s\ninit_prior = models/denoiser_small.pth\n[data]\ntrain = data/sample\n"), &out), 0);
  EXPECT_NE(out.find("model.init_prior"), std::string::npos) << out;
  EXPECT_NE(train("--config " + write("zero_init.ini", "[experiment]\ntask = deblur\n[model]\nfamily = atrous\nzero_init_outputs = 0\n[data]\ntrain = data/sample\n"), &out), 0);
  EXPECT_NE(out.find("model.zero_init_outputs applies to a ConvIR family trained from scratch (model.family is atrous)"), std::string::npos) << out;
  EXPECT_NE(train("--config " + write("width.ini", "[experiment]\ntask = deblur\n[model]\nfamily = atrous\nbase_channel = 16\n[data]\ntrain = data/sample\n"), &out), 0);
  EXPECT_NE(out.find("model.base_channel applies to task deblur with a ConvIR family trained from scratch"), std::string::npos) << out;
  EXPECT_NE(train("--config " + write("width12.ini", "[experiment]\ntask = deblur\n[model]\nfamily = convir-s\nbase_channel = 12\n[data]\ntrain = data/sample\n"), &out), 0);
  EXPECT_NE(out.find("width12.ini: model.base_channel must be a positive multiple of 8, got 12"), std::string::npos) << out;
  EXPECT_NE(train("--config " + write("device.ini", "[experiment]\ntask = denoiser\n[data]\ntrain = data/sample\n[train]\ndevice = tpu\n"), &out), 0);
  EXPECT_NE(out.find("device.ini: train.device: unknown device 'tpu'"), std::string::npos) << out;
  if (!torch::cuda::is_available()) {
    EXPECT_NE(train("--config experiments/smoke_denoiser.ini --device cuda --out " + dir + "/cuda_run", &out), 0);
    EXPECT_NE(out.find("no usable CUDA device"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(dir + "/cuda_run"));
  }
  // --dry-run checks the files a config names and trains nothing.
  ASSERT_EQ(train("--config experiments/smoke_denoiser.ini --dry-run --out " + dir + "/dry", &out), 0) << out;
  EXPECT_NE(out.find("starts from step 0"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir + "/dry/model.pth"));
  EXPECT_NE(train("--config " + write("no_init.ini", "[experiment]\ntask = deblur\n[model]\nfamily = atrous\ninit_weights = " + dir + "/nothing.pth\n[data]\ntrain = data/sample\n") + " --dry-run", &out), 0);
  EXPECT_NE(out.find("model.init_weights"), std::string::npos) << out;
  // A real run stops on the same check before it writes anything.
  EXPECT_NE(train("--config " + dir + "/no_init.ini --out " + dir + "/no_init_run", &out), 0);
  EXPECT_NE(out.find("model.init_weights"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir + "/no_init_run"));
  EXPECT_NE(train("--config " + write("no_data.ini", "[experiment]\ntask = denoiser\n[data]\ntrain = " + dir + "/no_such_folder\n") + " --dry-run", &out), 0);
  EXPECT_NE(out.find("data.train"), std::string::npos) << out;
  EXPECT_NE(train("--config " + dir + "/missing.ini", &out), 0);
  EXPECT_NE(out.find("missing.ini"), std::string::npos) << out;
  EXPECT_NE(out.find("error: "), std::string::npos) << out;
  // Issue 28: configs that --dry-run used to approve, then failed or exhausted memory.
  const std::string head = "[experiment]\ntask = denoiser\n[data]\ntrain = data/sample\n";
  fs::create_directories(dir + "/empty_folder");
  std::ofstream(dir + "/a_file") << "x";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {head + "[train]\nbatch = 1000000000\n", "pixels per step, above the limit"},
      {head + "[train]\ncrop = 100000\n", "UNROLL_MAX_TRAIN_BATCH_PIXELS"},
      {head + "[model]\nnb = 0\n", "model.nb must be in 1..64, got 0"},
      {head + "[model]\nnc = 0,16,32,64\n", "model.nc: every width must be in 1..4096, got 0"},
      {head + "[train]\nsigma_max = -5\n", "train.sigma_max must be in [0, 255]"},
      {head + "[train]\nval_sigma = 1e9\n", "train.val_sigma must be in [0, 255]"},
      {head + "[train]\nloss = bogus\n", "train.loss: make_loss: unknown loss \"bogus\""},
      {"[experiment]\ntask = denoiser\n[data]\ntrain = " + dir + "/empty_folder\n", "no images in the folder"},
      {head + "[train]\nout = " + dir + "/a_file/run\n", "train.out: "},
      // tests/probe/probe.py: a 2-level U-Net (the run then failed) and a folder nobody can create (root's
      // access() says yes under /proc)
      {head + "[model]\nnc = 8,16\n", "model.nc must list 4 widths (one per U-Net level), got 2"},
      {head + "[train]\nout = /proc/unroll_test/run\n", "train.out: cannot create anything in /proc"},
  };
  for (size_t i = 0; i < refused.size(); ++i) {
    EXPECT_NE(train("--config " + write("refused" + std::to_string(i) + ".ini", refused[i].first) + " --dry-run", &out), 0)
        << refused[i].first;
    EXPECT_NE(out.find(refused[i].second), std::string::npos) << refused[i].first << "\n" << out;
  }
}
#endif

}  // namespace
}  // namespace unroll
