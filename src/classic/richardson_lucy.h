// Richardson-Lucy deconvolution (Richardson 1972, Lucy 1974) with the usual extensions:
//  * boundary: Circular (periodic model), Zero (zero outside the image, exactly what
//    skimage.restoration.richardson_lucy does, which darkens the borders), or Normalized (default):
//    the unknown image is estimated on a grid extended by the kernel size, the observation is
//    compared only inside the image, and the update is divided by A^T 1 (Bertero & Boccacci 2005),
//    so borders are neither darkened nor wrapped.
//  * damping (MATLAB deconvlucy DAMPAR): pixels whose residual is within `damping` of the data
//    (in intensity units, e.g. 3 sigma) are updated less, suppressing noise amplification.
//  * tv_weight: RL-TV (Dey et al. 2006), division by 1 - lambda div(grad x / |grad x|).
//  * accelerate: Biggs & Andrews 1997 vector extrapolation (same fixed point, fewer iterations).
#pragma once

#include <torch/torch.h>

#include "core/solver.h"

namespace unroll {

struct RichardsonLucyOptions {
  enum class BoundaryModel { Circular, Zero, Normalized };
  int iterations = 30;                              ///< >= 1
  double epsilon = 1e-12;                           ///< added to the re-blurred estimate (no 0 division)
  double initial_value = -1.0;                      ///< constant start; < 0: per-channel mean of the input
  BoundaryModel boundary = BoundaryModel::Normalized;
  double damping = 0.0;                             ///< >= 0, intensity units; 0 = off
  double tv_weight = 0.0;                           ///< >= 0 (typ. 0.002); 0 = plain RL
  bool accelerate = false;
  bool clip = false;                                ///< clip the result to [0,1]
  ProgressCallback progress;
  void validate() const;
};

/// blurred: [N,C,H,W] non-negative; kernel: [kh,kw] or [N,1,kh,kw].
SolverResult richardson_lucy(const torch::Tensor& blurred, const torch::Tensor& kernel,
                             const RichardsonLucyOptions& options = {});

}  // namespace unroll
