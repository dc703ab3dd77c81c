// End-to-end baselines of the seed projects (issue 5), re-built in LibTorch so that they train with the
// same trainer and run through the same evaluation as the unrolled networks:
//
//  * AtrousNet  (seed 001, "ATROUS_NET"): 9x9 conv, stride-2 3x3 down-sampling, N residual blocks of
//               two 3x3 atrous (dilated) convolutions whose dilations give an 11x11 receptive field per
//               block (1 + 2*(2+3) = 11 with the default {2,3}), 4x4 stride-2 transposed-conv
//               up-sampling, a 3x3 output conv; output = input + residual; He (Kaiming) initialisation,
//               the output conv zero-initialised by default (AtrousNetOptions::zero_init_tail).
//               N = 5 for CIFAR-10, 10 for REDS.
//  * CarloNet   (seed 001, "CARLO_NET"): a convolutional auto-encoder with symmetric skip connections
//               every two layers in the manner of RED-Net (Mao, Shen, Yang, "Image Restoration Using
//               Very Deep Convolutional Encoder-Decoder Networks with Symmetric Skip Connections",
//               NeurIPS 2016): `depth` 3x3 valid convolutions + ReLU, then `depth` 3x3 valid transposed
//               convolutions; every second decoder layer adds the mirrored encoder feature before its
//               ReLU, and the outermost skip adds the input image to the output.
//  * KaistNet   (seed 001, "KAIST_NET"): a U-Net whose encoder uses residual down-up blocks and whose
//               decoder uses residual up-down blocks (back-projection units in the manner of DBPN, Haris
//               et al., CVPR 2018: 5x5 stride-2 conv, leaky ReLU, 4x4 stride-2 transposed conv), with
//               three full-resolution heads: per-pixel adaptive kernels (k*k = 25 softmax weights), a
//               blending weight map w (sigmoid) and a residual RGB image R; output
//               w * (B conv K_adaptive) + (1 - w) * R with B the blurred input.
//  * UNetAutoencoder (seed 003): the classic contracting/expansive U-Net (Ronneberger et al., MICCAI
//               2015; double 3x3 conv + BatchNorm + ReLU, max-pool, 2x2 transposed-conv up-sampling,
//               concatenated skips, 1x1 output conv) sized for 32x32 CIFAR-10.
//  * UNetResNet (seed 002): a small U-Net with residual blocks whose per-layer parameter counts are
//               those of the seed's layer table (972,739 in total); see UNetResNetImpl for the layout.
//
// All three take [N,3,H,W] images of any size >= 1x1 (they pad internally -- bottom/right reflection,
// nets/convir.h reflect_pad_to -- where their down-sampling or valid convolutions need it, and crop
// back), return [N,3,H,W], and are fully differentiable. The seed repositories are not available to this
// project; where the description leaves a choice open (channel widths, the exact connections of
// the U-Net) it is an Options field or documented below.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace unroll {

// ---- ATROUS_NET ----------------------------------------------------------------------------------------

struct AtrousNetOptions {
  int channels = 64;                ///< feature width
  int num_blocks = 5;               ///< residual blocks (5 CIFAR-10, 10 REDS)
  std::vector<int> dilations = {2, 3};  ///< dilations of the convs inside a block (receptive field 1+2*sum)
  int image_channels = 3;
  /// Start the output conv at zero, so the untrained network is the identity (He initialisation
  /// everywhere else). The un-normalised residual stack otherwise starts with outputs far outside the
  /// image range (initial L1 loss ~2.5), and a 750-step CPU training collapsed to the identity
  /// (output = input to 61 dB). Off reproduces plain He initialisation of every layer.
  bool zero_init_tail = true;
  void validate() const;
  static AtrousNetOptions cifar10() { return {}; }
  static AtrousNetOptions reds() {
    AtrousNetOptions o;
    o.num_blocks = 10;
    return o;
  }
  /// Receptive field of one residual block: 1 + 2 * sum(dilations).
  int block_receptive_field() const;
};

