// unroll train --config experiments/X.ini: trains a denoiser prior (for plug-and-play HQS), an
// unrolled HQS network or an end-to-end network from an INI training config (`[section]` +
// `key = value`, train/train_config_ini.h; the keys in train/train_config.h), or (--bundle) from a
// training bundle of `unroll pack` (config and images in one file, train/bundle.h). Unknown keys are errors. Relative
// paths are relative to the current directory. Checkpoints are atomic; running the same command again
// resumes from the last one. Under torchrun or srun, or with --dist-init, the processes train as one data-parallel
// run (core/distributed.h, docs/distributed.md).
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "core/distributed.h"
#include "core/error.h"
#include "experiment/training_data.h"
#include "train/bundle.h"
#include "train/train_config_ini.h"

namespace fs = std::filesystem;

namespace unroll::cli {

int cmd_train(const std::vector<std::string>& args) {
  std::string config_path, bundle_path, out_override, device_override;
  DistributedOptions dist;
  int64_t steps_override = 0;
  po::options_description cli_opts("train options");
  cli_opts.add_options()("config,c", po::value(&config_path),
                         "experiment config (INI), e.g. experiments/denoiser_small.ini")(
      "bundle", po::value(&bundle_path), "or a training bundle of `unroll pack` (its config and images)")(
      "steps", po::value(&steps_override)->default_value(0), "override train.steps")(
      "out", po::value(&out_override), "override train.out (checkpoint folder)")(
      "device", po::value(&device_override), "override train.device: cpu | cuda[:N]")(
      "restart", po::bool_switch(), "ignore an existing checkpoint and start from step 0")(
      "dist-init", po::value(&dist.init),
      "several processes as one run (docs/distributed.md): env:// (default under torchrun / srun), "
      "file:///PATH or tcp://HOST:PORT")(
      "dist-backend", po::value(&dist.backend), "gloo | nccl (default: gloo on cpu, nccl on cuda)")(
      "dry-run", po::bool_switch(), "check the config and the files it names, print the run, train nothing");
  po::variables_map cvm;
  if (!parse("usage: unroll train --config experiments/X.ini | --bundle B.pt [--steps N] [--out DIR] [--device D] "
             "[--restart] [--dry-run] [--dist-init URL] [--dist-backend B]",
             cli_opts, args, cvm))
    return 0;
  UNROLL_CHECK(config_path.empty() != bundle_path.empty(), "give one of --config and --bundle");

  TrainingBundle bundle;
  TrainConfig config;
  if (!bundle_path.empty()) {
    bundle = load_training_bundle(bundle_path);
    config = bundle.config;
  } else {
    config = read_train_config(config_path);
  }
  if (steps_override > 0) config.trainer.steps = steps_override;
  if (!out_override.empty()) config.out_dir = config.trainer.out_dir = out_override;
  if (!device_override.empty()) {
    try {
      parse_device(device_override);  // a CUDA request on a LibTorch without CUDA stops here
    } catch (const Error& e) {
      fail("--device: ", e.what());
    }
    config.device = device_override;
  }
  if (!bundle_path.empty()) {
    if (!device_override.empty()) config.given.insert("train.device");
    finish_train_config(config);  // the bundle's values as a whole, with the overrides
  }
  const bool resume = !cvm["restart"].as<bool>();
  if (bundle_path.empty()) {
    check_train_inputs(config);  // a missing folder or checkpoint stops here, before anything is written
  } else {
    check_init_files(config);
  }
  if (cvm["dry-run"].as<bool>()) {
    const bool has_checkpoint = fs::exists(config.out_dir + "/resume.pt");
    std::string start = !config.init_prior.empty()   ? "prior from " + config.init_prior
                        : !config.init_weights.empty() ? "model from " + config.init_weights
                                                       : "model.family " + config.family;
    if (config.task == "unrolled" && config.is_given("model.prior_groups")) start += ", " + std::to_string(config.prior_groups) + " prior groups";
    std::cout << (bundle_path.empty() ? config_path : bundle_path) << ": task " << config.task << ", " << start << ", "
              << config.trainer.steps << " steps on " << config.device << " of batch " << config.trainer.batch << " x " << config.trainer.crop
              << "^2 -> " << config.out_dir << " ("
              << (has_checkpoint && resume ? "resumes from its checkpoint" : "starts from step 0") << ")\n";
    return 0;
  }
  // Joins the other ranks when there are some (after the checks above, which every rank makes alike).
  // The flags override the config's train.dist_init / train.dist_backend.
  if (dist.init.empty()) dist.init = config.dist_init;
  if (dist.backend.empty()) dist.backend = config.dist_backend;
  init_distributed(dist, config.device);
  config.device = rank_device(config.device);
  fs::create_directories(config.out_dir);
  TrainResult result;
  if (bundle_path.empty()) {
    if (dist_rank() == 0)
      fs::copy_file(config_path, config.out_dir + "/config.ini", fs::copy_options::overwrite_existing);
    result = run_train_config(config, config_images(config, true), config_images(config, false), resume);
  } else {
    result = run_train_config(config, bundle_dataset(bundle.train), bundle_dataset(bundle.val), resume);
  }
  std::cout << "trained steps " << result.first_step << ".." << result.step << " in " << result.seconds
            << " s; last validation PSNR " << result.last_val_psnr << " dB; weights: " << config.out_dir
            << "/model.pth\n";
  return 0;
}

}  // namespace unroll::cli
