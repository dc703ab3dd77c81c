#include "datasets/degrade.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/enum_names.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/noise.h"
#include "core/tensor.h"

namespace unroll {

namespace {

// Independent sub-seeds of one call's seed (splitmix64 of distinct offsets).
enum SeedSlot : uint64_t { kSigmaSlot = 1, kPoissonSlot = 2, kGaussSlot = 3, kKernelSlot = 4 };
uint64_t sub_seed(uint64_t seed, SeedSlot slot) { return mix_seed(seed ^ (0xA5A5A5A5ull * slot)); }

}  // namespace

namespace {
const EnumNames<BlurMode>& blur_mode_names() {
  static const EnumNames<BlurMode> names("blur mode", {{BlurMode::Circular, "circular"},
                                                       {BlurMode::Circular, "wrap", true},
                                                       {BlurMode::Same, "same"},
                                                       {BlurMode::Valid, "valid"}});
  return names;
}
}  // namespace

BlurMode parse_blur_mode(const std::string& name) { return blur_mode_names().parse(name); }

std::string blur_mode_name(BlurMode mode) { return blur_mode_names().name(mode); }

void DegradeOptions::validate() const {
  UNROLL_CHECK(std::isfinite(sigma_min) && sigma_min >= 0, "degrade: sigma_min must be finite and >= 0, got ",
               sigma_min);
  UNROLL_CHECK(std::isfinite(sigma_max) && sigma_max >= sigma_min, "degrade: sigma_max must be >= sigma_min (",
               sigma_min, "), got ", sigma_max);
  UNROLL_CHECK(std::isfinite(poisson_peak) && poisson_peak >= 0, "degrade: poisson_peak must be >= 0 (0 = off), got ",
               poisson_peak);
  UNROLL_CHECK(jpeg_quality >= 0 && jpeg_quality <= 100, "degrade: jpeg_quality must be in [0,100] (0 = off), got ",
               jpeg_quality);
  UNROLL_CHECK(jpeg_quality == 0 || static_cast<bool>(jpeg_codec), "degrade: jpeg_quality ", jpeg_quality,
               " needs a JPEG codec hook (DegradeOptions::jpeg_codec, provided by the OpenCV layer)");
}

DegradedPair degrade(const torch::Tensor& sharp_in, const torch::Tensor& kernel_in, const DegradeOptions& options,
                     uint64_t seed) {
  options.validate();
  auto sharp = as_image_batch(sharp_in);
  check_image(sharp, "degrade");
  const int64_t n = sharp.size(0), h = sharp.size(2), w = sharp.size(3);
  auto kernel = as_kernel_batch(kernel_in).to(sharp.options());
  check_kernel(kernel, n, h, w, "degrade");
  const int64_t kh = kernel.size(2), kw = kernel.size(3);

  DegradedPair out;
  out.kernel = kernel_in.dim() == 2 ? kernel_in.to(sharp.options()) : kernel;
  torch::Tensor y;
  switch (options.blur) {
    case BlurMode::Circular:
      y = conv_circular(sharp, kernel);
      out.sharp = sharp;
      break;
    case BlurMode::Same:
      y = conv_fft(sharp, kernel, ConvMode::Same);
      out.sharp = sharp;
      break;
    case BlurMode::Valid:
      y = conv_fft(sharp, kernel, ConvMode::Valid);
      // Valid pixel v sits at full-convolution index v + kh - 1, i.e. at sharp index v + kh - 1 - kh/2.
      out.sharp = sharp.narrow(2, kh - 1 - kh / 2, h - kh + 1).narrow(3, kw - 1 - kw / 2, w - kw + 1);
      break;
  }

  if (options.poisson_peak > 0) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(sub_seed(seed, kPoissonSlot));
    auto rate = (y.detach().to(torch::kCPU, torch::kFloat64).clamp_min(0.0) * options.poisson_peak);
    y = (at::poisson(rate, gen) / options.poisson_peak).to(y.options());
  }

  // Per-sample sigma, drawn on the CPU so every device sees the same values.
  auto sigma = torch::empty({n}, torch::kFloat64);
  SeededRng rng(sub_seed(seed, kSigmaSlot));
  auto sacc = sigma.accessor<double, 1>();
  for (int64_t i = 0; i < n; ++i) sacc[i] = rng.uniform(options.sigma_min, options.sigma_max);
  if (options.sigma_max > 0) y = y + as_sample_scalar(sigma, y) * seeded_randn_like(y, sub_seed(seed, kGaussSlot));
  out.sigma = sigma;

  if (options.clip) y = y.clamp(0.0, 1.0);
  if (options.quantize) y = quantize_8bit(y);
  if (options.jpeg_quality > 0) {
    auto j = options.jpeg_codec(y, options.jpeg_quality);
    UNROLL_CHECK(j.defined() && j.sizes() == y.sizes(), "degrade: the JPEG codec hook returned shape ",
                 j.defined() ? j.sizes() : torch::IntArrayRef{}, " for input ", y.sizes());
    y = j.to(y.options());
  }
  out.blurred = y;
  return out;
}

DegradedPair degrade_random(const torch::Tensor& sharp_in, const KernelSpec& spec, const DegradeOptions& options,
                            uint64_t seed) {
  spec.validate();
  auto sharp = as_image_batch(sharp_in);
  UNROLL_CHECK(sharp.defined() && sharp.dim() == 4 && sharp.size(0) >= 1, "degrade_random: need a non-empty batch");
  SeededRng rng(sub_seed(seed, kKernelSlot));
  std::vector<torch::Tensor> ks;
  for (int64_t i = 0; i < sharp.size(0); ++i) ks.push_back(random_kernel(spec, rng.next_seed()));
  auto kernels = torch::stack(ks).unsqueeze(1);  // [N,1,k,k]
  return degrade(sharp, kernels, options, seed);
}

}  // namespace unroll