struct AtrousNetImpl : torch::nn::Module {
  explicit AtrousNetImpl(AtrousNetOptions options = {});
  /// x [N,C,H,W], any H, W >= 1 -> x + residual, same shape.
  torch::Tensor forward(const torch::Tensor& x);
  const AtrousNetOptions& options() const { return options_; }

  torch::nn::Conv2d head{nullptr}, down{nullptr}, tail{nullptr};
  torch::nn::ModuleList blocks{nullptr};  ///< each a Sequential of dilated convs (ReLU between)
  torch::nn::ConvTranspose2d up{nullptr};

 private:
  AtrousNetOptions options_;
};
TORCH_MODULE(AtrousNet);

// ---- CARLO_NET -----------------------------------------------------------------------------------------

struct CarloNetOptions {
  int channels = 64;   ///< feature width
  int depth = 5;       ///< conv layers in the encoder (and transposed convs in the decoder); RED-Net 10 = 5
  int skip_every = 2;  ///< symmetric skip connection every this many layers
  int image_channels = 3;
  void validate() const;
};

struct CarloNetImpl : torch::nn::Module {
  explicit CarloNetImpl(CarloNetOptions options = {});
  /// x [N,C,H,W], any H, W >= 1 (inputs smaller than 2*depth+1 are reflection-padded) -> same shape.
  torch::Tensor forward(const torch::Tensor& x);
  const CarloNetOptions& options() const { return options_; }

  torch::nn::ModuleList encoder{nullptr};  ///< Conv2d 3x3 valid
  torch::nn::ModuleList decoder{nullptr};  ///< ConvTranspose2d 3x3 valid

 private:
  CarloNetOptions options_;
};
TORCH_MODULE(CarloNet);

// ---- KAIST_NET -----------------------------------------------------------------------------------------

struct KaistNetOptions {
  int channels = 32;        ///< width of the full-resolution features (doubles per level)
  int levels = 3;           ///< down-sampling levels (input padded to a multiple of 2^levels)
  int kernel_size = 5;      ///< adaptive kernel side (5 -> 25 channels)
  double negative_slope = 0.2;  ///< leaky ReLU slope
  void validate() const;
};

/// Applies a per-pixel kernel field: out[n,c,y,x] = sum_{i,j} K[n, i*k+j, y, x] * B[n, c, y+i-k/2,
/// x+j-k/2] (correlation; replicate padding). B [N,C,H,W], K [N,k*k,H,W].
torch::Tensor apply_per_pixel_kernels(const torch::Tensor& b, const torch::Tensor& k);

/// Residual down-up (encoder) or up-down (decoder) back-projection block.
struct ProjectionBlockImpl : torch::nn::Module {
  /// down = true: [c_in, H, W] -> [c_out, H/2, W/2]; down = false: -> [c_out, 2H, 2W].
  ProjectionBlockImpl(int c_in, int c_out, bool down, double negative_slope);
  torch::Tensor forward(const torch::Tensor& x);
  bool down;
  double slope;
  torch::nn::Conv2d conv_a{nullptr}, conv_c{nullptr};  ///< the two resampling convs of the main direction
  torch::nn::ConvTranspose2d deconv_a{nullptr}, deconv_c{nullptr};
  torch::nn::Conv2d back_conv{nullptr};            ///< back-projection (up-down blocks)
  torch::nn::ConvTranspose2d back_deconv{nullptr};  ///< back-projection (down-up blocks)
};
TORCH_MODULE(ProjectionBlock);

struct KaistNetImpl : torch::nn::Module {
  explicit KaistNetImpl(KaistNetOptions options = {});
  /// b [N,3,H,W] blurred, any H, W >= 1 -> [N,3,H,W].
  torch::Tensor forward(const torch::Tensor& b);
  /// The three heads on a supported size (sides multiples of 2^levels): {K [N,k*k,H,W] (softmax),
  /// w [N,1,H,W] (sigmoid), R [N,3,H,W]}.
  std::vector<torch::Tensor> heads(const torch::Tensor& b);
  const KaistNetOptions& options() const { return options_; }

