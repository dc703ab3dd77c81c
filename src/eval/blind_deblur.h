// Non-blind methods on images nobody gave a kernel for: the kernel is estimated (blind/estimate_kernel.h)
// and the chosen method deconvolves with it, so `-m unrolled --kernel estimate` means a classical
// estimate followed by a learned deconvolution. Two modes:
//
//  * estimate        one kernel for the whole image (camera shake of a static scene);
//  * estimate-local  a rows x cols grid of kernels for spatially varying blur (GoPro / REDS / RSBlur:
//                    camera rotation, depth, moving objects). Each tile is estimated on its cell widened
//                    by `overlap` of the cell size on every side (more edges, fewer boundary effects).
//                    A tile with too few edges (edge density below `min_edge_ratio` of the median
//                    tile's) is not estimated on its own: it borrows the mean of its estimated
//                    4-neighbours' kernels (else of all estimated tiles, else the whole image's).
//                    Deconvolution is tile-wise: the method runs on each tile (its cell widened by 1.5
//                    kernel sizes) with that tile's kernel, and the results are cross-faded with raised
//                    cosines over a band one kernel wide centred on each cell edge (a partition of
//                    unity). The band is narrow on purpose: where blur changes abruptly (a moving
//                    object), a tile's result past its cell was deconvolved with the wrong kernel. Chosen over an efficient-filter-flow forward model (Hirsch et
//                    al., CVPR 2010) inside the data step because it works with every registered method
//                    unchanged -- classical, PnP, unrolled -- whereas EFF would need a data step per
//                    method that takes a space-varying operator (and the learned networks were trained
//                    on uniform blur). The price: blur that varies within a tile is modelled as uniform.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "blind/estimate_kernel.h"
#include "eval/methods.h"

namespace unroll {

enum class KernelSource {
  Given,          ///< the request's kernel (an error for a non-blind method without one)
  Estimate,       ///< one kernel estimated from the image
  EstimateLocal,  ///< a grid of kernels estimated per tile
  Perturbed,      ///< the true kernel, deliberately wrong (datasets/kernels.h perturb_kernel): the harness's
                  ///< robustness protocol (`unroll eval --kernel perturbed:LEVEL`)
};

/// "given", "estimate", "estimate-local", "perturbed".
KernelSource parse_kernel_source(const std::string& name);
std::string kernel_source_name(KernelSource source);

struct LocalKernelOptions {
  int64_t rows = 2, cols = 3;    ///< the grid
  double overlap = 0.5;          ///< each tile widened by this fraction of its cell on every side, in [0, 2]
  double min_edge_ratio = 0.25;  ///< tiles with less edge density than this x the median tile's borrow, in [0, 1]
  /// Throws unroll::Error when the grid is finer than an image of height x width allows (cells under
  /// 32 px, or too small for the kernel size).
  void validate(int64_t height, int64_t width, int64_t kernel_size) const;
};

/// Parses "RxC" ("3x4": 3 rows, 4 columns); throws naming `what`.
std::pair<int64_t, int64_t> parse_grid(const std::string& text, const std::string& what = "--grid");

struct KernelGrid {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> row_edges, col_edges;  ///< cell boundaries in pixels (rows + 1, cols + 1 entries)
  torch::Tensor kernels;                      ///< [rows * cols, 1, k, k], row-major
  std::vector<bool> borrowed;                 ///< per tile: too few edges, kernel taken from neighbours
};

struct EstimatedKernels {
  KernelSource source = KernelSource::Estimate;
  torch::Tensor kernel;             ///< [k,k]: the whole image's kernel (both modes)
  std::optional<KernelGrid> grid;   ///< estimate-local
  BlindEstimate whole;              ///< the whole-image estimate's details (size, noise, warning, ...)
  double seconds = 0;
  std::vector<std::string> warnings;
};

/// Estimates the kernel(s) of `blurred` ([N=1,C,H,W] or [C,H,W] / [H,W]) as `source` says (not Given).
EstimatedKernels estimate_kernels(const torch::Tensor& blurred, KernelSource source,
                                  const BlindEstimateOptions& options = {}, const LocalKernelOptions& local = {});

/// The kernel the methods get under KernelSource::Perturbed: datasets/kernels.h perturb_kernel(true_kernel,
/// level, seed), on `blurred`'s device; `whole` holds its size and the blurred image's (Immerkaer) noise
/// estimate, used when the request gives no noise level.
EstimatedKernels perturbed_kernels(const torch::Tensor& blurred, const torch::Tensor& true_kernel, double level,
                                   uint64_t seed);

/// A given kernel [k,k] refined against `blurred` (blind/estimate_kernel.h refine_kernel, `iterations`
/// alternations at full resolution; `options` as for an estimate): the robust route for a kernel that
/// is only approximately right (`--refine-kernel N`). `source` is kept (Given or Perturbed); a flat
/// image keeps the kernel, with a warning.
EstimatedKernels refine_kernels(const torch::Tensor& blurred, const torch::Tensor& kernel, KernelSource source,
                                int iterations, const BlindEstimateOptions& options = {});

/// The noise level the deconvolution assumes with an estimated kernel when the request does not give
/// one (sigma < 0): the estimate's (Immerkaer) noise, but at least this floor. An estimated kernel is
/// never exact, and the residual of a wrong kernel acts like noise in the data term; with the bare
/// noise estimate of a clean photo (often under 1/255) every method is under-regularised and rings
/// along the blur (measured on the ircnn_real photos, docs/blind.md). A given --noise is used as is.
/// Methods with model_noise measure their kernel's model error against the estimate itself
/// (DeblurRequest::pixel_sigma), not against the floor.
constexpr double kEstimatedKernelSigmaFloor = 2.55 / 255.0;
double estimated_kernel_sigma(const DeblurRequest& request, const EstimatedKernels& kernels);

/// Runs `method` (non-blind) with the estimated kernel(s): uniform, the request with `kernels.kernel`;
/// local, tile by tile, blended. The request's own kernel is ignored; its sigma, when unknown, is
/// estimated_kernel_sigma.
SolverResult deblur_with_kernels(const std::string& method, const DeblurRequest& request, const MethodParams& params,
                                 const EstimatedKernels& kernels);

/// The image with each tile's kernel drawn over its cell centre (magnified, normalised to its maximum,
/// on a dark square; borrowed tiles outlined), and the cell borders: a picture of the kernel grid.
/// image [1,C,H,W] in [0,1]; returns [1,3,H,W].
torch::Tensor draw_kernel_grid(const torch::Tensor& image, const KernelGrid& grid);

}  // namespace unroll
