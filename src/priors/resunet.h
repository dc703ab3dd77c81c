// ResUNet: the denoiser of USRNet and DRUNet (a U-Net with residual blocks).
//
//   Zhang, Van Gool, Timofte, "Deep Unfolding Network for Image Super-Resolution", CVPR 2020 (USRNet,
//   class ResUNet in models/network_usrnet_v1.py of https://github.com/cszn/USRNet);
//   Zhang et al., "Plug-and-Play Image Restoration with Deep Denoiser Prior", TPAMI 2021 (DRUNet, class
//   UNetRes in models/network_unet.py of https://github.com/cszn/DPIR).
//
// Topology (both, with nc = [c0,c1,c2,c3] and nb residual blocks per scale):
//   m_head  3x3 conv in_nc -> c0
//   m_down1 nb x ResBlock(c0) + 2x2 stride-2 conv c0 -> c1     (likewise m_down2: c1->c2, m_down3: c2->c3)
//   m_body  nb x ResBlock(c3)
//   m_up3   2x2 stride-2 transposed conv c3 -> c2 (priors/up_conv.h) + nb x ResBlock(c2)   (m_up2: c2->c1, m_up1: c1->c0)
//   m_tail  3x3 conv c0 -> out_nc
//   x1=head(x); x2=down1(x1); x3=down2(x2); x4=down3(x3); x=body(x4);
//   x=up3(x+x4); x=up2(x+x3); x=up1(x+x2); out=tail(x+x1)            (additive skips)
// ResBlock(c): x + conv3x3(act(conv3x3(x))). No convolution has a bias in the official models
// (bias=false here; KAIR's UNetRes defaults to bias=True, which does not load official checkpoints).
// The noise level enters as a constant map appended as the LAST input channel (in_nc = C + 1).
//
// Parameter names equal the official state dicts: m_head.weight, m_down1.0.res.0.weight,
// m_down1.0.res.2.weight, ..., m_down1.2.weight (the strided conv after nb blocks), m_up3.0.weight (the
// transposed conv), m_up3.1.res.0.weight, ..., m_tail.weight.
//
// Padding: USRNet's ResUNet replicate-pads the bottom/right to a multiple of 8 inside forward() and
// crops back; DRUNet's UNetRes does not pad (its inputs must be multiples of 8 and DPIR pads outside,
// also by bottom/right replication). forward() follows `padding`; denoise() always accepts any size.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/unroll_format.h"
#include "priors/prior.h"

namespace unroll {

/// State-dict key of the flag buffer every ResUNet built by Unroll carries: 1 with global_residual, 0
/// without (absent in the official checkpoints; core/unroll_format.h says when its absence is an error).
/// Files written before the buffer was 0/1 carried it only with global_residual = true (value 1).
inline constexpr const char* kGlobalResidualKey = kGlobalResidualFlag;

enum class ResUNetPadding {
  Replicate,  ///< replicate-pad bottom/right to a multiple of 8 in forward() (USRNet)
  None,       ///< forward() requires multiples of 8 (DRUNet / UNetRes); denoise() still pads
};

struct ResUNetOptions {
  int64_t in_nc = 4;                              ///< input channels, including the noise-map channel
  int64_t out_nc = 3;                             ///< output (image) channels
  std::vector<int64_t> nc = {64, 128, 256, 512};  ///< widths of the four scales
  int64_t nb = 2;                                 ///< residual blocks per scale (USRNet 2, DRUNet 4)
  bool bias = false;                              ///< biases on every convolution (false in the official models)
  char act = 'R';                                 ///< 'R' ReLU, 'L' LeakyReLU(0.2)
  ResUNetPadding padding = ResUNetPadding::Replicate;
  /// Size multiple that denoise() (and Replicate forward()) pads to; must be a multiple of 8. DPIR's
  /// deblurring script runs DRUNet through test_mode(mode=2, modulo=16): set 16 to match it exactly.
  int64_t pad_multiple = 8;
  bool noise_map = true;                          ///< the last input channel is the noise-level map
  /// Adds the input image (first out_nc channels) to the output. Off in the official models; on, a
  /// zero-initialised tail makes an untrained network the identity (see zero_init_tail()).
  bool global_residual = false;

  void validate() const;  ///< throws unroll::Error naming the bad field

  static ResUNetOptions usrnet();       ///< USRNet: nc 64..512, nb 2, replicate padding
  static ResUNetOptions usrnet_tiny();  ///< USRNet-tiny: nc [16,32,64,64], nb 2
  static ResUNetOptions drunet(int64_t channels = 3);  ///< DRUNet: nc 64..512, nb 4, no padding
  static ResUNetOptions drunet_small();                ///< the drunet_small fixture: nc [16,32,64,128], nb 2
};

class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(int64_t channels, bool bias, char act);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential res{nullptr};
};
TORCH_MODULE(ResBlock);

class ResUNet : public Prior {
 public:
  explicit ResUNet(const ResUNetOptions& options = {});

  /// x: [N,in_nc,H,W] (image channels then the noise map when options().noise_map). Returns
  /// [N,out_nc,H,W]. With padding None, H and W must be multiples of 8.
  torch::Tensor forward(const torch::Tensor& x);

  /// Appends the constant noise map sigma (see Prior::denoise), pads bottom/right by replication to a
  /// multiple of pad_multiple, runs forward() and crops back. x must have in_nc - 1 channels (in_nc without a
  /// noise map).
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma) override;
  using Prior::denoise;

  std::string kind() const override { return "resunet"; }
  int64_t channels() const override { return options_.noise_map ? options_.in_nc - 1 : options_.in_nc; }
  const ResUNetOptions& options() const { return options_; }

  /// Zeroes m_tail (so that with global_residual the network starts as the identity).
  void zero_init_tail();

 private:
  ResUNetOptions options_;
  torch::nn::Conv2d m_head{nullptr}, m_tail{nullptr};
  torch::nn::Sequential m_down1{nullptr}, m_down2{nullptr}, m_down3{nullptr}, m_body{nullptr};
  torch::nn::Sequential m_up3{nullptr}, m_up2{nullptr}, m_up1{nullptr};
};

/// Recovers the architecture from a ResUNet/UNetRes state dict (entries under `prefix`, e.g. "p." inside
/// USRNet): in_nc, out_nc, nc, nb and bias from the weight shapes. `act` and `padding` are not stored
/// in checkpoints and keep their defaults ('R', Replicate); set padding = None for DRUNet if forward()
/// must behave like UNetRes (denoise() is the same either way). Throws unroll::Error naming the first
/// missing key.
ResUNetOptions resunet_options_from_state_dict(const StateDict& state, const std::string& prefix = "");

/// Reads a ResUNet/DRUNet checkpoint, builds the matching network and loads it strictly.
std::shared_ptr<ResUNet> load_resunet(const std::string& path, ResUNetPadding padding = ResUNetPadding::Replicate);

}  // namespace unroll
