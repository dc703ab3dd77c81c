// The end-to-end (blind) deblurring networks of the model zoo behind one interface, so that one
// trainer task (train/training_tasks.h, task "deblur"), one evaluation method per family
// (eval/methods.h) and `unroll deblur` handle all of them alike.
//
// Families (DeblurNet::families()):
//   convir-s, convir-b, convir-l  ConvIR with the MSM (nets/convir.h; num_res 4 / 8 / 16); inputs
//                                 must be multiples of 32 and at least 256 on each side
//   convir-seed                   the seed-000 variant (num_res 6, MSM removed); sides multiples of 4
//   atrous, atrous-reds           ATROUS_NET with 5 (CIFAR-10) or 10 (REDS) residual blocks
//   kaist, carlo, unet-resnet, unet-ae   the other seed baselines (nets/seed_baselines.h)
// The seed baselines take any size. ConvIR has three outputs (1/4, 1/2 and full scale); the others one.
//
// Checkpoints are the modules' state dicts with PyTorch names (core/checkpoint.h), so ConvIR
// checkpoints written here are official-layout ConvIR checkpoints and vice versa.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "nets/convir.h"

namespace unroll {

class DeblurNet {
 public:
  DeblurNet() = default;

  /// The family names, in the order above.
  static const std::vector<std::string>& families();
  /// A freshly initialised network (torch's global RNG: seed it first). Throws unroll::Error listing
  /// the families for an unknown name.
  /// `zero_init_outputs` (ConvIR families only): ConvIROptions::zero_init_outputs; false gives the
  /// official initialisation, the one of every ConvIR trained here before 2026-12-02.
  /// `convir_base_channel` (ConvIR families only): ConvIROptions::base_channel, 0 = the family's (32, as
  /// every official checkpoint); a narrower network (16: about a quarter of the parameters) keeps the
  /// topology and parameter names, so load() and `unroll deblur --method convir` read it back.
  static DeblurNet create(const std::string& family, bool zero_init_outputs = true, int convir_base_channel = 0);
  /// A network of `family` with the weights of `path`, strictly: a checkpoint of another family or
  /// size fails naming the first mismatching entry. For convir-* the variant is read from the file
  /// (any official ConvIR checkpoint loads); for atrous* the number of blocks is. Eval mode, CPU.
  static DeblurNet load(const std::string& family, const std::string& path);

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
  ConvIR convir_{nullptr};  ///< set for the convir-* families
};

/// The evaluation method (eval/methods.h) that runs checkpoints of `family`: "convir" for every
/// ConvIR family, the family name otherwise ("atrous-reds" -> "atrous").
std::string deblur_method_for_family(const std::string& family);

}  // namespace unroll
