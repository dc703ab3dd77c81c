// ConvIR as an HQS / plug-and-play prior (issue 5): the network of nets/convir.h behind the Prior
// interface, with the noise level fed through an input adapter.
//
// ConvIR is a blind restorer (3 channels in, 3 out, no noise-level input). To let the HQS schedule tell
// it how strong the prior step is, denoise(x, sigma) builds the constant noise-level map (as DRUNet does,
// Zhang et al., TPAMI 2021) and maps cat(x, sigma map) [N,C+1,H,W] to the 3 input channels with a 1x1
// convolution `adapter`. The adapter starts as the identity on the image channels (grey input is
// replicated to RGB) and zero on the noise map, so a pretrained ConvIR checkpoint works unchanged from
// the first step and training learns how to use sigma. The input is then reflection-padded to a size the
// network accepts (convir_deblur's rule), the full-scale output is kept and cropped back; grey priors
// average the three output channels.
//
// Parameters: `net.` + the official ConvIR names (load official weights with load_convir_state(net(),
// ...) or add_prefix(state, "net.")), `adapter.weight` [3,C+1,1,1], `adapter.bias` [3].
#pragma once

#include <torch/torch.h>

#include "core/checkpoint.h"
#include "nets/convir.h"
#include "priors/prior.h"

namespace unroll {

struct ConvIRPriorOptions {
  ConvIROptions net;          ///< the ConvIR variant
  int64_t image_channels = 3;  ///< 3 (RGB) or 1 (grey)
  void validate() const;
};

class ConvIRPrior : public Prior {
 public:
  explicit ConvIRPrior(const ConvIRPriorOptions& options = {});

  /// x [N,C,H,W] with C = image_channels, any H, W >= 1; sigma [N,1,1,1] or one value. Returns
  /// [N,C,H,W] with x's options. Differentiable with respect to x and all parameters.
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma) override;
  using Prior::denoise;

  std::string kind() const override { return "convir"; }
  int64_t channels() const override { return options_.image_channels; }
  const ConvIRPriorOptions& options() const { return options_; }

  ConvIR& net() { return net_; }
  torch::nn::Conv2d& adapter() { return adapter_; }

 private:
  ConvIRPriorOptions options_;
  ConvIR net_{nullptr};
  torch::nn::Conv2d adapter_{nullptr};
};

/// The options of a ConvIRPrior state dict (entries under `prefix`: `net.*` and `adapter.weight`): the
/// ConvIR variant as nets/convir.h convir_options_from_state reads it, and the image channels from the
/// adapter. Throws unroll::Error naming what is missing.
ConvIRPriorOptions convir_prior_options_from_state_dict(const StateDict& state, const std::string& prefix = "");

}  // namespace unroll
