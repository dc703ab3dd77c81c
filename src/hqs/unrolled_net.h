// USRNet-style deep unfolding network: K iterations of half-quadratic splitting, each a closed-form
// FFT data step followed by a learned ResUNet denoiser, with the per-iteration weights predicted from
// the noise level (and scale factor) by a hyper-parameter network.
//
//   Zhang, Van Gool, Timofte, "Deep Unfolding Network for Image Super-Resolution", CVPR 2020
//   (class USRNet in models/network_usrnet_v1.py of https://github.com/cszn/USRNet).
//
// For an observation y = (k ⊛ x)↓sf + n (circular convolution, keep the top-left pixel of every
// sf x sf block):
//   [alpha_1..K, beta_1..K] = h([sigma, sf])                               (HyperNet, "h.")
//   z_0 = nearest-neighbour upsampling of y by sf                           (y itself for sf = 1)
//   for k = 1..K:
//     x_k = argmin_x ||(k ⊛ x)↓sf - y||^2 + alpha_k ||x - z_{k-1}||^2         (data module, eq. 7)
//     z_k = ResUNet([x_k, beta_k map])                                     (prior, "p.")
//   output z_K.
// (With alternate_transforms, z_k = T_k^-1 ResUNet([T_k x_k, beta_k map]) for the k mod 8-th flip/rotation T_k.)
// For sf = 1 the data module is exactly core FourierDataStep::solve(z, alpha_k)
// (x = F^-1[(conj(K)F(y) + alpha F(z)) / (|K|^2 + alpha)]); USRNet's p2o centres the kernel at
// (kh/2, kw/2) by rolling by -(k//2), the same convention as core psf2otf. For sf > 1 the data module
// uses USRNet's closed form with the sf x sf spectral block average (Zhao et al. 2016).
//
// State-dict names equal USRNet's (p.m_head.weight, ..., h.mlp.4.bias), so official USRNet checkpoints
// (usrnet.pth / usrnet_tiny.pth) load with load_into_module(..., strict). The option prior_groups = G > 1
// gives the iterations G priors ("p.0.", "p.1.", ...; not USRNet-checkpoint-compatible), each serving a
// contiguous run of iterations: iteration k uses prior k * G / K (G = K: one prior per iteration).
//
// The prior is USRNet's ResUNet unless UnrolledNetOptions::prior_factory names another one: any
// priors/prior.h Prior fits the slot (ConvIRPrior, AttentionUNet, TvPrior, ...), called as
// prior->denoise(x_k, beta_k) so each prior builds its own noise-level input. The state dict then reads
// p.<that prior's names>, and unrolled_options_from_state_dict recognises ResUNet, ConvIR-prior and
// AttentionUNet priors from them (set_prior_from_state_dict).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "core/data_step.h"
#include "hqs/hyper_net.h"
#include "priors/resunet.h"

namespace unroll {

struct UnrolledNetOptions {
  int iterations = 8;                               ///< K (n_iter); 8 for USRNet, 6 for USRNet-tiny
  int64_t hyper_channels = 64;                      ///< h_nc; 64 for USRNet, 32 for USRNet-tiny
  ResUNetOptions prior = ResUNetOptions::usrnet();  ///< in_nc = image channels + 1 (unless prior_factory)
  /// Another prior than the ResUNet `prior`: builds one untrained instance, called once per prior group.
  /// Empty: the ResUNet.
  PriorFactory prior_factory;
  /// Number of distinct priors, 1..iterations: 1 = one prior for all iterations (USRNet), iterations =
  /// one per iteration; iteration k uses prior k * prior_groups / iterations.
  int prior_groups = 1;
  /// The prior (group) iteration k uses.
  int prior_index(int k) const { return k * prior_groups / iterations; }
  /// DPIR's x8 alternation for the network: iteration k's prior sees x_k in dihedral transform k mod 8
  /// (hqs/pnp.h augment) and its output is transformed back. The same weights and compute, a free
  /// self-ensemble across iterations (+0.10 / +0.12 dB for the shipped model on the DPIR protocol at
  /// 2.55 / 7.65, models/README.md). An inference choice, not part of the checkpoint: off for USRNet as
  /// published, on by default for `unroll deblur --method unrolled` (eval/methods.cpp).
  bool alternate_transforms = false;
  void validate() const;

