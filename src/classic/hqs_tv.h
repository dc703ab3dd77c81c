// Half-quadratic splitting with a TV or hyper-Laplacian gradient prior (Krishnan & Fergus,
// "Fast image deconvolution using hyper-Laplacian priors", NIPS 2009):
//   min_x lambda/2 ||k ⊛ x - y||^2 + sum |D x|^alpha,   w ≈ D x with penalty beta/2 ||D x - w||^2
//   w <- prox_{|.|^alpha / beta}(D x)                       (core hyper_laplacian_prox)
//   x <- F^-1[(conj(K)F(y) + (beta/lambda) conj(D)F(w)) / (|K|^2 + (beta/lambda)|D|^2)]  (core FourierDataStep)
// with the continuation beta = beta0, beta0 * rate, ... up to beta_max (rate 2*sqrt(2) in the paper).
#pragma once

#include <torch/torch.h>

#include <cmath>

#include "core/boundary.h"
#include "core/solver.h"

namespace unroll {

struct HqsTvOptions {
  double lambda = 1000.0;            ///< data weight (for [0,1] images); see default_hqs_lambda()
  double alpha = 1.0;                ///< prior exponent: 1 = TV, 2/3 or 1/2 = hyper-Laplacian
  double beta0 = 1.0;
  double beta_rate = 2.0 * std::sqrt(2.0);
  double beta_max = 256.0;
  int inner_iterations = 3;          ///< w/x alternations per beta value
  Boundary boundary = Boundary::Circular;
  bool clip = false;
  ProgressCallback progress;
  void validate() const;
  int total_iterations() const;      ///< beta steps x inner iterations
};

SolverResult hqs_tv(const torch::Tensor& blurred, const torch::Tensor& kernel, const HqsTvOptions& options = {});

/// A data weight matched to the noise level sigma ([0,1] scale), calibrated on the DPIR protocol.
double default_hqs_lambda(double sigma, double alpha = 1.0);

}  // namespace unroll
