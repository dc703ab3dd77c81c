// AttentionUNet: a residual U-Net denoiser prior with channel attention in its residual blocks and
// multi-head self-attention over the spatial tokens of its bottleneck. Both attentions can be switched
// off for ablations; with both off it is a plain residual U-Net (ResUNet-like, with biases and any
// number of scales).
//
//   Channel attention: Hu, Shen, Sun, "Squeeze-and-Excitation Networks", CVPR 2018 (as used inside
//   residual blocks by RCAN: Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel
//   Attention Networks", ECCV 2018).
//   Self-attention: Vaswani et al., "Attention Is All You Need", NeurIPS 2017 (pre-norm transformer
//   block); applied at a U-Net bottleneck as in e.g. Chen et al., "TransUNet", 2021. 2-D sinusoidal
//   position encoding as in Carion et al., "End-to-End Object Detection with Transformers" (DETR), 2020.
//   U-Net skeleton and noise-level map: the ResUNet of USRNet / DRUNet (see priors/resunet.h).
//
// Topology, with nc = [c_0, ..., c_{L-1}] (L scales) and nb residual blocks per scale:
//   m_head            3x3 conv (C+1) -> c_0            (image channels, then the noise-level map)
//   m_down{s}, s=1..L-1   nb x Block(c_{s-1}) + 2x2 stride-2 conv c_{s-1} -> c_s
//   m_body            nb x Block(c_{L-1})
//   m_attention       (self_attention only) pre-norm transformer block on the c_{L-1}-dim tokens:
//                       t = tokens + pos;  t = t + MHA(LN(t));  t = t + MLP(LN(t))   (MLP c -> 2c -> c, GELU)
//   m_up{s}, s=L-1..1     2x2 stride-2 transposed conv c_s -> c_{s-1} (priors/up_conv.h) + nb x Block(c_{s-1})
//   m_tail            3x3 conv c_0 -> C
//   x_1 = head(x); x_{s+1} = down_s(x_s); y = attention(body(x_L));
//   y = up_s(y + x_{s+1}) for s = L-1..1;  out = tail(y + x_1) [+ x when global_residual]   (additive skips)
// Block(c): x + SE(conv3x3(ReLU(conv3x3(x)))), where SE (channel_attention only) multiplies by
//   sigmoid(conv1x1(ReLU(conv1x1(avgpool(.))))) with hidden width max(1, c / se_reduction).
// Every convolution has a bias.
//
// Position encoding (position_encoding): Sinusoidal adds a fixed (parameter-free) DETR-style 2-D
// encoding to the tokens: the first c/2 channels encode the row, the last c/2 the column, each as c/4
// sines then c/4 cosines of (integer position) * 1/10000^(k/(c/4)), k = 0..c/4-1, added before the
// first LayerNorm. A fixed encoding works for any image size, which a prior must accept (a learned table
// would fix the token grid). None adds nothing (the attention is then permutation-equivariant over tokens; the convolutions still carry position).
//
// Size: the default options (C=3, nc {32,64,128}, nb 2, 4 heads) have 1,203,907 parameters: 132,480 in the
// self-attention block, 27,424 in the SE units (1,044,003 with both attentions off).
// Cost: global attention (attention_window = 0) over (H/2^(L-1)) * (W/2^(L-1)) tokens is quadratic in
// that count; with 3 scales a 256x256 image gives 4096 tokens (a 4096^2 attention matrix per head).
// Windowed attention (the default, 8x8 tokens) is linear in the image area.
//
// Padding: denoise() and forward() replicate-pad the bottom/right to a multiple of 2^(L-1) and crop back
// exactly, so any H, W >= 1 is accepted.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "priors/prior.h"

namespace unroll {

enum class PositionEncoding {
  None,        ///< no position encoding on the attention tokens
  Sinusoidal,  ///< fixed 2-D sin/cos encoding (DETR); needs nc.back() divisible by 4
};

struct AttentionUNetOptions {
  int64_t channels = 3;                   ///< image channels C (the noise map is an extra input channel)
  std::vector<int64_t> nc = {32, 64, 128};  ///< widths per scale (L = nc.size() >= 1 scales, L-1 downsamplings)
  int64_t nb = 2;                         ///< residual blocks per scale (>= 1)
  bool self_attention = true;             ///< transformer block over bottleneck tokens
  int64_t heads = 4;                      ///< attention heads; must divide nc.back()
  PositionEncoding position_encoding = PositionEncoding::Sinusoidal;
  /// Self-attention within non-overlapping windows of this many x this many bottleneck tokens (Swin /
  /// Uformer style; the position encoding counts within the window, padded tokens are masked), so the
  /// attention sees the same context at every image size. 0 = global attention over all tokens, which
  /// trained on small crops does not carry over to larger images (docs/experiments/README.md (g)).
  int64_t attention_window = 8;
  bool channel_attention = true;          ///< squeeze-and-excitation inside every residual block
  int64_t se_reduction = 4;               ///< SE hidden width = max(1, c / se_reduction)
  bool global_residual = true;            ///< output = input image + network output

