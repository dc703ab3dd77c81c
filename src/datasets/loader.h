// Training loader: random aligned crops of (blurred, sharp) pairs, flips and 90-degree rotations,
// batching, epoch shuffling and background prefetch, deterministic given a seed.
//
// Determinism: batch b of epoch e is a pure function of (dataset, options, seed, e, b): the epoch's
// order is a permutation drawn from mix(seed, e), and each sample's crop and augmentation from
// mix(seed, e, position). Worker threads only change *when* a batch is computed, never its content,
// so the result is the same for any number of workers.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datasets/pair_dataset.h"

namespace unroll {

struct LoaderOptions {
  enum class Color { Keep, Grey, Rgb };
  int64_t crop_size = 128;    ///< square crop side; 0 = whole images (they must then share one size)
  int64_t batch_size = 16;    ///< >= 1
  bool flips = true;          ///< random horizontal and vertical flips
  bool rot90 = true;          ///< random rotation by k * 90 degrees
  Color color = Color::Keep;  ///< Grey: ITU-R BT.601 luma; Rgb: replicate grey images to 3 channels
  bool shuffle = true;        ///< a new permutation every epoch
  bool drop_last = true;      ///< drop the final incomplete batch of an epoch
  uint64_t seed = 0;
  int64_t workers = 0;        ///< background threads; 0 = compute batches on the calling thread
  int64_t prefetch = 2;       ///< batches kept in flight per worker when workers > 0
  void validate() const;
};

/// A batch: blurred and sharp [B,C,s,s] float32; `sigma` [B] float64 (NaN where unknown); `kernel`
/// [B,1,k,k] float64 when every pair has a kernel of the same odd size (transformed by the same flips
/// and rotations as the images, so the blur model still holds), undefined otherwise.
struct Batch {
  torch::Tensor blurred, sharp, kernel, sigma;
  std::vector<std::string> names;
  std::vector<int64_t> indices;  ///< dataset indices of the samples
};

class PairLoader {
 public:
  PairLoader(std::shared_ptr<const PairDataset> dataset, LoaderOptions options);
  ~PairLoader();
  PairLoader(const PairLoader&) = delete;
  PairLoader& operator=(const PairLoader&) = delete;

  int64_t batches_per_epoch() const;
  /// Batch `b` of epoch `epoch`, computed on the calling thread (pure; thread-safe).
  Batch batch(int64_t epoch, int64_t b) const;
  /// Sequential iteration with prefetch: starts `epoch` (discarding any batches in flight).
  void start_epoch(int64_t epoch);
  /// The next batch of the current epoch, or nullopt at its end.
  std::optional<Batch> next();

 private:
  std::vector<int64_t> order(int64_t epoch) const;
  void fill_queue();

  std::shared_ptr<const PairDataset> dataset_;
  LoaderOptions options_;
  int64_t epoch_ = 0, next_submit_ = 0;
  std::vector<int64_t> order_;
  std::deque<std::future<Batch>> queue_;
};

/// Aligned random crop + augmentation of one pair (exposed for tests and custom loaders): crop
/// `crop_size` (0 = none) at a position drawn from `seed`, then optional flips and rot90.
ImagePair augment_pair(const ImagePair& pair, const LoaderOptions& options, uint64_t seed);

}  // namespace unroll
