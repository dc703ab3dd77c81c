#include "eval/protocol.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/fft.h"
#include "core/metrics.h"
#include "core/noise.h"
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

std::vector<EvalCase> dpir_protocol_cases(const std::string& images_dir, const std::string& kernels_dir,
                                          double sigma, uint64_t seed) {
  std::vector<EvalCase> cases;
  const auto kernels = list_kernels(kernels_dir);
  for (const auto& image_path : list_images(images_dir)) {
    auto sharp = read_image(image_path).to(torch::kFloat64);
    const int64_t h = sharp.size(2) / 8 * 8, w = sharp.size(3) / 8 * 8;
    sharp = sharp.narrow(2, 0, h).narrow(3, 0, w);
    for (const auto& kernel_path : kernels) {
      EvalCase c;
      c.name = fs::path(image_path).stem().string() + "_" + fs::path(kernel_path).stem().string();
      c.sharp = sharp;
      c.kernel = read_kernel(kernel_path);
      c.sigma = sigma;
      c.blurred = add_gaussian_noise(conv_circular(sharp, c.kernel), sigma, seed);
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

double dpir_psnr(const torch::Tensor& restored, const torch::Tensor& sharp) {
  PsnrOptions o;
  o.round_8bit = true;
  return psnr(restored, sharp, o);
}

}  // namespace unroll
