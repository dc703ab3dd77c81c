// USRNet's hyper-parameter module (HyPaNet): maps the degradation parameters (noise level sigma and
// scale factor sf) to the per-iteration HQS weights.
//
//   Zhang, Van Gool, Timofte, "Deep Unfolding Network for Image Super-Resolution", CVPR 2020, Sec. 3.3;
//   class HyPaNet in models/network_usrnet_v1.py of https://github.com/cszn/USRNet.
//
//   mlp = Conv1x1(in_nc, ch) - ReLU - Conv1x1(ch, ch) - ReLU - Conv1x1(ch, out_nc) - Softplus
//   out = mlp(x) + 1e-6      (strictly positive)
// State-dict names (under the owner's prefix, "h." in USRNet): mlp.0.weight, mlp.0.bias, mlp.2.weight,
// mlp.2.bias, mlp.4.weight, mlp.4.bias.
// In USRNet, in_nc = 2 (input [sigma, sf]) and out_nc = 2K: channels 0..K-1 are the data-term weights
// alpha_k, channels K..2K-1 the noise levels beta_k handed to the prior.
#pragma once

#include <torch/torch.h>

namespace unroll {

struct HyperNetOptions {
  int64_t in_nc = 2;
  int64_t out_nc = 16;    ///< 2 x iterations in USRNet
  int64_t channels = 64;  ///< hidden width (h_nc; 64 for USRNet, 32 for USRNet-tiny)
  void validate() const;
};

class HyperNetImpl : public torch::nn::Module {
 public:
  explicit HyperNetImpl(const HyperNetOptions& options = {});
  /// x: [N,in_nc,1,1] (or [N,in_nc,H,W]: the 1x1 convolutions act per pixel). Returns [N,out_nc,...] > 0.
  torch::Tensor forward(const torch::Tensor& x);
  const HyperNetOptions& options() const { return options_; }

 private:
  HyperNetOptions options_;
  torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(HyperNet);

}  // namespace unroll
