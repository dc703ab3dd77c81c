// Uniform blind kernel estimation: coarse-to-fine MAP with an L0 intensity + gradient prior.
//
// For a blurred image y = k ⊛ x + n (one kernel for the whole image) it alternates, at every level of
// an image pyramid (scale step `scale_step`, about sqrt(2), from a 3x3 kernel at the coarsest level to
// the full kernel size), `iterations` times:
//
//  * latent step (Pan, Hu, Su & Yang, "Deblurring text images via L0-regularized intensity and
//    gradient prior", CVPR 2014; Xu, Zheng & Jia, "Unnatural L0 sparse representation for natural
//    image deblurring", CVPR 2013):
//        x = argmin_x ||k ⊛ x - y||^2 + lambda_pixel ||x||_0 + lambda_grad ||grad x||_0
//            [+ lambda_dark ||D(x)||_0, D the dark channel over `dark_patch` x `dark_patch` patches:
//             Pan, Sun, Pfister & Yang, "Blind image deblurring using dark channel prior", CVPR 2016]
//    by half-quadratic splitting with auxiliaries u ~ x, g ~ grad x (and the dark pixels), whose
//    penalties mu, beta grow by `kappa` from 2 lambda to `beta_max` together (one continuation loop;
//    Pan et al. nest two): u, g are hard thresholds (keep u where u^2 >= lambda_pixel/mu, g where
//    |g|^2 >= lambda_grad/beta), and x is core/data_step.h's closed-form FFT solution
//        x = F^-1[(conj(K)F(y) + beta conj(D)F(g) + mu F(u)) / (|K|^2 + beta |D|^2 + mu)]
//    on the Liu-Jia extension of y (core/boundary.h), so the border does not ring.
//  * kernel step (blind/kernel_step.h): the gradient-domain least-squares kernel with Tikhonov weight
//    gamma = kernel_reg x (gradient energy of x), constrained to its support and solved by conjugate
//    gradients on the small normal equations (kernel_least_squares_support; kernel_cg_iterations = 0
//    crops the full-size FFT solution instead), fitted only to the salient latent gradients (Cho & Lee
//    2009's selection: the r sqrt(pixels x taps) largest per orientation, r = gradient_selection), then
//    projected (non-negative, thresholded, isolated components removed, sum 1, re-centred). Both steps
//    run on the Liu-Jia-extended grid, where the periodic model the latent step solved holds, so the
//    kernel step sees no wrap-around across the image border.
//  After each alternation the lambdas are divided by `lambda_decay` down to a floor (Pan et al.: 1.1,
//  1e-4); the floor rises with the noise: max(lambda_min, noise_lambda x sigma^2).
// Between levels the kernel is resampled by resample_kernel() (mass and centre preserved).
//
// Practicalities, all decided here:
//  * Colour is estimated on luminance (0.299 R + 0.587 G + 0.114 B); the kernel serves every channel.
//  * Saturated pixels (any channel >= 1 - saturation_margin, or all channels <= saturation_margin),
//    dilated by `saturation_dilation` pixels, are removed from the data terms: in the latent step they
//    are replaced by the current prediction k ⊛ x (their residual is 0, so they exert no pull), in
//    the kernel step their gradients are zeroed.
//  * The noise level is estimated (core/noise.h, Immerkaer) when not given and raises the lambda floor.
//  * Large images: when a side exceeds `max_region`, the estimate runs on the max_region x max_region
//    window (stepped by max_region/4) with the most edge content (sum of clipped gradient magnitudes of
//    unsaturated pixels above the noise), so the cost is bounded (~that of a max_region^2 image). The
//    kernel is that of the full-resolution image (no downscaling, which would shrink the blur).
//  * Automatic kernel size (kernel_size = 0): the kernel is first estimated at a generous size
//    G = default_max_kernel_size(region) (about an eighth of the smaller side, 11..63) -- thresholding
//    and component removal leave its support as large as the blur needs. The chosen size is then the
//    smallest odd S = 2 (r + auto_margin) + 1 whose centred square of radius r holds `auto_mass` of the
//    mass; the kernel is cropped to S and refined by `refine_iterations` more alternations at the finest
//    level (choose_kernel_size()).
//  * Flat images: when fewer than `min_edge_fraction` of the pixels of the region's 4x4-block average
//    have a gradient above max(0.02, 6 sigma / 4) (averaging lowers the noise and keeps blurred edges),
//    there is nothing to estimate from; the result is a delta kernel (kernel_size, or 3 when automatic)
//    with `warning` set, and the caller decides (the CLI prints it).
//  * Deterministic: no randomness; the same input and options give the same kernel in one process
//    (FFTW plans are cached per shape).
//  * Device-generic: every tensor is allocated with the input's options; only the kernel projection's
//    connected components run on a CPU copy of the (small) kernel.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "blind/kernel_step.h"
#include "core/solver.h"

