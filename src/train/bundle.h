// A training bundle: one file holding a training config (train/train_config.h) and the clean images
// it trains on, so that a run can start on a machine that has LibTorch but neither the config parser
// (Boost) nor the image codecs (OpenCV) -- a GPU machine lent for an hour, say. `unroll pack` makes
// one from an INI config (reading data.train / data.val as `unroll train` would, optionally cropping
// each training image); `unroll-train` (LibTorch only) and `unroll train --bundle` train from it.
//
// Format: a torch::pickle_save archive (the zip layout torch.save writes; Python's torch.load reads
// it too) of the dict
//   {"format": "unroll-training-bundle", "version": 1,
//    "config": {key: value} for every key of visit_train_config (str, int, float or bool),
//    "given": [the keys the config file set], "source": the config's file name,
//    "train": [uint8 tensors [C,H,W]], "val": [uint8 tensors [C,H,W]]}.
// Images are stored as 8 bits (round(255 x)), what the training sets here are: an 8-bit image read as
// float and packed comes back exactly; 16-bit sources are rounded to 8 bits.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "datasets/pair_dataset.h"
#include "train/train_config.h"

namespace unroll {

struct TrainingBundle {
  TrainConfig config;
  std::vector<torch::Tensor> train;  ///< clean training images, [C,H,W] (or [1,C,H,W]) in [0,1] or uint8
  std::vector<torch::Tensor> val;    ///< clean validation images, same layout; may be empty
};

/// Writes `bundle` to `path` atomically (images converted to uint8). Throws unroll::Error naming the
/// file when an image is not [C,H,W] / [1,C,H,W], the channel counts differ, or writing fails.
void save_training_bundle(const std::string& path, const TrainingBundle& bundle);

/// Reads a bundle; images come back as uint8 [C,H,W], the config with `path` as its source and not yet
/// checked as a whole: apply any overrides (train.device, train.out, train.steps), then call
/// finish_train_config. Throws unroll::Error naming `path` for a missing, corrupt or foreign file, an
/// unknown key or a value of the wrong type.
TrainingBundle load_training_bundle(const std::string& path);

/// The images of a bundle as a dataset of clean images (float32 in [0,1]; null when `images` is empty).
std::shared_ptr<const PairDataset> bundle_dataset(const std::vector<torch::Tensor>& images);

/// A random square crop of side `crop` of every image (uint8 or float, [C,H,W]) that is larger than
/// that, the position drawn from `seed` and the image's index; smaller images are kept whole. For
/// packing a training set into fewer bytes.
std::vector<torch::Tensor> random_crops(const std::vector<torch::Tensor>& images, int64_t crop, uint64_t seed);

}  // namespace unroll
