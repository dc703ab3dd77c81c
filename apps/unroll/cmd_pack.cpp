// unroll pack --config experiments/X.ini --output bundle.pt [--crop N]: the config and the images it
// trains on as one training bundle (train/bundle.h), for `unroll-train` on a machine with LibTorch
// alone (no Boost, no OpenCV) or for moving a run elsewhere.
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "core/error.h"
#include "eval/report.h"
#include "experiment/training_data.h"
#include "train/bundle.h"
#include "train/train_config_ini.h"

namespace fs = std::filesystem;

namespace unroll::cli {
namespace {

std::vector<torch::Tensor> all_images(const std::shared_ptr<const PairDataset>& set) {
  std::vector<torch::Tensor> images;
  if (!set) return images;
  for (int64_t i = 0; i < set->size(); ++i) images.push_back(set->get(i).sharp);
  return images;
}

double megabytes(const std::vector<torch::Tensor>& images) {
  double bytes = 0;
  for (const auto& x : images) bytes += static_cast<double>(x.numel());  // stored as 8 bits per value
  return bytes / 1e6;
}

}  // namespace

int cmd_pack(const std::vector<std::string>& args) {
  std::string config_path, output, device;
  int64_t crop = 0;
  po::options_description opts("pack options");
  opts.add_options()
      ("config,c", po::value(&config_path)->required(), "training config (INI), as `unroll train --config` takes")
      ("output,o", po::value(&output)->required(), "training bundle to write (atomically), e.g. bundle.pt")
      ("crop", po::value(&crop)->default_value(0),
       "keep one random N x N crop of each training image (position from train.seed; N >= train.crop, plus "
       "train.kernel_size - 1 with valid blur): a smaller file; 0 = whole images")
      ("device", po::value(&device), "set train.device in the bundle (cpu | cuda[:N]; checked where it trains)");
  po::variables_map vm;
  if (!parse("usage: unroll pack --config experiments/X.ini --output bundle.pt [--crop N] [--device cuda]", opts, args, vm))
    return 0;
  TrainingBundle bundle;
  bundle.config = read_train_config(config_path);
  TrainConfig& c = bundle.config;
  // Linear ('valid') blur samples crops larger by the kernel's size less one (train/training_tasks.h).
  const bool valid_blur = c.task != "denoiser" && c.blur == "valid";
  const int64_t needed = c.trainer.crop + (valid_blur ? c.kernel_size - 1 : 0);
  UNROLL_CHECK(crop == 0 || crop >= needed, "--crop ", crop, " is smaller than train.crop = ", c.trainer.crop,
               valid_blur ? " + train.kernel_size - 1 (valid blur) = " + std::to_string(needed) : std::string(),
               " of ", config_path);
  if (!device.empty()) {
    UNROLL_CHECK(device == "cpu" || device.rfind("cuda", 0) == 0, "--device: unknown device '", device,
                 "' (expected cpu or cuda[:N])");
    c.device = device;
    c.given.insert("train.device");
  }
  check_train_inputs(c);
  bundle.train = all_images(config_images(c, true));
  bundle.val = all_images(config_images(c, false));
  if (crop > 0) bundle.train = random_crops(bundle.train, crop, c.trainer.seed);
  for (const auto& [key, file] : {std::pair<const char*, std::string>{"model.init_prior", c.init_prior},
                                  {"model.init_weights", c.init_weights}}) {
    if (!file.empty())
      std::cerr << "warning: " << config_path << ": " << key << " = " << file
                << " is not packed: the machine that trains needs that file at that path\n";
  }
  save_training_bundle(output, bundle);
  std::cout << "wrote " << output << ": " << bundle.train.size() << " training images (" << fixed(megabytes(bundle.train), 1)
            << " MB), " << bundle.val.size() << " validation images (" << fixed(megabytes(bundle.val), 1)
            << " MB), config " << config_path << " (task " << c.task << ", " << c.family << ", train.device "
            << c.device << "); file " << fixed(static_cast<double>(fs::file_size(output)) / 1e6, 1) << " MB\n";
  return 0;
}

}  // namespace unroll::cli