namespace unroll {

struct BlindEstimateOptions {
  int64_t kernel_size = 0;          ///< odd kernel side; 0 = automatic (header)
  int64_t max_kernel_size = 0;      ///< automatic mode: the generous first size; 0 = default_max_kernel_size()
  double auto_mass = 0.995;         ///< automatic mode: mass held by the chosen support, in (0,1]
  int64_t auto_margin = 2;          ///< automatic mode: pixels added around that support (>= 0)
  int refine_iterations = 4;        ///< automatic mode: alternations at the chosen size after cropping (>= 0; 4
                                    ///< measured better than 2 on the blind protocol, docs/blind.md)
  double noise_sigma = -1.0;        ///< noise std on the [0,1] scale; < 0 = estimated from the image

  double lambda_grad = 3e-2;        ///< L0 gradient weight at the coarsest level (Pan et al. 2014: 4e-3; 3e-2
                                    ///< measured better on the blind protocol, docs/blind.md)
  double lambda_pixel = 0.0;        ///< L0 intensity weight; 0 disables the term (the default: Pan et al. 2014's
                                    ///< 4e-3 is a prior for text images; on natural images it cost 6 of 120 cases)
  bool dark_channel = false;        ///< add the L0 dark-channel term of Pan et al. 2016
  double lambda_dark = 4e-3;        ///< its weight (Pan et al. 2016: 4e-3)
  int64_t dark_patch = 35;          ///< dark-channel patch side at the finest level (odd; scaled per level)
  double lambda_decay = 1.1;        ///< the lambdas are divided by this after every alternation (>= 1)
  double lambda_min = 1e-4;         ///< floor of the decayed lambdas (Pan et al.: 1e-4) ...
  double noise_lambda = 10.0;       ///< ... raised to noise_lambda x sigma^2 for noisy images (>= 0)

  int iterations = 5;               ///< latent/kernel alternations per level (Pan et al.: 5), >= 1
  double scale_step = std::sqrt(2.0);  ///< pyramid scale ratio between levels, in (1, 4]
  double beta_max = 1e5;            ///< end of the HQS continuation (Pan et al.: 1e5)
  double kappa = 2.0;               ///< HQS continuation factor (> 1)
  double kernel_reg = 1e-1;         ///< Tikhonov weight of the kernel step, relative to the gradient energy of x
                                    ///< (1e-1 measured better than 1e-2 on the blind protocol, docs/blind.md)
  double gradient_selection = 2.0;  ///< kernel step: keep the r sqrt(pixels x taps) largest latent gradients per
                                    ///< orientation (Cho & Lee 2009, r = 2); 0 = use all
  int kernel_cg_iterations = 30;    ///< kernel step: CG steps of the support-constrained solution; 0 = crop the full one
  KernelProjectionOptions projection;

  bool mask_saturated = true;       ///< exclude clipped pixels from the data terms
  double saturation_margin = 1.5 / 255.0;  ///< clipped: >= 1 - margin (any channel) or <= margin (all); in [0, 0.5)
  int64_t saturation_dilation = 2;  ///< clipped pixels grown by this many pixels (>= 0)
  int64_t max_region = 512;         ///< larger images: estimate on the max_region^2 window with most edges; 0 = all
  double min_edge_fraction = 1e-3;  ///< fewer edge pixels than this fraction: flat image, delta + warning

