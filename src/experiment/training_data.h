// The images a training config trains on: data.train / data.val read through the data-string grammar
// of eval/sources.h (parse_clean_image_source: a folder of sharp images, or cifar10:DIR[:train|test]),
// for `unroll train --config`, `unroll pack` and experiments. Here rather than in train/, which stays
// LibTorch-only: reading images needs OpenCV.
#pragma once

#include <memory>

#include "datasets/pair_dataset.h"
#include "train/train_config.h"

namespace unroll {

/// Checks, without reading any image, what a run reads first: data.train is set, the data.train /
/// data.val folders (or CIFAR-10 files) exist, the model.init_prior / model.init_weights files exist.
/// Throws unroll::Error naming c.source and the key.
void check_train_inputs(const TrainConfig& c);

/// The clean images data.train (`train` true: the first data.max_images, all when 0; default CIFAR-10
/// split train) or data.val (the first data.val_images; default split test; null when data.val is
/// empty) name, as the dataset run_train_config (train/train_config.h) trains on.
std::shared_ptr<const PairDataset> config_images(const TrainConfig& c, bool train);

}  // namespace unroll
