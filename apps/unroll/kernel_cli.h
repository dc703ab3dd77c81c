// The options of kernel estimation shared by `unroll estimate-kernel` and `unroll deblur --kernel
// estimate | estimate-local` (eval/blind_deblur.h), and how estimated kernels are saved.
#pragma once

#include <string>

#include "cli.h"
#include "eval/blind_deblur.h"

namespace unroll::cli {

struct KernelEstimateArgs {
  int64_t kernel_size = 0;  ///< 0 = automatic
  std::string grid;         ///< "RxC" for local kernels
  double overlap = 0.5;
  bool dark_channel = false;
  int refine = 0;           ///< --refine-kernel: alternations refining a given kernel (0 = off)
};

/// Adds --kernel-size, --grid, --overlap, --dark-channel, --refine-kernel (bound to `args`) to `options`.
void add_kernel_estimate_options(po::options_description& options, KernelEstimateArgs& args);

/// The estimator's options (noise255 < 0: estimated) and the local grid from the parsed arguments.
BlindEstimateOptions blind_estimate_options(const KernelEstimateArgs& args, double noise255);
LocalKernelOptions local_kernel_options(const KernelEstimateArgs& args);

/// Writes estimated kernels: a uniform kernel as `path` (an image normalised to its maximum, e.g.
/// k.png; or exact values when `path` ends in .csv) plus the exact values beside it (k.csv); a grid as
/// `path` (the picture of the grid over `image`, eval/blind_deblur.h draw_kernel_grid) plus each tile's
/// kernel as exact values (k_r0c0.csv, ...). Atomic. Returns the files written.
std::vector<std::string> save_estimated_kernels(const std::string& path, const EstimatedKernels& kernels,
                                                const torch::Tensor& image);

/// One line describing an estimate ("31x31 kernel (automatic size), noise 1.02/255 (estimated), 2x3
/// tiles (1 borrowed), 1.84 s").
std::string describe_estimate(const EstimatedKernels& kernels);

}  // namespace unroll::cli