  ProgressCallback progress;        ///< called after each alternation (done, planned)
  void validate() const;
};

/// One level of the pyramid as it ran.
struct BlindLevel {
  int64_t height = 0, width = 0;  ///< the (region's) image at this level
  int64_t kernel_size = 0;
  int iterations = 0;
  double lambda_grad = 0;         ///< the gradient weight at the end of the level
  double seconds = 0;
};

struct BlindEstimate {
  torch::Tensor kernel;           ///< [k,k], the input's dtype and device, >= 0, sum 1, centre of mass at (k/2, k/2)
  torch::Tensor latent;           ///< [1,1,h,w] luminance latent image of the finest level (over the region)
  int64_t kernel_size = 0;        ///< k
  bool kernel_size_automatic = false;
  int64_t estimated_size = 0;     ///< the size the pyramid ran at (the generous size when automatic)
  int64_t region_top = 0, region_left = 0, region_height = 0, region_width = 0;  ///< window estimated on
  double noise_sigma = 0;         ///< the noise level used ([0,1] scale)
  bool noise_estimated = false;
  int64_t saturated_pixels = 0;   ///< pixels excluded from the data terms (after dilation, in the region)
  std::vector<BlindLevel> levels; ///< coarsest first; a refinement at the chosen size is the last entry
  double seconds = 0;             ///< wall time of the whole estimate
  std::string warning;            ///< non-empty when the result is a fallback (flat image)
};

/// Estimates the blur kernel of `blurred` ([1,C,H,W], [C,H,W] or [H,W], floating, values nominally in
/// [0,1], C = 1 or 3). Throws unroll::Error for invalid options, a batch of several images, non-finite
/// values, an image smaller than 8x8, or a kernel_size larger than the image.
BlindEstimate estimate_kernel(const torch::Tensor& blurred, const BlindEstimateOptions& options = {});

/// Refines a given kernel [k,k] (say, a published estimate, a measured PSF, or any kernel known to be
/// only approximately right) against the image: `iterations` latent/kernel alternations of the
/// estimator at full resolution, starting from the given kernel zero-padded to refine_kernel_size(k)
/// (room for a trajectory that is longer than given) and from the lambdas the coarse-to-fine estimate
/// would have reached at that size. The options' region, saturation mask, noise level and kernel step
/// apply; kernel_size, the pyramid and the automatic size do not. A flat image returns the given
/// kernel (normalised) with `warning` set. Throws unroll::Error for an invalid kernel or one whose
/// padded size exceeds the image (region).
BlindEstimate refine_kernel(const torch::Tensor& blurred, const torch::Tensor& kernel,
                            const BlindEstimateOptions& options = {}, int iterations = 4);

/// The side refine_kernel works at for a given kernel of side `size`: size + 2 max(2, 0.15 size).
int64_t refine_kernel_size(int64_t size);

/// The generous size of the automatic mode for an image (region) of height x width: the odd number
/// nearest min(height, width) / 8, clamped to [11, 63] and to the image.
int64_t default_max_kernel_size(int64_t height, int64_t width);

/// The automatic size rule on a centred [k,k] kernel: the smallest odd 2 (r + margin) + 1 (at most k,
/// at least 3) whose centred square of radius r holds `mass` of the kernel's mass.
int64_t choose_kernel_size(const torch::Tensor& kernel, double mass, int64_t margin);

/// The kernel sizes of the pyramid for a final size `size`, coarsest first: size / step^l rounded to the
/// nearest odd number, down to 3 (a single level when size <= 3).
std::vector<int64_t> pyramid_kernel_sizes(int64_t size, double step);

/// The latent step alone (header equation) on an image y [N,C,H,W] that is already periodic (extend
/// it first; estimate_kernel uses the Liu-Jia extension) for a kernel [k,k]. The dark-channel term is
/// used when lambda_dark > 0 (patch side dark_patch, odd).
struct L0LatentOptions {
  double lambda_grad = 4e-3;
  double lambda_pixel = 4e-3;
  double lambda_dark = 0.0;
  int64_t dark_patch = 35;
  double beta_max = 1e5;
  double kappa = 2.0;
  void validate() const;
};
torch::Tensor l0_latent_step(const torch::Tensor& y, const torch::Tensor& kernel, const L0LatentOptions& options = {});

}  // namespace unroll
