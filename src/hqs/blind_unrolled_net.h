// The blind unrolled HQS network (issue 26): the hyper-parameter network also supplies the blur kernel,
// and kernel steps run inside the unfolding, so the network needs no kernel.
//
//   [k_0, gamma_1..K, c_alpha, c_beta] = g(y, sigma)                       (BlindHyperNet, "g.")
//   [alpha_1..K, beta_1..K] = h([sigma, 1]) * exp([c_alpha, c_beta])       (the non-blind HyPaNet, "u.h.")
//   z_0 = y
//   for i = 1..K:
//     k_i = k_{i-1}                                          (i = 1, or i > 1 + kernel_steps)
//     k_i = P( argmin_k ||grad(z_{i-1}) * k - grad(y)||^2 + gamma_i e(z_{i-1}) ||k||^2 )   (otherwise)
//     x_i = argmin_x ||k_i * x - y||^2 + alpha_i ||x - z_{i-1}||^2          (core FourierDataStep)
//     z_i = prior_i([x_i, beta_i map])                                      (the ResUNet priors, "u.p.")
//   output z_K and k_K.
// The kernel step is blind/kernel_step.h's: the least-squares kernel in the gradient domain, constrained
// to its k x k support and solved by conjugate gradients started from k_{i-1}, then P = project_kernel
// (non-negative, small values and stray components removed, sum 1, re-centred). gamma_i is relative:
// e(z) = sum of the squared gradients of z (the autocorrelation at lag 0, the diagonal of the normal
// equations), so gamma_i does not depend on the image size or contrast. The first iteration has no
// kernel step: z_0 = y is still blurred, and the least-squares kernel of y against itself is a delta.
//
// The kernel head. A kernel cannot be read off a globally pooled CNN feature well, but its
// autocorrelation can be read off the blurred image: natural-image gradients are nearly white, so the
// autocorrelation of grad(y) is about the autocorrelation of k (plus the noise's, at small lags) --
// the power-spectrum route to blur identification (Yitzhaky & Kopeika 1997; Goldstein & Fattal, ECCV
// 2012). g computes the normalised autocorrelations of the horizontal and vertical gradients of y's
// luminance at lags -(k-1)..k-1 ((2k-1)^2 maps, by FFT, invariant to where the content lies), stacks
// the noise level as a third map, and runs a small CNN on them: three 3x3 convolutions, then a stride-2
// 3x3 convolution that takes the (2k-1)-wide lag grid to the k-wide kernel grid (a kernel of extent L
// has an autocorrelation of extent 2L), then a 1x1 convolution to logits, plus a learnt logit map
// ("g.kernel_bias") that starts as the log of a centred Gaussian of std 1.5 px, and a softmax over the
// k^2 taps: k_0 >= 0, sum 1. The untrained head thus proposes a small Gaussian: a mild deconvolution
// that the kernel steps grow from (a flat start would deconvolve by a box, whose spectral zeros blow
// the first data step up). The autocorrelation does not tell k from its half-turn; the kernel steps,
// which see the restored image, settle that. The CNN's features, mean-pooled, with sigma, feed an MLP
// for gamma (softplus) and the log-corrections c_alpha, c_beta of the non-blind schedule; the
// corrections' layer starts at zero, so a network warm-started from a non-blind one (from_unrolled)
// keeps its alpha and beta at step 0. Option kernel_init = Classical replaces k_0 by the classical
// estimator's kernel (blind/estimate_kernel.h; inference only, not differentiable).
//
// With an oracle kernel (forward_with_kernel) and no kernel steps the network is exactly the non-blind
// UnrolledNet it holds (tested). State dict: "u." the non-blind network (USRNet names below it), "g."
// the head, and the buffer "g.config" = [kernel_size, kernel_steps, cg_iterations] so a checkpoint
// carries its architecture (load_blind_unrolled_net).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "hqs/unrolled_net.h"

namespace unroll {

enum class KernelInit {
  Head,       ///< the learnt kernel head (default)
  Classical,  ///< blind/estimate_kernel.h's estimate (inference only)
};

struct BlindUnrolledNetOptions {
  UnrolledNetOptions unrolled;  ///< the non-blind network inside: iterations, hyper-network, priors
  int64_t kernel_size = 31;     ///< k: odd, 3..63
  /// Iterations 2..1+kernel_steps run a kernel step; 0..iterations-1; -1 = all but the first.
  int kernel_steps = -1;
  int cg_iterations = 20;       ///< conjugate-gradient steps per kernel step, >= 1
  int64_t head_channels = 32;   ///< width of the kernel head's CNN and MLP
  KernelInit kernel_init = KernelInit::Head;
  int effective_kernel_steps() const { return kernel_steps < 0 ? unrolled.iterations - 1 : kernel_steps; }
  void validate() const;
};

/// The hyper-parameter network of the blind network ("g."): kernel head and per-iteration weights.
class BlindHyperNetImpl : public torch::nn::Module {
 public:
  BlindHyperNetImpl(int64_t kernel_size, int iterations, int64_t channels);
  struct Output {
    torch::Tensor kernel;   ///< k_0, [N,1,k,k], >= 0, sums to 1
    torch::Tensor gamma;    ///< [N,K] > 0 (relative kernel-step regularisers)
    torch::Tensor log_alpha, log_beta;  ///< [N,K,1,1] corrections of the non-blind schedule
  };
  /// y [N,C,H,W] (H, W >= 2k), sigma [N,1,1,1].
  Output forward(const torch::Tensor& y, const torch::Tensor& sigma);
  /// The head's input: normalised gradient autocorrelations of y's luminance and the sigma map,
  /// [N,3,2k-1,2k-1].
  torch::Tensor features(const torch::Tensor& y, const torch::Tensor& sigma) const;

