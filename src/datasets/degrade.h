// Degradation pipeline for synthetic (blurred, sharp) pairs.
//
//   y = Q( clip( P_peak( k (*) x ) + sigma * n ) ),   n ~ N(0, I)
//
// applied in this order:
//  1. blur  k (*) x with core/fft.h: Circular (periodic, the DPIR/USRNet protocol; the FFT data step
//     inverts it exactly), Same (linear, zero outside the image, output H x W), or Valid (only the
//     pixels whose whole kernel support lies inside the image: (H-kh+1) x (W-kw+1); the returned
//     `sharp` is then cropped to the same window, so blurred(i,j) is the blur around sharp(i,j));
//  2. optional Poisson (shot) noise: P_peak(v) = Poisson(peak * max(v,0)) / peak, `peak` being the
//     expected photon count at intensity 1 (Foi et al., "Practical Poissonian-Gaussian noise
//     modeling", IEEE TIP 2008); the signal-dependent variance is v / peak;
//  3. additive white Gaussian noise whose std sigma (on the [0,1] scale, core/tensor.h) is drawn per
//     sample uniformly in [sigma_min, sigma_max] (fixed when they are equal);
//  4. optional clipping to [0,1] and 8-bit quantisation (quantisation implies clipping);
//  5. optional JPEG re-encoding: JPEG lives in the OpenCV layer, so this LibTorch-only file exposes a
//     hook (`jpeg_codec`) that the OpenCV layer fills; asking for JPEG without a hook is an error.
//
// Everything random is drawn from `seed` through generators owned by the call, so the result is a
// pure function of (inputs, options, seed) and identical on every device (noise is drawn on the CPU
// and moved, like core/noise.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

#include "datasets/kernels.h"

namespace unroll {

enum class BlurMode { Circular, Same, Valid };

/// Parses "circular" (or "wrap"), "same", "valid".
BlurMode parse_blur_mode(const std::string& name);
std::string blur_mode_name(BlurMode mode);

struct DegradeOptions {
  BlurMode blur = BlurMode::Circular;
  double sigma_min = 0.0;    ///< AWGN std range on the [0,1] scale, 0 <= sigma_min <= sigma_max
  double sigma_max = 0.0;
  double poisson_peak = 0.0; ///< photons at intensity 1; 0 disables shot noise, otherwise > 0
  bool clip = false;         ///< clip the observation to [0,1]
  bool quantize = false;     ///< round to 8 bits (and clip)
  int jpeg_quality = 0;      ///< 0 = no JPEG; 1..100 = re-encode through `jpeg_codec`
  /// JPEG round trip of a [N,C,H,W] batch in [0,1] at the given quality, returning the same shape;
  /// provided by the OpenCV layer. Called after quantisation.
  std::function<torch::Tensor(const torch::Tensor&, int)> jpeg_codec;

  /// Sets sigma_min = sigma_max = sigma.
  DegradeOptions& fixed_sigma(double sigma) {
    sigma_min = sigma_max = sigma;
    return *this;
  }
  void validate() const;
};

/// A synthetic pair. `blurred` and `sharp` have the same shape (see Valid above), the dtype and
/// device of the input; `kernel` is the kernel used, [kh,kw] or [N,1,kh,kw] with the input's options;
/// `sigma` is the per-sample AWGN std, float64 [N] on the CPU (Poisson noise not included).
struct DegradedPair {
  torch::Tensor blurred;
  torch::Tensor sharp;
  torch::Tensor kernel;
  torch::Tensor sigma;
};

/// Degrades `sharp` ([N,C,H,W], [C,H,W] or [H,W]; returned as [N,C,H,W]) with `kernel` ([kh,kw] for
/// the whole batch or [N,1,kh,kw] per sample).
DegradedPair degrade(const torch::Tensor& sharp, const torch::Tensor& kernel, const DegradeOptions& options,
                     uint64_t seed);

/// As degrade(), with one random kernel per sample drawn by random_kernel(spec, .) from seeds derived
/// from `seed` (the returned kernel is [N,1,k,k]).
DegradedPair degrade_random(const torch::Tensor& sharp, const KernelSpec& spec, const DegradeOptions& options,
                            uint64_t seed);

}  // namespace unroll
