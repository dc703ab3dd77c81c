// unroll train --config experiments/X.ini: trains a denoiser prior (for plug-and-play HQS) or an
// unrolled HQS network from an INI experiment config (Boost.Program_options config-file syntax:
// `[section]` + `key = value`). Unknown keys are errors. Relative paths are relative to the current
// directory. Checkpoints are atomic; running the same command again resumes from the last one.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli.h"
#include "core/error.h"
#include "train_config.h"

namespace fs = std::filesystem;

namespace unroll::cli {

int cmd_train(const std::vector<std::string>& args) {
  std::string config_path, out_override, device_override;
  int64_t steps_override = 0;
  po::options_description cli_opts("train options");
  cli_opts.add_options()("config,c", po::value(&config_path)->required(),
                         "experiment config (INI), e.g. experiments/denoiser_small.ini")(
      "steps", po::value(&steps_override)->default_value(0), "override train.steps")(
      "out", po::value(&out_override), "override train.out (checkpoint folder)")(
      "device", po::value(&device_override), "override train.device: cpu | cuda[:N]")(
      "restart", po::bool_switch(), "ignore an existing checkpoint and start from step 0")(
      "dry-run", po::bool_switch(), "check the config and the files it names, print the run, train nothing");
  po::variables_map cvm;
  if (!parse("usage: unroll train --config experiments/X.ini [--steps N] [--out DIR] [--restart] [--dry-run]", cli_opts, args, cvm)) return 0;

  std::ifstream in(config_path);
  UNROLL_CHECK(in.good(), config_path, ": cannot open config");
  TrainConfig config = parse_train_config(in, config_path);
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
  const bool resume = !cvm["restart"].as<bool>();
  check_train_inputs(config);  // a missing folder or checkpoint stops here, before anything is written
  if (cvm["dry-run"].as<bool>()) {
    const bool has_checkpoint = fs::exists(config.out_dir + "/resume.pt");
    std::string start = !config.init_prior.empty()   ? "prior from " + config.init_prior
                        : !config.init_weights.empty() ? "model from " + config.init_weights
                                                       : "model.family " + config.family;
    if (config.task == "unrolled" && !config.vm["model.prior_groups"].defaulted()) start += ", " + std::to_string(config.prior_groups) + " prior groups";
    std::cout << config_path << ": task " << config.task << ", " << start << ", "
              << config.trainer.steps << " steps on " << config.device << " of batch " << config.trainer.batch << " x " << config.trainer.crop
              << "^2 -> " << config.out_dir << " ("
              << (has_checkpoint && resume ? "resumes from its checkpoint" : "starts from step 0") << ")\n";
    return 0;
  }
  fs::create_directories(config.out_dir);
  fs::copy_file(config_path, config.out_dir + "/config.ini", fs::copy_options::overwrite_existing);

  const TrainResult result = run_train_config(config, resume);
  std::cout << "trained steps " << result.first_step << ".." << result.step << " in " << result.seconds
            << " s; last validation PSNR " << result.last_val_psnr << " dB; weights: " << config.out_dir
            << "/model.pth\n";
  return 0;
}

}  // namespace unroll::cli
