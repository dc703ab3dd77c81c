#include "datasets/loader.h"

#include <algorithm>

#include "core/error.h"
#include "datasets/kernels.h"

namespace unroll {

namespace {

uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  return mix_seed(mix_seed(seed) ^ (0x632BE59BD9B4E019ull * static_cast<uint64_t>(epoch + 1)));
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t position) {
  return mix_seed(epoch_seed(seed, epoch) ^ (0x9E6C63D0676A9A99ull * static_cast<uint64_t>(position + 1)));
}

torch::Tensor convert_color(const torch::Tensor& x, LoaderOptions::Color color) {
  if (color == LoaderOptions::Color::Grey && x.size(1) == 3) {
    auto w = torch::tensor({0.299, 0.587, 0.114}, x.options()).view({1, 3, 1, 1});
    return (x * w).sum(1, true);
  }
  if (color == LoaderOptions::Color::Rgb && x.size(1) == 1) return x.repeat({1, 3, 1, 1});
  return x;
}

}  // namespace

void LoaderOptions::validate() const {
  UNROLL_CHECK(crop_size >= 0, "loader: crop_size must be >= 0 (0 = whole images), got ", crop_size);
  UNROLL_CHECK(batch_size >= 1, "loader: batch_size must be >= 1, got ", batch_size);
  UNROLL_CHECK(workers >= 0 && workers <= 64, "loader: workers must be in [0, 64], got ", workers);
  UNROLL_CHECK(prefetch >= 1, "loader: prefetch must be >= 1, got ", prefetch);
}

ImagePair augment_pair(const ImagePair& pair, const LoaderOptions& options, uint64_t seed) {
  check_pair(pair, "loader");
  SeededRng rng(seed);
  ImagePair out = pair;
  const int64_t h = pair.blurred.size(2), w = pair.blurred.size(3), s = options.crop_size;
  if (s > 0) {
    UNROLL_CHECK(h >= s && w >= s, "loader: pair '", pair.name, "' is ", h, "x", w, ", smaller than the crop size ", s);
    const int64_t top = rng.integer(0, h - s), left = rng.integer(0, w - s);
    out.blurred = pair.blurred.narrow(2, top, s).narrow(3, left, s);
    out.sharp = pair.sharp.narrow(2, top, s).narrow(3, left, s);
  }
  const bool kernel_ok = out.kernel.defined() && out.kernel.dim() == 2;
  if (options.flips) {
    if (rng.uniform() < 0.5) {
      out.blurred = out.blurred.flip({3});
      out.sharp = out.sharp.flip({3});
      if (kernel_ok) out.kernel = out.kernel.flip({1});
    }
    if (rng.uniform() < 0.5) {
      out.blurred = out.blurred.flip({2});
      out.sharp = out.sharp.flip({2});
      if (kernel_ok) out.kernel = out.kernel.flip({0});
    }
  }
  if (options.rot90) {
    const int64_t k = rng.integer(0, 3);
    if (k > 0) {
      out.blurred = torch::rot90(out.blurred, k, {2, 3});
      out.sharp = torch::rot90(out.sharp, k, {2, 3});
      if (kernel_ok) out.kernel = torch::rot90(out.kernel, k, {0, 1});
    }
  }
  out.blurred = out.blurred.contiguous();
  out.sharp = out.sharp.contiguous();
  return out;
}

PairLoader::PairLoader(std::shared_ptr<const PairDataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  options_.validate();
  UNROLL_CHECK(dataset_ != nullptr, "loader: dataset is null");
  UNROLL_CHECK(dataset_->size() > 0, "loader: the dataset is empty");
  UNROLL_CHECK(!options_.drop_last || dataset_->size() >= options_.batch_size, "loader: the dataset has ", dataset_->size(),
               " pairs, fewer than one batch of ", options_.batch_size, " (set drop_last = false)");
}

PairLoader::~PairLoader() {
  for (auto& f : queue_)
    if (f.valid()) f.wait();
}

