// unroll train --config experiments/X.ini: trains a denoiser prior (for plug-and-play HQS) or an
// unrolled HQS network from an INI experiment config (Boost.Program_options config-file syntax:
// `[section]` + `key = value`). Unknown keys are errors. Relative paths are relative to the current
// directory. Checkpoints are atomic; running the same command again resumes from the last one.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "datasets/readers.h"
#include "hqs/unrolled_net.h"
#include "hqs/warm_start.h"
#include "io/image_io.h"
#include "priors/resunet.h"
#include "train/training_tasks.h"

namespace fs = std::filesystem;

namespace unroll::cli {
namespace {

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& key) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    try {
      out.push_back(std::stoll(item));
    } catch (const std::exception&) {
      fail(key, ": not a comma-separated list of integers: '", text, "'");
    }
  }
  UNROLL_CHECK(!out.empty(), key, ": empty list");
  return out;
}

std::vector<torch::Tensor> read_images(const std::string& dir, int64_t limit, const std::string& key) {
  UNROLL_CHECK(!dir.empty(), key, " is required");
  auto files = list_image_files(dir);
  if (limit > 0 && static_cast<int64_t>(files.size()) > limit) files.resize(limit);
  std::vector<torch::Tensor> images;
  for (const auto& f : files) images.push_back(read_image(f, ImageReadOptions{false, true})[0]);
  return images;
}

}  // namespace