  static UnrolledNetOptions usrnet();       ///< official USRNet (17.0M parameters)
  static UnrolledNetOptions usrnet_tiny();  ///< official USRNet-tiny (0.59M parameters)
};

/// Everything a forward pass produced, for deep supervision and debugging.
struct UnrolledOutput {
  torch::Tensor image;                     ///< z_K, [N,C,H*sf,W*sf]
  std::vector<torch::Tensor> data_steps;   ///< x_1..x_K (data-module outputs), when requested
  std::vector<torch::Tensor> prior_steps;  ///< z_1..z_K (prior outputs; the last one is `image`), when requested
  torch::Tensor hyper;                     ///< h([sigma, sf]), [N,2K,1,1]
};

class UnrolledNetImpl : public torch::nn::Module {
 public:
  explicit UnrolledNetImpl(const UnrolledNetOptions& options = {});

  /// y: [N,C,H,W] observation (C = prior image channels); kernel: [kh,kw] or [N,1,kh,kw] (kh <= H*sf,
  /// kw <= W*sf); sigma: noise level [N,1,1,1] or a scalar tensor ([0,1] scale); sf >= 1, the scale
  /// factor (1 = deblurring). Returns the restored image [N,C,H*sf,W*sf].
  torch::Tensor forward(const torch::Tensor& y, const torch::Tensor& kernel, const torch::Tensor& sigma,
                        int64_t sf = 1);

  /// The same pass, also returning the intermediate estimates when `keep_intermediates`.
  UnrolledOutput forward_all(const torch::Tensor& y, const torch::Tensor& kernel, const torch::Tensor& sigma,
                             int64_t sf = 1, bool keep_intermediates = true);

  /// The iteration around any data step (core/data_step.h), for deblurring (sf = 1) with another
  /// forward model, e.g. core/polar.h RotationalDataStep: z_0 = y, x_k = data_step(z_{k-1}, alpha_k),
  /// z_k = prior([x_k, beta_k map]), with [alpha, beta] = h([sigma, 1]).
  UnrolledOutput forward_with(const DataStepFn& data_step, const torch::Tensor& y, const torch::Tensor& sigma,
                              bool keep_intermediates = false);

  const UnrolledNetOptions& options() const { return options_; }
  /// Switches UnrolledNetOptions::alternate_transforms of this network (weights unchanged).
  void set_alternate_transforms(bool on) { options_.alternate_transforms = on; }
  /// The prior used in iteration k (options().prior_index(k) of the prior_groups priors).
  PriorPtr prior(int k) const;
  /// Iteration k's prior step z_k = prior(k)([x, beta map]) (with the k mod 8-th transform when
  /// alternate_transforms); x [N,C,H,W], beta [N,1,1,1].
  torch::Tensor prior_step(int k, const torch::Tensor& x, const torch::Tensor& beta);
  /// The hyper-parameters h([sigma, sf]) [N,2K,1,1] for a deblurring pass (sf = 1): channels 0..K-1 the
  /// data weights alpha_k, K..2K-1 the prior noise levels beta_k; sigma [N,1,1,1].
  torch::Tensor hyper(const torch::Tensor& sigma, double sf = 1.0);
  /// The same, as the ResUNet it is; throws unroll::Error for a network built with another prior.
  std::shared_ptr<ResUNet> resunet_prior(int k) const;
  /// Image channels the network accepts (0 = any, e.g. a TV prior).
  int64_t channels() const { return channels_; }
  HyperNet hyper_net() const { return h_; }

 private:
  /// Checks y and sigma, returns sigma as [N,1,1,1] in y's options.
  torch::Tensor check_inputs(const torch::Tensor& y, const torch::Tensor& sigma) const;
  /// The K iterations from z_0 = `z` with the hyper-parameters `hyper` [N,2K,1,1].
  void iterate(const DataStepFn& data_step, torch::Tensor z, UnrolledOutput& out, bool keep_intermediates);

