// The training config of `unroll train` (INI, Boost.Program_options config-file syntax: `[section]` +
// `key = value`), shared by `unroll train` and `unroll experiment` (which writes one such config per
// trained variant). Keys: [experiment] name, task; [model] ...; [data] train, val, ...; [train] ...
// (see add_train_config_options for the full list with their defaults). Unknown keys are errors.
// Relative paths are relative to the current directory.
#pragma once

#include <boost/program_options.hpp>
#include <istream>
#include <memory>
#include <string>

#include "train/trainer.h"

namespace unroll::cli {

struct TrainConfig {
  std::string source;  ///< where the config came from (file name), for messages
  std::string device = "cpu";  ///< train.device
  std::string name, task, family = "resunet", nc_text, train_dir, val_dir, out_dir, loss, init_prior, init_weights, blur;
  bool shared_prior = true, multiscale = true;
  int64_t prior_groups = 1;  ///< model.prior_groups, or model.shared_prior = 0 -> model.iterations
  int64_t nb = 2, iterations = 6, hyper = 32, max_images = 0, val_images = 0, kernel_size = 25;
  bool global_residual = true, zero_init_outputs = true;
  double sigma_max255 = 50, val_sigma255 = 25, motion_fraction = 0.5, gradient_penalty = 0;
  TrainerOptions trainer;
  boost::program_options::variables_map vm;  ///< the parsed values (which keys were given)
};

/// Registers every key of the training config on `desc`, bound to the fields of `config`.
void add_train_config_options(boost::program_options::options_description& desc, TrainConfig& config);

/// True when `key` ("train.steps") is a key of the training config.
bool is_train_config_key(const std::string& key);

/// Parses a config; errors are unroll::Error naming `source` and the key.
TrainConfig parse_train_config(std::istream& in, const std::string& source);

/// Checks, without reading any image, what a run reads first: the data.train / data.val folders (or
/// CIFAR-10 files) exist and the model.init_prior / model.init_weights files exist. Throws
/// unroll::Error naming the config and the key.
void check_train_inputs(const TrainConfig& c);

/// Reads the training images (data.train: a folder of sharp images, or cifar10:DIR for the CIFAR-10
/// training batches), builds the model of `task` (denoiser | unrolled | deblur: an end-to-end network of
/// priors/deblur_net.h) and trains it into out_dir (train/training_tasks.h);
/// `resume` continues from out_dir/resume.pt when it exists.
TrainResult run_train_config(const TrainConfig& config, bool resume);

}  // namespace unroll::cli
