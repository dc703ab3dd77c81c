// Deblurring requests the eval tests share: a test image blurred circularly by a test kernel, with
// Gaussian noise of a known level (the DPIR protocol in miniature).
#pragma once

#include <torch/torch.h>

#include "core/fft.h"
#include "core/noise.h"
#include "eval/methods.h"
#include "test_util.h"

namespace unroll::test {

/// `sharp` blurred circularly by test_kernel(kernel_size, kernel_seed) plus noise of sigma (seed
/// noise_seed); the request knows the kernel, the noise level and the circular boundary.
inline DeblurRequest circular_request(const torch::Tensor& sharp, int64_t kernel_size, uint64_t kernel_seed,
                                      double sigma, uint64_t noise_seed) {
  DeblurRequest r;
  r.kernel = test_kernel(kernel_size, kernel_seed);
  r.blurred = add_gaussian_noise(conv_circular(sharp, r.kernel), sigma, noise_seed);
  r.sigma = sigma;
  r.boundary = Boundary::Circular;
  return r;
}

}  // namespace unroll::test
