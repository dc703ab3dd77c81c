// Boundary handling for deconvolution of real (non-periodic) images.
//
// FFT solvers assume a circular (periodic) image. A real photograph is not periodic, so a naive
// circular deconvolution rings along the borders. These helpers extend or taper the observation so
// that the periodic assumption holds approximately, run the circular solver on the extended image,
// and crop the result back:
//  * Circular:  nothing (the DPIR protocol blurs circularly, so this is exact there).
//  * Replicate / Reflect: pad by about one kernel size on every side (then to a fast FFT size).
//  * Taper:     MATLAB edgetaper: blend the image towards its blurred copy near the edges.
//  * LiuJia:    Liu & Jia, "Reducing boundary artifacts in image deconvolution", ICIP 2008: extend
//               the image to the bottom/right with bands that are harmonic (minimal Laplacian)
//               and match the opposite edge, so the extended image is smooth across the wrap.
#pragma once

#include <torch/torch.h>

#include <string>

namespace unroll {

enum class Boundary { Circular, Replicate, Reflect, Taper, LiuJia };

/// Parses "circular", "replicate", "reflect", "taper" (or "edgetaper"), "liu-jia" (or "liujia").
Boundary parse_boundary(const std::string& name);
std::string boundary_name(Boundary b);

/// An observation extended for circular deconvolution, and the window holding the original image.
struct Extended {
  torch::Tensor image;  ///< [N,C,H',W']
  int64_t top = 0, left = 0, height = 0, width = 0;
  /// Crops a result computed on the extended grid back to the original window.
  torch::Tensor crop(const torch::Tensor& x) const { return x.narrow(-2, top, height).narrow(-1, left, width); }
};

/// Extends `y` [N,C,H,W] for a kernel of size kh x kw according to `mode`.
Extended extend_for_deconvolution(const torch::Tensor& y, const torch::Tensor& kernel, Boundary mode);

/// MATLAB-style edgetaper: J = alpha * I + (1 - alpha) * (I circularly blurred by k), where alpha is
/// 1 in the interior and falls to 0 at the edges following the normalised autocorrelation of the PSF's
/// projections.
torch::Tensor edgetaper(const torch::Tensor& y, const torch::Tensor& kernel);

/// Liu-Jia smooth extension of y [N,C,H,W] to out_h x out_w (image in the top-left corner).
torch::Tensor liu_jia_extend(const torch::Tensor& y, int64_t out_h, int64_t out_w);

/// Harmonic fill: returns `m` [...,h,w] with its interior replaced by the solution of Laplace's
/// equation whose Dirichlet boundary is the outer ring of `m` (DST-I solver, exact).
torch::Tensor solve_dirichlet_laplace(const torch::Tensor& m);

}  // namespace unroll