int64_t PairLoader::batches_per_epoch() const {
  const int64_t n = dataset_->size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> PairLoader::order(int64_t epoch) const {
  const int64_t n = dataset_->size();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  if (options_.shuffle) {
    SeededRng rng(epoch_seed(options_.seed, epoch));
    for (int64_t i = n - 1; i > 0; --i) std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(rng.integer(0, i))]);
  }
  return idx;
}

Batch PairLoader::batch(int64_t epoch, int64_t b) const {
  UNROLL_CHECK(epoch >= 0, "loader: epoch must be >= 0, got ", epoch);
  UNROLL_CHECK(b >= 0 && b < batches_per_epoch(), "loader: batch ", b, " out of range [0, ", batches_per_epoch(), ")");
  const auto idx = order(epoch);
  const int64_t begin = b * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(idx.size()));
  std::vector<torch::Tensor> blurred, sharp, kernels;
  std::vector<double> sigma;
  Batch out;
  for (int64_t pos = begin; pos < end; ++pos) {
    const int64_t i = idx[static_cast<size_t>(pos)];
    ImagePair p = dataset_->get(i);
    p.blurred = convert_color(p.blurred.to(torch::kFloat32), options_.color);
    p.sharp = convert_color(p.sharp.to(torch::kFloat32), options_.color);
    p = augment_pair(p, options_, sample_seed(options_.seed, epoch, pos));
    if (!blurred.empty()) {
      UNROLL_CHECK(p.blurred.sizes() == blurred.front().sizes(), "loader: pair '", p.name, "' gives a sample of shape ",
                   p.blurred.sizes(), " but the batch holds ", blurred.front().sizes(),
                   " (use a crop size, or convert colours with LoaderOptions::color)");
    }
    blurred.push_back(p.blurred);
    sharp.push_back(p.sharp);
    kernels.push_back(p.kernel);
    sigma.push_back(p.noise_sigma ? *p.noise_sigma : std::numeric_limits<double>::quiet_NaN());
    out.names.push_back(p.name);
    out.indices.push_back(i);
  }
  out.blurred = torch::cat(blurred, 0);
  out.sharp = torch::cat(sharp, 0);
  out.sigma = torch::tensor(sigma, torch::kFloat64);
  const bool same_kernels = std::all_of(kernels.begin(), kernels.end(), [&](const torch::Tensor& k) {
    return k.defined() && k.dim() == 2 && k.size(0) == k.size(1) && k.size(0) % 2 == 1 &&
           k.sizes() == kernels.front().sizes();
  });
  if (same_kernels) out.kernel = torch::stack(kernels).to(torch::kFloat64).unsqueeze(1);
  return out;
}

void PairLoader::start_epoch(int64_t epoch) {
  UNROLL_CHECK(epoch >= 0, "loader: epoch must be >= 0, got ", epoch);
  for (auto& f : queue_)
    if (f.valid()) f.wait();
  queue_.clear();
  epoch_ = epoch;
  next_submit_ = 0;
  fill_queue();
}

void PairLoader::fill_queue() {
  const int64_t in_flight = options_.workers == 0 ? 0 : options_.workers * options_.prefetch;
  while (static_cast<int64_t>(queue_.size()) < in_flight && next_submit_ < batches_per_epoch()) {
    const int64_t e = epoch_, b = next_submit_++;
    queue_.push_back(std::async(std::launch::async, [this, e, b] { return batch(e, b); }));
  }
}

std::optional<Batch> PairLoader::next() {
  if (options_.workers == 0) {
    if (next_submit_ >= batches_per_epoch()) return std::nullopt;
    return batch(epoch_, next_submit_++);
  }
  fill_queue();
  if (queue_.empty()) return std::nullopt;
  auto front = std::move(queue_.front());
  queue_.pop_front();
  Batch b = front.get();  // rethrows a worker's exception here
  fill_queue();
  return b;
}

}  // namespace unroll