int cmd_train(const std::vector<std::string>& args) {
  std::string config_path, out_override;
  int64_t steps_override = 0;
  po::options_description cli_opts("train options");
  cli_opts.add_options()
      ("config,c", po::value(&config_path)->required(), "experiment config (INI), e.g. experiments/denoiser_small.ini")
      ("steps", po::value(&steps_override)->default_value(0), "override train.steps")
      ("out", po::value(&out_override), "override train.out (checkpoint folder)")
      ("restart", po::bool_switch(), "ignore an existing checkpoint and start from step 0");
  po::variables_map cvm;
  if (!parse("usage: unroll train --config experiments/X.ini [--steps N] [--out DIR]", cli_opts, args, cvm)) return 0;

  std::string task, nc_text, train_dir, val_dir, out_dir, loss, init_prior;
  bool shared_prior = true;
  int64_t nb = 2, iterations = 6, hyper = 32, max_images = 0, val_images = 0;
  bool global_residual = true;
  double sigma_max255 = 50, val_sigma255 = 25, motion_fraction = 0.5;
  int64_t kernel_size = 25;
  TrainerOptions t;
  po::options_description file("config");
  file.add_options()
      ("experiment.name", po::value<std::string>(), "free text")
      ("experiment.task", po::value(&task)->required(), "denoiser | unrolled")
      ("model.nc", po::value(&nc_text)->default_value("16,32,64,64"), "ResUNet widths of the four scales")
      ("model.nb", po::value(&nb)->default_value(2), "residual blocks per scale")
      ("model.global_residual", po::value(&global_residual)->default_value(true), "add the input to the prior output, zero-initialised tail (denoiser default 1; unrolled from scratch: 0 unless set)")
      ("model.iterations", po::value(&iterations)->default_value(6), "unrolled: K")
      ("model.hyper_channels", po::value(&hyper)->default_value(32), "unrolled: HyPaNet width")
      ("model.shared_prior", po::value(&shared_prior)->default_value(true), "unrolled: one prior for all iterations")
      ("model.init_prior", po::value(&init_prior),
       "unrolled: warm start from this denoiser checkpoint (architecture from the file; the hyper-network is "
       "fitted to the DPIR schedule, so training starts from plug-and-play HQS)")
      ("data.train", po::value(&train_dir), "folder of sharp training images")
      ("data.val", po::value(&val_dir), "folder of validation images (optional)")
      ("data.max_images", po::value(&max_images)->default_value(0), "use only the first N training images (0 = all)")
      ("data.val_images", po::value(&val_images)->default_value(0), "use only the first N validation images")
      ("train.steps", po::value(&t.steps)->default_value(1000), "")
      ("train.batch", po::value(&t.batch)->default_value(16), "")
      ("train.crop", po::value(&t.crop)->default_value(64), "")
      ("train.lr", po::value(&t.lr)->default_value(2e-4), "")
      ("train.warmup", po::value(&t.warmup_steps)->default_value(0), "")
      ("train.min_lr", po::value(&t.min_lr)->default_value(1e-6), "")
      ("train.grad_clip", po::value(&t.grad_clip)->default_value(0.0), "")
      ("train.seed", po::value(&t.seed)->default_value(0), "")
      ("train.checkpoint_every", po::value(&t.checkpoint_every)->default_value(200), "")
      ("train.validate_every", po::value(&t.validate_every)->default_value(500), "")
      ("train.log_every", po::value(&t.log_every)->default_value(10), "")
      ("train.loss", po::value(&loss)->default_value("l1"), "make_loss spec, e.g. l1+0.1*fft")
      ("train.sigma_max", po::value(&sigma_max255)->default_value(50), "training noise sigma ~ U[0, this]/255")
      ("train.val_sigma", po::value(&val_sigma255)->default_value(25), "validation noise sigma /255")
      ("train.kernel_size", po::value(&kernel_size)->default_value(25), "unrolled: kernel side")
      ("train.motion_fraction", po::value(&motion_fraction)->default_value(0.5), "unrolled: share of motion kernels")
      ("train.out", po::value(&out_dir)->default_value("runs/train"), "checkpoint folder");
  po::variables_map vm;
  {
    std::ifstream in(config_path);
    UNROLL_CHECK(in.good(), config_path, ": cannot open config");
    try {
      po::store(po::parse_config_file(in, file, false), vm);
      po::notify(vm);
    } catch (const po::error& e) {
      fail(config_path, ": ", e.what());
    }
  }
  if (steps_override > 0) t.steps = steps_override;
  if (!out_override.empty()) out_dir = out_override;
  t.out_dir = out_dir;
  const bool resume = !cvm["restart"].as<bool>();

  auto train_set = clean_image_dataset(read_images(train_dir, max_images, "data.train"));
  std::shared_ptr<const PairDataset> val_set;
  if (!val_dir.empty()) val_set = clean_image_dataset(read_images(val_dir, val_images, "data.val"));
  fs::create_directories(out_dir);
  fs::copy_file(config_path, out_dir + "/config.ini", fs::copy_options::overwrite_existing);

  TrainResult result;
  torch::manual_seed(t.seed);  // the models' random initialisation (and the warm start's fit) follow train.seed
  if (task == "denoiser") {
    ResUNetOptions m;
    m.nc = parse_int_list(nc_text, "model.nc");
    m.nb = nb;
    m.global_residual = global_residual;
    auto model = std::make_shared<ResUNet>(m);
    if (global_residual) model->zero_init_tail();
    DenoiserTrainingOptions o;
    o.trainer = t;
    o.sigma_max = sigma_max255 / 255.0;
    o.val_sigma = val_sigma255 / 255.0;
    o.loss = loss;
    result = train_denoiser(model, train_set, val_set, o, resume);
  } else if (task == "unrolled") {
    UnrolledNet model{nullptr};
    if (!init_prior.empty()) {
      for (const char* key : {"model.nc", "model.nb", "model.global_residual"}) {
        UNROLL_CHECK(vm[key].defaulted(), config_path, ": ", key,
                     " cannot be combined with model.init_prior (the architecture comes from the checkpoint)");
      }
      ScheduleFit fit;
      model = unrolled_from_denoiser(init_prior, static_cast<int>(iterations), hyper, shared_prior, {}, &fit);
      std::cout << "warm start from " << init_prior << ": hyper-network fitted to the DPIR schedule (mean |log "
                << "error| " << fit.mean_log_error << ", max " << fit.max_log_error << ")\n";
    } else {
      UnrolledNetOptions m = UnrolledNetOptions::usrnet_tiny();
      m.iterations = static_cast<int>(iterations);
      m.hyper_channels = hyper;
      m.shared_prior = shared_prior;
      m.prior.nc = parse_int_list(nc_text, "model.nc");
      m.prior.nb = nb;
      m.prior.global_residual = !vm["model.global_residual"].defaulted() && global_residual;
      model = UnrolledNet(m);
      if (m.prior.global_residual) {
        for (int k = 0; k < (shared_prior ? 1 : m.iterations); ++k) model->prior(k)->zero_init_tail();
      }
    }
    UnrolledTrainingOptions o;
    o.trainer = t;
    o.kernels.size = kernel_size;
    o.motion_fraction = motion_fraction;
    o.sigma_max = sigma_max255 / 255.0;
    o.val_sigma = val_sigma255 / 255.0;
    o.loss = loss;
    result = train_unrolled(model, train_set, val_set, o, resume);
  } else {
    fail(config_path, ": experiment.task must be denoiser or unrolled, got '", task, "'");
  }
  std::cout << "trained steps " << result.first_step << ".." << result.step << " in " << result.seconds
            << " s; last validation PSNR " << result.last_val_psnr << " dB; weights: " << out_dir << "/model.pth\n";
  return 0;
}

}  // namespace unroll::cli
