// Training losses for end-to-end deblurring networks and unrolled models.
//
// Every loss takes pred and target of the same shape [N,C,H,W] (floating, same dtype and device) and
// returns a 0-dim tensor (mean over the batch) that is differentiable with respect to pred, is 0 when
// pred == target and positive otherwise. Shape mismatches throw unroll::Error naming the loss.
//
//  * losses::l1, mse         mean |d|, mean d^2 with d = pred - target.
//  * charbonnier             mean(sqrt(d^2 + eps^2)) - eps (Charbonnier; MPRNet's eps = 1e-3). The
//                            constant -eps makes identical images score exactly 0; gradients are
//                            unchanged.
//  * fft                     mean |Re(F pred) - Re(F target)| and |Im ...| over the full 2-D DFT
//                            (torch.fft.fft2, real and imaginary parts stacked, unnormalised): the
//                            frequency term of MIMO-UNet / ConvIR.
//  * sobel (gradient)        mean |S_x pred - S_x target| + mean |S_y pred - S_y target| with the 3x3
//                            Sobel kernels applied per channel on the valid region (H, W >= 3).
//  * ssim                    1 - SSIM(pred, target) with core/metrics.h ssim (Gaussian 11x11, sigma 1.5;
//                            H, W >= 11).
//  * convir_loss             ConvIR's published objective (c-yn/ConvIR Motion_Deblurring/train.py):
//                            sum over the three outputs (1/4, 1/2, full) of L1(out_s, target_s) + 0.1 x
//                            sum of fft(out_s, target_s), where target_s is the target resized to the
//                            output's size (bilinear without antialiasing, as the official code; nearest
//                            as an option).
//
// make_loss() builds any of the above, or a weighted sum such as "l1+0.1*fft+0.05*ssim", by name.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace unroll {

// The pixel losses live in their own namespace: LibTorch's at::l1_loss / at::mse_loss would otherwise
// make unqualified calls ambiguous through argument-dependent lookup.
namespace losses {
torch::Tensor l1(const torch::Tensor& pred, const torch::Tensor& target);
torch::Tensor mse(const torch::Tensor& pred, const torch::Tensor& target);
torch::Tensor charbonnier(const torch::Tensor& pred, const torch::Tensor& target, double eps = 1e-3);
torch::Tensor fft(const torch::Tensor& pred, const torch::Tensor& target);
torch::Tensor sobel(const torch::Tensor& pred, const torch::Tensor& target);
torch::Tensor ssim(const torch::Tensor& pred, const torch::Tensor& target);
}  // namespace losses

/// How a full-size target is brought to the size of a coarser output.
enum class TargetResize {
  Bilinear,  ///< F.interpolate(mode='bilinear', align_corners=False): the official ConvIR train.py
  Nearest,   ///< F.interpolate(mode='nearest'): the input pyramid the network itself uses
};

struct ConvIRLossOptions {
  double fft_weight = 0.1;                          ///< weight of the frequency term (official 0.1)
  TargetResize target_resize = TargetResize::Bilinear;
  void validate() const;
};

/// target [N,C,H,W] resized to h x w (h <= H, w <= W) by `mode`.
torch::Tensor resize_target(const torch::Tensor& target, int64_t h, int64_t w, TargetResize mode);

/// ConvIR's loss for the network's outputs {1/4, 1/2, full} (any number of scales, any order: each
/// output is compared with the target resized to its own size) and the full-size target.
torch::Tensor convir_loss(const std::vector<torch::Tensor>& outputs, const torch::Tensor& target,
                          const ConvIRLossOptions& options = {});

/// A loss between one prediction and its target.
using PixelLoss = std::function<torch::Tensor(const torch::Tensor& pred, const torch::Tensor& target)>;

/// Applies `loss` at every scale: sum over outputs of loss(out_s, resize_target(target, size of out_s)).
torch::Tensor multiscale_loss(const std::vector<torch::Tensor>& outputs, const torch::Tensor& target,
                              const PixelLoss& loss, TargetResize mode = TargetResize::Bilinear);

/// Builds a loss from its name: "l1", "mse" (or "l2"), "charbonnier", "fft", "sobel" (or "gradient"),
/// "ssim" ("perceptual" needs the overload below), or a '+'-separated weighted sum of them with optional "w*" factors ("l1+0.1*fft").
/// Names are case-insensitive, spaces ignored. Throws unroll::Error naming the unknown term and listing
/// the known ones, or a bad weight.
PixelLoss make_loss(const std::string& spec);

/// The same, where the term "perceptual" is also allowed: VGG16 features (train/perceptual_loss.h) with
/// weights read now from `vgg16_weights` (so a missing file fails at start-up). Without weights,
/// make_loss("...perceptual...") throws saying so.
PixelLoss make_loss(const std::string& spec, const std::string& vgg16_weights);

/// Checks a loss specification as make_loss does (names, weights) without building anything (no VGG
/// file is read): what `train --dry-run` uses.
void check_loss_spec(const std::string& spec);

/// The names make_loss() knows (for --help texts and error messages).
std::vector<std::string> loss_names();

}  // namespace unroll
