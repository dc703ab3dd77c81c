#include "datasets/pair_dataset.h"

#include "core/error.h"

namespace unroll {

void check_pair_index(int64_t index, int64_t size, const std::string& who) {
  UNROLL_CHECK(index >= 0 && index < size, who, ": index ", index, " out of range [0, ", size, ")");
}

void check_pair(const ImagePair& p, const std::string& who) {
  UNROLL_CHECK(p.blurred.defined() && p.sharp.defined(), who, ": pair '", p.name, "' has an undefined image");
  UNROLL_CHECK(p.blurred.dim() == 4 && p.blurred.size(0) == 1, who, ": pair '", p.name, "': blurred must be [1,C,H,W], got ",
               p.blurred.sizes());
  UNROLL_CHECK(p.blurred.sizes() == p.sharp.sizes(), who, ": pair '", p.name, "': blurred ", p.blurred.sizes(),
               " and sharp ", p.sharp.sizes(), " differ in size");
}

TensorPairDataset::TensorPairDataset(std::vector<ImagePair> pairs) : pairs_(std::move(pairs)) {
  for (const auto& p : pairs_) check_pair(p, "TensorPairDataset");
}

ImagePair TensorPairDataset::get(int64_t index) const {
  check_pair_index(index, size(), "TensorPairDataset");
  return pairs_[static_cast<size_t>(index)];
}

std::string TensorPairDataset::name(int64_t index) const {
  check_pair_index(index, size(), "TensorPairDataset");
  return pairs_[static_cast<size_t>(index)].name;
}

}  // namespace unroll