  UnrolledNetOptions options_;
  std::vector<PriorPtr> priors_;
  int64_t channels_ = 0;
  HyperNet h_{nullptr};
};
TORCH_MODULE(UnrolledNet);

/// Recovers the architecture (iterations, hyper_channels, the prior's family and options, the number of
/// prior groups) from a state dict with USRNet's names (ResUNet priors fill `prior`, ConvIR and
/// attention priors `prior_factory`). Throws unroll::Error if keys are missing.
UnrolledNetOptions unrolled_options_from_state_dict(const StateDict& state);

/// Sets the prior of `options` to the architecture whose weights `state` holds under `prefix`
/// (priors/prior.h prior_family_from_state_dict): a ResUNet fills `prior`, any other family
/// `prior_factory`. Throws unroll::Error when the entries are no known prior.
void set_prior_from_state_dict(UnrolledNetOptions& options, const StateDict& state, const std::string& prefix);

/// Reads an (official or our own) USRNet-style checkpoint, builds the matching network and loads it
/// strictly: load_unrolled_net("usrnet_tiny.pth") gives USRNet-tiny.
UnrolledNet load_unrolled_net(const std::string& path);

/// load_unrolled_net on a state dict already read; `source` names it in errors.
UnrolledNet unrolled_net_from_state(const StateDict& state, const std::string& source);

/// The network `source` with its iterations regrouped over `prior_groups` priors (same iterations,
/// hyper-network and prior architecture): the hyper-network is copied and every new prior starts as a copy
/// of the source prior that served the new group's first iteration, so the output is unchanged. Untying a
/// trained shared-prior network this way lets fine-tuning specialise the priors of early (high noise
/// level) and late iterations while starting from what it already does. Returns a new network on
/// `source`'s device, in its dtype; throws unroll::Error for prior_groups outside 1..iterations.
UnrolledNet regroup_priors(const UnrolledNet& source, int prior_groups);

/// The network `source` (ResUNet priors) with wider priors: prior.nc = `nc`, each at least the source's
/// width at its scale. Built with priors/widen.h embed_narrower, so the output is unchanged and the
/// extra channels start outside the computation until training gives them weight. Returns a new network
/// on `source`'s device; throws unroll::Error for another prior family or narrower widths.
UnrolledNet widen_priors(const UnrolledNet& source, const std::vector<int64_t>& nc);

/// The grey version of a colour network `source` (ResUNet priors on 3 channels + noise map): every
/// prior's first convolution takes one image channel whose weights are the sum of the colour channels'
/// (the noise-map channel kept), and its last convolution outputs the mean of the colour filters. The
/// hyper-network and the data step do not depend on the channels. So one iteration on a grey image y
/// equals the colour network's on (y, y, y) averaged over the channels, at the same sigma (tested); later
/// iterations only approximate it (the colour network's channels part after its first prior step, the
/// grey one averages them at every step). The start of a grey fine-tune (train config data.grey = 1 with
/// model.init_weights a colour network). Returns a
/// new network on `source`'s device, in its dtype; throws unroll::Error for other priors or channels.
UnrolledNet grey_from_colour(const UnrolledNet& source);

/// USRNet's super-resolution data module (sf >= 1) as a reusable operator: precomputes the spectra
/// for (y, kernel, sf) and solves  argmin_x ||(k ⊛ x)↓sf - y||^2 + alpha ||x - z||^2  in closed form.
class SrDataStep {
 public:
  /// y: [N,C,H,W]; kernel [kh,kw] or [N,1,kh,kw]; the solution lives on the (H*sf) x (W*sf) grid.
  SrDataStep(const torch::Tensor& y, const torch::Tensor& kernel, int64_t sf);
  /// z: [N,C,H*sf,W*sf]; alpha: scalar tensor or [N,1,1,1] > 0.
  torch::Tensor solve(const torch::Tensor& z, const torch::Tensor& alpha) const;

 private:
  int64_t sf_, height_, width_;
  torch::Tensor fb_, fbc_, f2b_, fbfy_;
};

/// USRNet's zero-filling upsampler: y placed at the top-left pixel of every sf x sf block.
torch::Tensor upsample_zeros(const torch::Tensor& y, int64_t sf);

}  // namespace unroll