 private:
  int64_t kernel_size_;
  int iterations_;
  torch::nn::Sequential body{nullptr};
  torch::nn::Conv2d logits{nullptr};
  torch::Tensor kernel_bias_;  ///< learnt [1,1,k,k] logit offset, starts at a centred Gaussian's log
  torch::nn::Sequential mlp{nullptr};
  torch::nn::Linear weights{nullptr};
};
TORCH_MODULE(BlindHyperNet);

struct BlindUnrolledOutput {
  torch::Tensor image;                     ///< z_K
  torch::Tensor kernel;                    ///< k_K, [N,1,k,k]
  std::vector<torch::Tensor> kernels;      ///< k_0 (initial), k_1..k_K
  std::vector<torch::Tensor> prior_steps;  ///< z_1..z_K when intermediates are kept
  std::vector<torch::Tensor> data_steps;   ///< x_1..x_K when intermediates are kept
  torch::Tensor alpha, beta, gamma;        ///< [N,K] each
};

class BlindUnrolledNetImpl : public torch::nn::Module {
 public:
  explicit BlindUnrolledNetImpl(const BlindUnrolledNetOptions& options = {});
  /// y [N,C,H,W] (C the priors' channels; H, W >= 2 kernel_size), sigma [N,1,1,1] or a scalar tensor.
  BlindUnrolledOutput forward(const torch::Tensor& y, const torch::Tensor& sigma, bool keep_intermediates = false);
  /// The same with k_0 = `kernel` ([kh,kw] or [N,1,kh,kw], sides <= kernel_size; zero-padded about its
  /// centre (kh/2, kw/2), an even side first at the bottom / right) instead of the head's: with
  /// kernel_steps = 0 exactly the non-blind network on that kernel.
  BlindUnrolledOutput forward_with_kernel(const torch::Tensor& y, const torch::Tensor& kernel,
                                          const torch::Tensor& sigma, bool keep_intermediates = false);
  const BlindUnrolledNetOptions& options() const { return options_; }
  /// Changes options().kernel_steps; `persist` also records it in the checkpoint's g.config (training
  /// on with another value), else it is an inference choice.
  void set_kernel_steps(int steps, bool persist = false);
  /// The kernel_steps the checkpoint records (g.config), -1 = all after the first.
  int recorded_kernel_steps() const;
  void set_kernel_init(KernelInit init) { options_.kernel_init = init; }
  void set_alternate_transforms(bool on) { u_->set_alternate_transforms(on); }
  UnrolledNet unrolled() const { return u_; }
  BlindHyperNet head() const { return g_; }
  int64_t channels() const { return u_->channels(); }

 private:
  torch::Tensor check_sigma(const torch::Tensor& y, const torch::Tensor& sigma) const;
  BlindUnrolledOutput run(const torch::Tensor& y, const torch::Tensor& sigma, const BlindHyperNetImpl::Output& g,
                          bool keep_intermediates);

  BlindUnrolledNetOptions options_;
  UnrolledNet u_{nullptr};
  BlindHyperNet g_{nullptr};
  torch::Tensor config() const;  ///< the g.config buffer (looked up: loading may replace it)
};
TORCH_MODULE(BlindUnrolledNet);

/// The blind network around a copy of a trained non-blind network `source` (same priors and hyper-network;
/// new kernel head). Its output with an oracle kernel and no kernel steps equals `source`'s.
BlindUnrolledNet blind_from_unrolled(const UnrolledNet& source, BlindUnrolledNetOptions options);

/// True when `state` holds a blind unrolled network (its "g.config" entry).
bool is_blind_unrolled_state(const StateDict& state);

/// Reads a checkpoint written by this network (architecture from g.config and the "u." entries) and
/// loads it strictly. Throws unroll::Error naming the file for any other checkpoint (a non-blind unrolled
/// network: "use --method unrolled").
BlindUnrolledNet load_blind_unrolled_net(const std::string& path);

/// load_blind_unrolled_net on a state dict already read; `source` names it in errors.
BlindUnrolledNet blind_unrolled_net_from_state(const StateDict& state, const std::string& source);

/// The state dict of `net` as save_state_dict writes it (USRNet names under "u.", the head under "g.").
void save_blind_unrolled_net(const BlindUnrolledNet& net, const std::string& path);

}  // namespace unroll
