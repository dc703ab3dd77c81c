// Perceptual (VGG feature) loss: Johnson, Alahi, Fei-Fei, "Perceptual Losses for Real-Time Style
// Transfer and Super-Resolution", ECCV 2016, with VGG16 (Simonyan & Zisserman, ICLR 2015) features.
//
// The feature extractor is torchvision's `vgg16().features` truncated after the last requested layer;
// its weights are read from a user-given checkpoint (torchvision's vgg16-397923af.pth, or any state dict
// holding `features.<i>.weight` / `features.<i>.bias` for the needed convolutions; other entries such as
// the classifier are ignored). No weights ship with Unroll, so the file is required and is read in the
// constructor: a missing or wrong file is an error at start-up, not in the middle of training.
//
// loss(pred, target) = sum_l w_l * mean |phi_l(n(pred)) - phi_l(n(target))|, where n() maps [0,1] RGB
// to ImageNet-normalised input (grey images are replicated to RGB) and phi_l are the activations after
// the ReLUs at `layers` (torchvision indices; default relu1_2, relu2_2, relu3_3 = 3, 8, 15). The VGG
// weights are frozen; gradients flow to pred.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "train/losses.h"

namespace unroll {

struct PerceptualLossOptions {
  std::string weights;                    ///< VGG16 checkpoint (required)
  std::vector<int64_t> layers = {3, 8, 15};  ///< ReLU indices in vgg16().features (each a ReLU: 1..29)
  std::vector<double> layer_weights;      ///< one per layer; empty = all 1
  bool imagenet_normalize = true;         ///< subtract ImageNet mean / divide by std first
  void validate() const;
};

class PerceptualLoss {
 public:
  /// Builds the truncated VGG16 and loads its weights; throws unroll::Error naming the file and the
  /// first missing / mis-shaped entry.
  explicit PerceptualLoss(PerceptualLossOptions options);

  /// pred, target [N,C,H,W], C = 1 or 3, values in [0,1]; 0-dim result, differentiable w.r.t. pred.
  torch::Tensor operator()(const torch::Tensor& pred, const torch::Tensor& target) const;

  /// This loss as a PixelLoss (shares the loaded network).
  PixelLoss as_pixel_loss() const;

  const PerceptualLossOptions& options() const { return options_; }

 private:
  PerceptualLossOptions options_;
  std::shared_ptr<torch::nn::SequentialImpl> features_;
};

}  // namespace unroll
