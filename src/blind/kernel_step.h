// The kernel step of blind deconvolution: the least-squares kernel in the gradient domain, in closed
// form by FFT, and its projection onto plausible blur kernels.
//
//   k = argmin_k  sum_d || (d ⊛ x) ⊛ k - d ⊛ y ||^2 + gamma ||k||^2,   d in {horizontal, vertical difference}
//     = F^-1[ sum_d conj(F(d ⊛ x)) F(d ⊛ y) / (sum_d |F(d ⊛ x)|^2 + gamma) ]
// solved on the full (periodic) H x W grid and cropped to its size x size support around the kernel
// centre (size/2, size/2) -- the Fourier solution of Cho & Lee, "Fast motion deblurring", SIGGRAPH Asia
// 2009, used inside the L0 estimators of Xu et al. 2013 and Pan et al. CVPR 2014. The sums also run
// over colour channels. It is the twin of core/data_step.h: the same normal equations with the roles of
// image and kernel exchanged. Gradients rather than intensities make the system well conditioned
// (Levin et al. CVPR 2009; Cho & Lee 2009).
//
// Projection (Pan et al. 2014's estimate_psf + threshold, and the cleaning of Anger et al., IPOL 2019):
//   1. k <- max(k, 0);
//   2. values below `threshold` x max(k) are set to 0;
//   3. 8-connected components of the support other than the heaviest one that carry less than
//      `min_component_mass` of the mass are removed (isolated specks are noise, not blur);
//   4. k <- k / sum(k);
//   5. re-centred: shifted by the integer offset that brings its centre of mass nearest to (size/2, size/2)
//      (zero fill, mass pushed out of the window is dropped and the kernel renormalised).
//
// Differentiability: kernel_least_squares() and project_kernel() are functions of tensors without
// in-place operations on the autograd path; the masks of steps 2-3 and the shift of step 5 are chosen
// from detached values (piecewise-constant decisions), the rest is differentiable in x, y and gamma.
// Issue 26's blind unrolled network calls them in training.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace unroll {

struct KernelProjectionOptions {
  double threshold = 0.05;          ///< values below threshold x max are zeroed (Pan et al. 2014: 0.05); in [0,1)
  double min_component_mass = 0.1;  ///< lighter 8-connected components (fraction of the mass) are removed; in [0,1]
  bool recentre = true;             ///< shift the centre of mass onto the kernel centre (integer shift)
  void validate() const;
};

/// Forward differences without wrap-around of images [N,C,H,W]: [N,C,2,H-1,W-1], slot 0 horizontal
/// x[i,j+1]-x[i,j], slot 1 vertical x[i+1,j]-x[i,j] (both on the common (H-1) x (W-1) window).
torch::Tensor gradient_images(const torch::Tensor& x);

/// The unconstrained least-squares kernel of the header equation from gradient images (any number
/// of directions and channels): latent_grad, blurred_grad [N,C,D,H,W] (same shape); gamma a scalar
/// tensor or [N] (>= 0; > 0 unless the spectrum has no zeros). Returns [N,1,size,size], unprojected (it
/// may be negative and does not sum to 1). size must be odd and <= min(H, W).
torch::Tensor kernel_least_squares(const torch::Tensor& latent_grad, const torch::Tensor& blurred_grad, int64_t size,
                                   const torch::Tensor& gamma);
torch::Tensor kernel_least_squares(const torch::Tensor& latent_grad, const torch::Tensor& blurred_grad, int64_t size,
                                   double gamma);

/// The same least-squares problem with the kernel constrained to its size x size support (zero
/// outside), as Pan et al.'s estimate_psf solves it: the normal equations (T + gamma I) k = c, where c
/// is the cross-correlation of the gradient images and T the (block-Toeplitz) operator of their
/// autocorrelation at lags within +-(size-1) -- both cropped from the same FFT spectra as above, so the
/// image-sized work is three FFTs. The small system is solved by `iterations` conjugate-gradient steps
/// on the size x size grid (stopping early at a relative residual of 1e-6), starting from `init`
/// ([size,size] or [N,1,size,size]; undefined = zero). Better than cropping the full-size solution
/// when the latent image is still inexact (the full solution then spreads energy beyond the support);
/// equal to it when the full solution already lies inside the support. Differentiable (unrolled CG,
/// no in-place operations). Returns [N,1,size,size], unprojected.
torch::Tensor kernel_least_squares_support(const torch::Tensor& latent_grad, const torch::Tensor& blurred_grad,
                                           int64_t size, const torch::Tensor& gamma, int iterations = 30,
                                           const torch::Tensor& init = {});

/// The projection steps 1-5 of the header on [N,1,k,k] or [k,k] (shape kept). A kernel whose
/// positive part is all zero becomes a delta at the centre.
torch::Tensor project_kernel(const torch::Tensor& k, const KernelProjectionOptions& options = {});

/// kernel_least_squares on gradient_images(latent), gradient_images(blurred) (images [N,C,H,W] of the
/// same size), followed by project_kernel. Returns [N,1,size,size].
torch::Tensor kernel_step(const torch::Tensor& latent, const torch::Tensor& blurred, int64_t size, double gamma,
                          const KernelProjectionOptions& options = {});

/// Integer shift (zero fill) of [N,1,k,k] or [k,k] kernels that brings each centre of mass nearest to the
/// centre (k/2, k/2), renormalised to sum 1. Differentiable (the shift is chosen from detached values).
torch::Tensor recentre_kernel(const torch::Tensor& k);

/// The same integer shift towards any point: the centre of mass nearest to (row, col), in pixels.
torch::Tensor move_centre_of_mass(const torch::Tensor& k, double row, double col);

/// Centre of mass (row, column) of a [k,k] kernel, in pixels.
std::pair<double, double> kernel_centre_of_mass(const torch::Tensor& k);

/// Resamples a [k,k] kernel to new_size x new_size (odd) for a spatial scale change `scale` (new pixels
/// per old pixel; sqrt(2) going one pyramid level finer), by bilinear interpolation about the centres:
/// new(i) = old(c_old + (i - c_new) / scale) with c = size/2, zero outside. The result is clamped at 0
/// and renormalised, so mass is preserved exactly and the centre of mass maps to
/// c_new + scale (com_old - c_old) up to interpolation error; a centred kernel stays centred.
torch::Tensor resample_kernel(const torch::Tensor& k, int64_t new_size, double scale);

}  // namespace unroll
