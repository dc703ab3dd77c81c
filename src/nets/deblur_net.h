// One handle on the end-to-end (blind) deblurring networks of this floor (ConvIR, nets/convir.h; the
// seed baselines, nets/seed_baselines.h), so that one trainer task (train/training_tasks.h, task
// "deblur"), the blind evaluation methods (eval/methods.h) and `unroll deblur` handle all of them alike.
//
// The handle knows networks, not names: which family a name builds, how its checkpoints load and which
// sizes it takes are rows of the model-family table (priors/model_family.h make_deblur_net,
// load_deblur_net), the one place a new family is added. ConvIR has three outputs (1/4, 1/2 and full
// scale) and takes the sizes its options allow (nets/convir.h); every other network one output at any
// size >= 1x1.
//
// Checkpoints are the modules' state dicts with PyTorch names (core/checkpoint.h), so ConvIR
// checkpoints written here are official-layout ConvIR checkpoints and vice versa.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nets/convir.h"

namespace unroll {

class DeblurNet {
 public:
  /// The forward pass of a one-output network: blurred [N,3,H,W] -> restored [N,3,H,W], differentiable.
  using Forward = std::function<torch::Tensor(const torch::Tensor&)>;

  DeblurNet() = default;
  /// ConvIR under the name `family`: three outputs, the sizes its options take, official-layout checkpoints.
  DeblurNet(std::string family, ConvIR net);
  /// A one-output network of any size >= 1x1: `module` holds its parameters, `forward` runs it.
  DeblurNet(std::string family, std::shared_ptr<torch::nn::Module> module, Forward forward);
  /// The same for a TORCH_MODULE holder whose forward(x) is the pass (AtrousNet, KaistNet, ...).
  template <class Holder>
  static DeblurNet wrap(std::string family, Holder net) {
    auto impl = net.ptr();
    return DeblurNet(std::move(family), impl, [impl](const torch::Tensor& x) { return impl->forward(x); });
  }

  bool defined() const { return module_ != nullptr; }
  const std::string& family() const { return family_; }
  std::shared_ptr<torch::nn::Module> module() const { return module_; }
  int64_t parameter_count() const;

  /// Sides a training batch must have: multiples of size_multiple(), at least min_side().
  int64_t size_multiple() const;
  int64_t min_side() const;
  /// Smallest training batch: 2 for the ConvIR variants with the MSM (its dynamic filters batch-normalise
  /// globally pooled 1x1 features, which needs two samples in training mode), 1 otherwise.
  int64_t min_train_batch() const;
  /// Throws unroll::Error (prefixed by `what`) when an h x w input is not accepted by outputs().
  void check_size(int64_t h, int64_t w, const std::string& what) const;

  /// The network's outputs for blurred [N,3,H,W] (sides as check_size accepts), coarsest first, the
  /// last one full-size. Differentiable; uses the module's current train/eval mode.
  std::vector<torch::Tensor> outputs(const torch::Tensor& blurred) const;

  /// Blind deblurring of y [N,3,H,W] (or grey [N,1,H,W]: run as RGB and averaged back) of any size
  /// >= 1x1: pads (ConvIR: nets/convir.h convir_deblur), runs without gradients in eval mode (the
  /// training flag is restored), crops back and clamps to [0,1].
  torch::Tensor deblur(const torch::Tensor& y) const;

  /// Writes the state dict (core/checkpoint.h save_state_dict, atomic).
  void save(const std::string& path) const;

 private:
  std::string family_;
  std::shared_ptr<torch::nn::Module> module_;
  ConvIR convir_{nullptr};  ///< set for ConvIR networks
  Forward forward_;         ///< set for the others
};

}  // namespace unroll
