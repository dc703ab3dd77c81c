#include "eval/protocol.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/enum_names.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "core/tensor.h"
#include "eval/aligned_metrics.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

std::vector<std::string> list_with(const std::string& dir, const std::vector<std::string>& exts) {
  std::error_code ec;
  UNROLL_CHECK(fs::is_directory(dir, ec), dir, ": no such directory");
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (std::find(exts.begin(), exts.end(), ext) != exts.end()) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> list_images(const std::string& dir) {
  auto files = list_with(dir, {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"});
  UNROLL_CHECK(!files.empty(), dir, ": no images found");
  return files;
}

std::vector<std::string> list_kernels(const std::string& dir) {
  auto files = list_with(dir, {".csv", ".txt"});
  if (files.empty()) files = list_with(dir, {".png", ".tif", ".tiff", ".bmp"});
  UNROLL_CHECK(!files.empty(), dir, ": no kernel files (.csv/.txt or images) found");
  return files;
}

DpirProtocolDataset::DpirProtocolDataset(const std::string& images_dir, const std::string& kernels_dir, double sigma,
                                         uint64_t seed)
    : images_(list_images(images_dir)), kernel_files_(list_kernels(kernels_dir)), sigma_(sigma), seed_(seed) {
  UNROLL_CHECK(std::isfinite(sigma) && sigma >= 0, "dpir: noise sigma must be >= 0, got ", sigma);
  for (const auto& k : kernel_files_) kernels_.push_back(read_kernel(k));
}

int64_t DpirProtocolDataset::size() const { return static_cast<int64_t>(images_.size() * kernels_.size()); }

std::string DpirProtocolDataset::name(int64_t index) const {
  check_pair_index(index, size(), "dpir");
  const size_t k = kernels_.size();
  return fs::path(images_[index / k]).stem().string() + "_" + fs::path(kernel_files_[index % k]).stem().string();
}

ImagePair DpirProtocolDataset::get(int64_t index) const {
  check_pair_index(index, size(), "dpir");
  const size_t k = kernels_.size();
  auto sharp = read_image(images_[index / k]).to(torch::kFloat64);
  const int64_t h = sharp.size(2) / 8 * 8, w = sharp.size(3) / 8 * 8;
  UNROLL_CHECK(h > 0 && w > 0, images_[index / k], ": image smaller than 8x8 (the protocol crops to a multiple of 8)");
  ImagePair p;
  p.name = name(index);
  p.sharp = sharp.narrow(2, 0, h).narrow(3, 0, w).contiguous();
  p.kernel = kernels_[index % k];
  p.noise_sigma = sigma_;
  p.blurred = add_gaussian_noise(conv_circular(p.sharp, p.kernel), sigma_, seed_);
  return p;
}

BlindProtocolDataset::BlindProtocolDataset(const std::string& images_dir, const std::string& kernels_dir,
                                           double sigma, uint64_t seed)
    : images_(list_images(images_dir)), kernel_files_(list_kernels(kernels_dir)), sigma_(sigma), seed_(seed) {
  UNROLL_CHECK(std::isfinite(sigma) && sigma >= 0, "blind protocol: noise sigma must be >= 0, got ", sigma);
  for (const auto& k : kernel_files_) kernels_.push_back(read_kernel(k));
}

int64_t BlindProtocolDataset::size() const { return static_cast<int64_t>(images_.size() * kernels_.size()); }

std::string BlindProtocolDataset::name(int64_t index) const {
  check_pair_index(index, size(), "blind");
  const size_t k = kernels_.size();
  return fs::path(images_[index / k]).stem().string() + "_" + fs::path(kernel_files_[index % k]).stem().string();
}

ImagePair BlindProtocolDataset::get(int64_t index) const {
  check_pair_index(index, size(), "blind");
  const size_t nk = kernels_.size();
  auto sharp = read_image(images_[index / nk]).to(torch::kFloat64);
  const int64_t h = sharp.size(2) / 8 * 8, w = sharp.size(3) / 8 * 8;
  UNROLL_CHECK(h > 0 && w > 0, images_[index / nk], ": image smaller than 8x8 (the protocol crops to a multiple of 8)");
  const auto& k = kernels_[index % nk];
  const int64_t kh = k.size(0), kw = k.size(1);
  UNROLL_CHECK(kh / 2 < h && kw / 2 < w, kernel_files_[index % nk], ": kernel larger than the image");
  ImagePair p;
  p.name = name(index);
  p.sharp = sharp.narrow(2, 0, h).narrow(3, 0, w).contiguous();
  p.kernel = k;
  p.noise_sigma = sigma_;
  // Reflect-extended so that 'valid' pixel v lands on sharp pixel v (datasets/degrade.cpp: valid pixel v
  // is the blur around extended index v + k - 1 - k/2).
  namespace F = torch::nn::functional;
  auto extended = F::pad(p.sharp, F::PadFuncOptions({kw - 1 - kw / 2, kw / 2, kh - 1 - kh / 2, kh / 2}).mode(torch::kReflect));
  auto blurred = conv_fft(extended, k, ConvMode::Valid);
  blurred = add_gaussian_noise(blurred, sigma_, seed_);
  p.blurred = (blurred.clamp(0, 1) * 255.0).round() / 255.0;
  return p;
}

std::vector<EvalCase> dpir_protocol_cases(const std::string& images_dir, const std::string& kernels_dir, double sigma,
                                          uint64_t seed) {
  DpirProtocolDataset dataset(images_dir, kernels_dir, sigma, seed);
  std::vector<EvalCase> cases;
  for (int64_t i = 0; i < dataset.size(); ++i) {
    auto p = dataset.get(i);
    EvalCase c;
    c.name = p.name;
    c.sharp = p.sharp;
    c.kernel = p.kernel;
    c.blurred = p.blurred;
    c.sigma = sigma;
    cases.push_back(std::move(c));
  }
  return cases;
}

namespace {
const EnumNames<Metric>& metric_names() {
  static const EnumNames<Metric> names(
      "metric",
      {{Metric::Full, "full"}, {Metric::Full8, "full8"}, {Metric::RSBlur, "rsblur"}, {Metric::RealBlur, "realblur"}, {Metric::ShiftAligned, "shift-aligned"}});
  return names;
}
}  // namespace

Metric parse_metric(const std::string& name) { return metric_names().parse(name); }

std::string metric_name(Metric metric) { return metric_names().name(metric); }

ImageScores score_image(const torch::Tensor& restored, const torch::Tensor& sharp, Metric metric) {
  auto x = as_image_batch(restored).detach().to(torch::kCPU, torch::kFloat64);
  auto ref = as_image_batch(sharp).detach().to(torch::kCPU, torch::kFloat64);
  UNROLL_CHECK(x.sizes() == ref.sizes(), "score: restored image ", x.sizes(), " and ground truth ", ref.sizes(),
               " differ in size");
  check_finite(x, "score (restored image)");
  ImageScores s;
  if (metric == Metric::RSBlur || metric == Metric::RealBlur) {
    AlignedMetricOptions o;
    o.variant =
        metric == Metric::RSBlur ? AlignedMetricOptions::Variant::RSBlur : AlignedMetricOptions::Variant::RealBlur;
    auto a = aligned_scores(x, ref, o);
    s.psnr = a.psnr;
    s.ssim = a.ssim;
  } else if (metric == Metric::ShiftAligned) {
    x = quantize_8bit(x.clamp(0.0, 1.0));
    ref = quantize_8bit(ref);
    const ShiftAlignedOptions o;
    const ShiftAlignedError best = shift_aligned_ssd(x, ref, o);
    const auto window = shifted_window(x, best.shift_y, best.shift_x, o.crop);
    const auto target = ref.narrow(2, o.crop, window.size(2)).narrow(3, o.crop, window.size(3));
    s.psnr = psnr(window, target);
    s.ssim = ssim(window, target).item<double>();
  } else {
    x = x.clamp(0.0, 1.0);
    if (metric == Metric::Full8) {
      x = quantize_8bit(x);
      ref = quantize_8bit(ref);
    }
    s.psnr = psnr(x, ref);
    s.ssim = ssim(x, ref).item<double>();
  }
  s.score = combined_score(s.psnr, s.ssim);
  return s;
}

double dpir_psnr(const torch::Tensor& restored, const torch::Tensor& sharp) {
  PsnrOptions o;
  o.round_8bit = true;
  return psnr(restored, sharp, o);
}

}  // namespace unroll