  torch::nn::Conv2d head{nullptr}, kernel_head{nullptr}, weight_head{nullptr}, residual_head{nullptr};
  torch::nn::ModuleList encoder{nullptr}, decoder{nullptr};

 private:
  KaistNetOptions options_;
};
TORCH_MODULE(KaistNet);

// ---- U-Net autoencoder (seed 003) ----------------------------------------------------------------------

struct UNetAutoencoderOptions {
  int channels = 64;  ///< width of the first level (doubles per level)
  int depth = 3;      ///< pooling levels (32x32 -> 4x4 at depth 3)
  int image_channels = 3;
  void validate() const;
};

struct UNetAutoencoderImpl : torch::nn::Module {
  explicit UNetAutoencoderImpl(UNetAutoencoderOptions options = {});
  /// x [N,C,H,W], any H, W >= 1 (padded to a multiple of 2^depth) -> [N,C,H,W] (no global skip).
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::ModuleList down{nullptr}, up{nullptr}, up_conv{nullptr};
  torch::nn::Sequential bottom{nullptr};
  torch::nn::Conv2d out{nullptr};

 private:
  UNetAutoencoderOptions options_;
};
TORCH_MODULE(UNetAutoencoder);

// ---- U-Net + ResNet (seed 002) --------------------------------------------------------------------------

/// A residual block as in Keras ResNet code: conv3x3-BN-ReLU-conv3x3-BN, plus a 1x1 conv shortcut,
/// then ReLU.
struct SeedResBlockImpl : torch::nn::Module {
  SeedResBlockImpl(int in_channels, int out_channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(SeedResBlock);

/// The seed-002 U-Net + ResNet. The issue gives its layer table by parameter count: conv 448 and 11,008,
/// max-pools, conv 92,288, residual blocks 333,184 and 312,704, transposed convs 147,584 and 73,792,
/// output conv 1,731; 972,739 in total. Those counts determine the layer shapes uniquely when the
/// residual blocks are Keras-style (conv-BN-ReLU-conv-BN + 1x1 conv shortcut; Keras' parameter count
/// includes BatchNorm's moving mean and variance, 4 per channel):
///   e1 = ReLU(conv 3->16)(x)                        448        full resolution
///   e2 = ReLU(conv 19->64)(cat(x, e1))              11,008     full resolution (dense input)
///   p1, p2 = maxpool2(e1), maxpool2(e2)                         1/2
///   e3 = ReLU(conv 80->128)(cat(p1, p2))            92,288     1/2
///   r1 = resblock 144->128 (cat(e3, p1))            333,184    1/2
///   r2 = resblock 128->128 (r1)                     312,704    1/2
///   u1 = ReLU(convT 128->128, 3x3 stride 2)(r2)     147,584    full resolution
///   u2 = ReLU(convT 128->64, 3x3 stride 1)(u1) + e2 73,792     full resolution (U-Net skip)
///   out = x + conv 64->3 (u2)                       1,731
/// The counts are exact; the connections (which tensors are concatenated or added) are the only
/// arrangement of standard U-Net pieces consistent with the channel numbers that we found, since the
/// seed's source is not available. Trainable parameters: 972,739 - 2*(4*128) BatchNorm running
/// statistics = 971,715; parameters + BatchNorm running mean/var = 972,739.
struct UNetResNetImpl : torch::nn::Module {
  UNetResNetImpl();
  /// x [N,3,H,W], any H, W >= 1 (odd sides are reflection-padded to even and cropped back).
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, out{nullptr};
  SeedResBlock res1{nullptr}, res2{nullptr};
  torch::nn::ConvTranspose2d up1{nullptr}, up2{nullptr};
};
TORCH_MODULE(UNetResNet);

/// Keras-style size: trainable parameters plus BatchNorm running mean and variance (not
/// num_batches_tracked), the number Keras' model.summary() reports as "Total params".
int64_t keras_parameter_count(const torch::nn::Module& module);

}  // namespace unroll
