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

/// argmin_w |w|^alpha + beta/2 (w - v)^2 for 0 < alpha <= 1, element-wise (Krishnan & Fergus 2009's
/// w-subproblem). alpha = 1 is soft thresholding with 1/beta; other exponents are solved by Newton's
/// method on the non-zero branch, compared against w = 0.
torch::Tensor hyper_laplacian_prox(const torch::Tensor& v, double alpha, double beta);

}  // namespace unroll
