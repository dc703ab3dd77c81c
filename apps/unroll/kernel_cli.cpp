#include "kernel_cli.h"

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/kernel.h"
#include "eval/report.h"
#include "io/image_io.h"

namespace fs = std::filesystem;

namespace unroll::cli {

void add_kernel_estimate_options(po::options_description& options, KernelEstimateArgs& args) {
  // clang-format off
  options.add_options()
      ("kernel-size", po::value(&args.kernel_size)->default_value(0),
       "estimated kernel side, odd (0 = chosen from the image: estimated at about a eighth of the smaller side, "
       "then cropped to the support holding 99.5% of the mass)")
      ("grid", po::value(&args.grid), "estimate-local: tiles as ROWSxCOLS (default 2x3)")
      ("overlap", po::value(&args.overlap)->default_value(0.5),
       "estimate-local: each tile is estimated on its cell widened by this fraction of the cell on every side")
      ("dark-channel", po::bool_switch(&args.dark_channel), "add the dark-channel prior (Pan et al. 2016; slower)")
      ("refine-kernel", po::value(&args.refine)->default_value(0)->notifier([](int n) {
         UNROLL_CHECK(n >= 0 && n <= 1000, "--refine-kernel must be in [0, 1000] (0 = off), got ", n);
       }),
       "refine a given (or perturbed) kernel against the image with N estimator alternations before deconvolving "
       "(for a kernel known to be only roughly right; 0 = use it as given; docs/blind.md)");
  // clang-format on
}

BlindEstimateOptions blind_estimate_options(const KernelEstimateArgs& args, double noise255) {
  BlindEstimateOptions o;
  UNROLL_CHECK(args.kernel_size == 0 || (args.kernel_size >= 3 && args.kernel_size % 2 == 1),
               "--kernel-size must be odd and >= 3 (or 0 = automatic), got ", args.kernel_size);
  o.kernel_size = args.kernel_size;
  // Checked with or without --grid, so a wrong value never passes unnoticed.
  UNROLL_CHECK(std::isfinite(args.overlap) && args.overlap >= 0 && args.overlap <= 2,
               "--overlap must be in [0, 2] (a fraction of the cell), got ", args.overlap);
  o.dark_channel = args.dark_channel;
  if (noise255 >= 0) o.noise_sigma = noise255 / 255.0;
  return o;
}

LocalKernelOptions local_kernel_options(const KernelEstimateArgs& args) {
  LocalKernelOptions l;
  if (!args.grid.empty()) std::tie(l.rows, l.cols) = parse_grid(args.grid, "--grid");
  l.overlap = args.overlap;
  return l;
}

std::vector<std::string> save_estimated_kernels(const std::string& path, const EstimatedKernels& kernels,
                                                const torch::Tensor& image) {
  const fs::path p(path);
  const std::string stem = (p.parent_path() / p.stem()).string();
  std::vector<std::string> written;
  if (kernels.grid) {
    write_image(path, draw_kernel_grid(image, *kernels.grid));
    written.push_back(path);
    const auto& g = *kernels.grid;
    for (int64_t i = 0; i < g.rows; ++i) {
      for (int64_t j = 0; j < g.cols; ++j) {
        const std::string csv = stem + "_r" + std::to_string(i) + "c" + std::to_string(j) + ".csv";
        write_kernel_text(csv, g.kernels[i * g.cols + j][0]);
        written.push_back(csv);
      }
    }
    return written;
  }
  if (p.extension() == ".csv" || p.extension() == ".txt") {
    write_kernel_text(path, kernels.kernel);
    return {path};
  }
  write_kernel_image(path, kernels.kernel);
  write_kernel_text(stem + ".csv", kernels.kernel);
  return {path, stem + ".csv"};
}

std::string describe_estimate(const EstimatedKernels& e) {
  std::string s = std::to_string(e.whole.kernel_size) + "x" + std::to_string(e.whole.kernel_size) + " kernel (" +
                  (e.whole.kernel_size_automatic ? "automatic size"
                   : e.source == ::unroll::KernelSource::Estimate || e.source == ::unroll::KernelSource::EstimateLocal
                       ? "--kernel-size"
                       : "refined from the given kernel, with a margin") +
                  "), noise " +
                  fixed(e.whole.noise_sigma * 255.0, 2) + "/255 (" + (e.whole.noise_estimated ? "estimated" : "given") +
                  ")";
  if (e.whole.saturated_pixels > 0) s += ", " + std::to_string(e.whole.saturated_pixels) + " saturated pixels masked";
  if (e.grid) {
    const int64_t borrowed = std::count(e.grid->borrowed.begin(), e.grid->borrowed.end(), true);
    s += ", " + std::to_string(e.grid->rows) + "x" + std::to_string(e.grid->cols) + " tiles (" +
         std::to_string(borrowed) + " borrowed from neighbours)";
  }
  return s + ", " + fixed(e.seconds, 2) + " s";
}

}  // namespace unroll::cli
