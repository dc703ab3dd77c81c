// The common interface of denoiser priors, used by plug-and-play HQS (hqs/pnp.h) and learned unrolled
// networks (hqs/unrolled_net.h).
//
// A prior is a Gaussian denoiser conditioned on the noise level: denoise(x, sigma) returns an estimate
// of the clean image underlying x = clean + N(0, sigma^2). In HQS it is the proximal step of the prior
// term, with sigma the square root of the splitting weight (Zhang et al., "Plug-and-Play Image
// Restoration with Deep Denoiser Prior", TPAMI 2021, eq. 7).
#pragma once

#include <torch/torch.h>

#include "core/checkpoint.h"

#include <functional>
#include <memory>
#include <string>

namespace unroll {

class Prior : public torch::nn::Module {
 public:
  /// x: [N,C,H,W] with any H, W >= 1 (implementations pad internally to what they need and crop back
  /// exactly); sigma: noise level on the [0,1] scale, [N,1,1,1] (or a 0-dim / [1,1,1,1] tensor for the
  /// whole batch). The prior builds any noise-level map it needs itself. Returns [N,C,H,W] with x's
  /// options. Differentiable when the implementation is (learned priors are).
  virtual torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma) = 0;

  /// Convenience overload: one noise level for the whole batch.
  torch::Tensor denoise(const torch::Tensor& x, double sigma) {
    return denoise(x, torch::full({1, 1, 1, 1}, sigma, x.options()));
  }

  /// Short identifier for logs and registries ("drunet", "resunet", "tv").
  virtual std::string kind() const = 0;

  /// Number of image channels the prior accepts (0 = any).
  virtual int64_t channels() const { return 0; }
};

using PriorPtr = std::shared_ptr<Prior>;

/// Builds the prior of Denoiser family `name` (priors/model_family.h: tv, resunet, the official DRUNet /
/// USRNet configurations, attention-unet, convir-s, ...) with its default (untrained) weights. Throws
/// unroll::Error listing the known names otherwise. `zero_init_outputs` is ModelBuild::zero_init_outputs
/// for the ConvIR prior (false: the official initialisation, as before 2026-12-02), ignored by the others.
PriorPtr make_prior(const std::string& name, bool zero_init_outputs = true);

/// The prior of Denoiser family `name` with the weights of `path` (core/checkpoint.h; e.g. the model.pth
/// that train/training_tasks.h train_denoiser writes) loaded strictly, in eval() mode: by name into the
/// family's default configuration, or with the architecture read from the file (resunet). Errors name
/// the file.
PriorPtr load_prior(const std::string& name, const std::string& path);

/// Builds one untrained prior of a fixed architecture (hqs/unrolled_net.h calls it once per prior slot).
using PriorFactory = std::function<PriorPtr()>;

/// The Denoiser family (priors/model_family.h) of the prior whose weights `state` holds under `prefix`,
/// recognised by an entry name only that family holds: "resunet" (USRNet / DRUNet names,
/// m_down1.0.res.0.weight), "attention-unet" (m_body.0.conv1.weight) or "convir-s" (the ConvIR prior,
/// adapter.weight; any ConvIR variant inside). Throws unroll::Error when no family matches.
std::string prior_family_from_state_dict(const StateDict& state, const std::string& prefix = "");

/// That architecture, with the options read from the weights, as a builder of untrained instances.
PriorFactory prior_factory_from_state_dict(const StateDict& state, const std::string& prefix = "");

}  // namespace unroll
