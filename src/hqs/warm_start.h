// Warm starts for the unrolled HQS network (hqs/unrolled_net.h).
//
// Training an unrolled network from random weights on a CPU is slow (every step runs the prior K
// times forward and backward). The cheaper route the field uses (DPIR -> USRNet; Zhang et al., TPAMI
// 2021 and CVPR 2020) is to pre-train the prior alone as a noise-level-conditioned denoiser, use it
// in plug-and-play HQS (hqs/pnp.h), and start the unrolled network from that plug-and-play solver:
//
//   * the prior of every iteration is the denoiser (same architecture, weights copied);
//   * the hyper-network h([sigma, 1]) is fitted, alone, to the DPIR schedule (hqs/pnp.h
//     dpir_schedule): alpha_k = lambda s^2 / sigma_k^2 and beta_k = sigma_k for the K iterations,
//     s = max(sigma_floor, sigma), over noise levels sigma in [0, sigma_max].
//
// With both, the untrained unrolled network computes plug-and-play HQS with the circular boundary
// (up to the fit error of the hyper-network, which fit_hyper_net_to_schedule reports), so end-to-end
// training starts from PnP's quality instead of from noise.
//
// The fit minimises the mean squared error of log(h) against log(target) on a fixed grid of noise
// levels (512 linearly spaced in [0, sigma_max] and 512 log-spaced in [sigma_floor, sigma_max]) with
// full-batch Adam and a cosine-decayed learning rate; it is deterministic given the hyper-network's
// initial weights.
#pragma once

#include <torch/torch.h>

#include <string>

#include "hqs/hyper_net.h"
#include "hqs/pnp.h"
#include "hqs/unrolled_net.h"

namespace unroll {

struct ScheduleFitOptions {
  PnpHqsOptions schedule;            ///< sigma_start, sigma_floor, lambda (iterations: the network's K)
  double sigma_max = 50.0 / 255.0;   ///< largest noise level fitted, > sigma_floor
  int64_t steps = 6000;              ///< Adam steps, >= 1
  double lr = 3e-2;                  ///< peak learning rate, > 0 (cosine decay to lr / 100)
  void validate() const;             ///< throws unroll::Error naming the bad field
};

/// How well h reproduces the schedule on the fitting grid, in natural-log units (0.1 = about 10 %).
struct ScheduleFit {
  double mean_log_error = 0.0;  ///< mean |log h - log target| over the grid and the 2K outputs
  double max_log_error = 0.0;   ///< the largest one
};

/// The targets [G, 2K] (alphas then betas) of the DPIR schedule for noise levels `sigmas` ([G] float64).
torch::Tensor dpir_schedule_targets(const torch::Tensor& sigmas, int iterations, const PnpHqsOptions& schedule);

/// Fits `h` (in_nc = 2, input [sigma, 1]; out_nc = 2 * iterations) to the DPIR schedule in place.
ScheduleFit fit_hyper_net_to_schedule(HyperNet& h, int iterations, const ScheduleFitOptions& options = {});

/// Measures the fit of `h` on the fitting grid without changing it.
ScheduleFit measure_schedule_fit(HyperNet& h, int iterations, const ScheduleFitOptions& options = {});

/// An unrolled network of `iterations` steps whose prior is the denoiser stored in `denoiser_path` (an
/// Unroll denoiser such as models/denoiser_small.pth or one trained with model.family attention-unet /
/// convir-s, or an official DRUNet / USRNet-prior state dict; architecture inferred by priors/prior.h
/// prior_family_from_state_dict) and whose
/// hyper-network (`hyper_channels` wide) is fitted to the DPIR schedule. With prior_groups > 1 each
/// prior group (UnrolledNetOptions::prior_groups) starts as its own copy of the denoiser. `fit` (optional) receives the fit quality.
UnrolledNet unrolled_from_denoiser(const std::string& denoiser_path, int iterations, int64_t hyper_channels,
                                   int prior_groups = 1, const ScheduleFitOptions& options = {},
                                   ScheduleFit* fit = nullptr);

}  // namespace unroll
