// The one interface every deblurring dataset implements: an indexed collection of pairs.
//
// A pair is (blurred, sharp) plus what is known about how it was made: the kernel (synthetic data),
// the noise level, and a name that identifies it in reports (e.g. "GOPR0384_11_00/000001"). Readers
// of the public datasets (datasets/readers.h, OpenCV) and in-memory or synthetic sources implement
// PairDataset; the training loader (datasets/loader.h) consumes it. This header is LibTorch-only.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace unroll {

struct ImagePair {
  torch::Tensor blurred;              ///< [1,C,H',W'] float32 in [0,1] (H',W' = H,W except 'valid' synthesis)
  torch::Tensor sharp;                ///< [1,C,H',W'], the same size as blurred
  torch::Tensor kernel;               ///< [kh,kw] float64 when known, undefined otherwise
  std::optional<double> noise_sigma;  ///< AWGN std on the [0,1] scale when known
  std::string name;                   ///< stable identifier, unique within the dataset
};

/// An indexed, read-only collection of pairs. get() must be safe to call concurrently from several
/// threads (the loader prefetches on workers) and deterministic for a given index.
class PairDataset {
 public:
  virtual ~PairDataset() = default;
  virtual int64_t size() const = 0;
  virtual ImagePair get(int64_t index) const = 0;
  /// Name of pair `index` without loading it.
  virtual std::string name(int64_t index) const = 0;
};

/// Pairs held in memory (tests, small sets, precomputed batches).
class TensorPairDataset : public PairDataset {
 public:
  explicit TensorPairDataset(std::vector<ImagePair> pairs);
  int64_t size() const override { return static_cast<int64_t>(pairs_.size()); }
  ImagePair get(int64_t index) const override;
  std::string name(int64_t index) const override;

 private:
  std::vector<ImagePair> pairs_;
};

/// Throws unless 0 <= index < size (message names the dataset kind `who`).
void check_pair_index(int64_t index, int64_t size, const std::string& who);

/// Throws unless the pair's members are [1,C,H,W] with equal shapes; `who` names the source.
void check_pair(const ImagePair& pair, const std::string& who);

}  // namespace unroll
