// The training config of `unroll train` as an INI file (Boost.Program_options config-file syntax:
// `[section]` + `key = value`), shared by `unroll train`, `unroll pack` and `unroll experiment` (which
// writes one such config per trained variant). The keys, their defaults and the checks live in the
// library (train/train_config.h visit_train_config, finish_train_config); this layer parses the file
// and reads the images the config names (OpenCV). Unknown keys are errors. Relative paths are relative
// to the current directory.
#pragma once

#include <boost/program_options.hpp>
#include <istream>
#include <memory>
#include <string>

#include "datasets/pair_dataset.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace unroll::cli {

using unroll::TrainConfig;
using unroll::is_train_config_key;

/// Registers every key of the training config on `desc`, bound to the fields of `config`.
void add_train_config_options(boost::program_options::options_description& desc, TrainConfig& config);

/// Parses a config; errors are unroll::Error naming `source` and the key.
TrainConfig parse_train_config(std::istream& in, const std::string& source);

/// Checks, without reading any image, what a run reads first: the data.train / data.val folders (or
/// CIFAR-10 files) exist and the model.init_prior / model.init_weights files exist. Throws
/// unroll::Error naming the config and the key.
void check_train_inputs(const TrainConfig& c);

/// The clean images data.train (`train` true, first data.max_images) or data.val (first
/// data.val_images; null when data.val is empty) name: a folder of images, or cifar10:DIR[:split].
std::shared_ptr<const PairDataset> config_images(const TrainConfig& c, bool train);

/// Reads the images (config_images) and trains (train/train_config.h run_train_config); `resume`
/// continues from out_dir/resume.pt when it exists.
TrainResult run_train_config(const TrainConfig& config, bool resume);

}  // namespace unroll::cli