  void validate() const;  ///< throws unroll::Error naming the bad field and value

  /// Size multiple forward()/denoise() pad to: 2^(nc.size() - 1).
  int64_t pad_multiple() const { return int64_t{1} << (nc.size() - 1); }
};

/// Squeeze-and-excitation: x * sigmoid(W2 ReLU(W1 avgpool(x))). Parameters fc1 (c -> hidden, 1x1 conv
/// with bias) and fc2 (hidden -> c).
class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

/// Residual block x + [SE](conv3x3(ReLU(conv3x3(x)))), convolutions with bias.
class AttentionResBlockImpl : public torch::nn::Module {
 public:
  AttentionResBlockImpl(int64_t channels, bool channel_attention, int64_t se_reduction);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  SqueezeExcitation se{nullptr};
};
TORCH_MODULE(AttentionResBlock);

/// Pre-norm transformer block over the H*W tokens of a [N,c,H,W] feature map, globally (window 0) or
/// within window x window tiles (the map zero-padded to whole tiles, padded keys masked, cropped back);
/// returns [N,c,H,W]. A map no larger than one window is attended globally (the same result).
class SpatialSelfAttentionImpl : public torch::nn::Module {
 public:
  SpatialSelfAttentionImpl(int64_t channels, int64_t heads, PositionEncoding position_encoding, int64_t window = 0);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  /// The transformer block on sequence-first tokens [L, B, c] (key_padding_mask [B, L] or undefined).
  torch::Tensor block(torch::Tensor tokens, const torch::Tensor& key_padding_mask);

  int64_t channels_, window_;
  PositionEncoding position_encoding_;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::MultiheadAttention attention{nullptr};
  torch::nn::Linear mlp1{nullptr}, mlp2{nullptr};
};
TORCH_MODULE(SpatialSelfAttention);

/// The fixed 2-D sinusoidal encoding [c,H,W] with `options` (c divisible by 4), see the file comment.
torch::Tensor sinusoidal_position_encoding_2d(int64_t channels, int64_t height, int64_t width,
                                              const torch::TensorOptions& options);

class AttentionUNet : public Prior {
 public:
  explicit AttentionUNet(const AttentionUNetOptions& options = {});

  /// x: [N,C+1,H,W] (image channels, then the noise-level map), any H, W >= 1. Returns [N,C,H,W].
  torch::Tensor forward(const torch::Tensor& x);

  /// Appends the constant noise-level map sigma ([N,1,1,1], [1,1,1,1] or 0-dim) and runs forward().
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma) override;
  using Prior::denoise;

  std::string kind() const override { return "attention-unet"; }
  int64_t channels() const override { return options_.channels; }
  const AttentionUNetOptions& options() const { return options_; }

  /// Zeroes m_tail's weight and bias: with global_residual the network then starts as the identity.
  void zero_init_tail();

 private:
  AttentionUNetOptions options_;
  torch::nn::Conv2d m_head{nullptr}, m_tail{nullptr};
  std::vector<torch::nn::Sequential> m_down_, m_up_;  // m_up_[s] maps scale s+1 -> s
  torch::nn::Sequential m_body{nullptr};
  SpatialSelfAttention m_attention{nullptr};
};

/// The options a state dict written by AttentionUNet (entries under `prefix`) was built with, as far as
/// the weights tell: channels, nc, nb, self_attention, channel_attention and se_reduction. heads,
/// position_encoding and global_residual leave no trace in the weights and keep their defaults (Unroll
/// trains this prior with the defaults). Throws unroll::Error naming the first missing entry.
AttentionUNetOptions attention_unet_options_from_state_dict(const StateDict& state, const std::string& prefix = "");

}  // namespace unroll
