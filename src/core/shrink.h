// Proximal operators of sparsity penalties on image gradients, shared by ADMM-TV, HQS-TV and the
// TV prior. Gradients are [N,C,2,H,W] as produced by grad_circular().
#pragma once

#include <torch/torch.h>

namespace unroll {

/// argmin_w t|w| + 1/2 (w - v)^2, element-wise (anisotropic TV).
torch::Tensor soft_threshold(const torch::Tensor& v, double t);

/// Group shrinkage of the 2-vector (dx, dy) at each pixel: argmin_w t||w||_2 + 1/2 ||w - v||^2
/// (isotropic TV). `v` is [N,C,2,H,W].
torch::Tensor group_soft_threshold(const torch::Tensor& v, double t);

/// Moreau complements of the two shrinkages, v - soft_threshold(v, t) and v - group_soft_threshold(v, t):
/// the projection of v onto the l-infinity ball (element-wise clamp to [-t, t]) or, per pixel, of the
/// 2-vector (dx, dy) onto the l2 ball of radius t. This is the scaled dual update of ADMM-TV,
/// u <- u + Dx - z = v - shrink(v) with v = Dx + u. Written into `out` (reallocated only if its shape,
/// dtype or device do not match v; must not overlap v). Not differentiable (out= writes).
void project_linf_ball_out(const torch::Tensor& v, double t, torch::Tensor& out);
void project_group_ball_out(const torch::Tensor& v, double t, torch::Tensor& out);

/// argmin_w |w|^alpha + beta/2 (w - v)^2 for 0 < alpha <= 1, element-wise (Krishnan & Fergus 2009's
/// w-subproblem). alpha = 1 is soft thresholding with 1/beta; other exponents are solved by Newton's
/// method on the non-zero branch, compared against w = 0.
torch::Tensor hyper_laplacian_prox(const torch::Tensor& v, double alpha, double beta);

}  // namespace unroll
