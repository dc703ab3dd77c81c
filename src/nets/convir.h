// ConvIR: Cui, Ren, Knoll, "Revitalizing Convolutional Network for Image Restoration", IEEE TPAMI 2024
// (official code: github.com/c-yn/ConvIR, Motion_Deblurring/models/{ConvIR,layers}.py; this is an
// independent LibTorch re-implementation of that architecture).
//
// A three-scale U-Net (widths b, 2b, 4b with b = base_channel = 32; GELU activations). Every encoder /
// decoder stage is `num_res` residual blocks conv3x3-GELU-[MSM]-conv3x3 (+ skip); only the last block of a
// stage holds the multi-scale module (MSM, `DeepPoolLayer` in the official code): three average-pooled
// branches (pool 8, 4, 2, coarse to fine, each branch fed the upsampled output of the previous one) each
// run a multi-shape kernel = dilated 3x3 "square" attention (a per-sample, per-group 3x3 filter predicted
// from the global mean, with learnable low/high-frequency reweighting) + dilated 1x3 then 3x1 "strip"
// attention, and are summed back at full resolution. Shallow convolution modules (SCM) encode the 1/2 and
// 1/4 nearest-downsampled inputs, which feature-attention fusion (FAM, a 3x3 conv on the concatenation)
// merges into the encoder. Three outputs (1/4, 1/2, full scale), each a residual added to the input
// nearest-downsampled to that scale.
//
// Variants: S / B / L = num_res 4 / 8 / 16 with base_channel 32: exactly 5,530,505 / 8,630,665 /
// 14,830,985 parameters, as the official models. The seed-000 variant is `use_msm = false`, num_res 6.
//
// Parameter and buffer names are those of the official state_dict ("Encoder.0.layers.3.main.1.dynas.0.
// square_att.bn.running_mean", ...), so official checkpoints load by name with load_convir_state().
//
// Shapes: input [N,3,H,W] in [0,1]. H and W must be multiples of 32 with the MSM (4 without: two stride-2
// stages) and, with the MSM, large enough that every pooled map at the 1/4 scale is
// larger than its reflection padding: side >= 4 * pool_i * (dilation_i + 1), i.e. 256 for the official
// dilations {7,9,11}. convir_deblur() pads any input to such a size.
//
// Implementation note: the official square/strip attention unfolds the padded feature map (9x memory)
// and multiplies by a spatially constant per-group filter. That is exactly a depthwise dilated
// convolution with the group's filter, which is what this port runs (same result up to float rounding).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace unroll {

struct ConvIROptions {
  int num_res = 16;                       ///< residual blocks per stage: S/B/L = 4/8/16 (seed 000: 6)
  int base_channel = 32;                  ///< width of the full-scale stage (official: 32, fixed)
  std::vector<int> dilations = {7, 9, 11};  ///< MSM dilations for the pool-8/4/2 branches (deraining: {3,7,9})
  bool use_msm = true;                    ///< false: the seed-000 variant, MSM replaced by identity
  int group = 8;                          ///< dynamic-filter groups (official: 8); base_channel must be divisible
  /// Activation: the official model uses exact (erf) GELU everywhere; only "gelu" is accepted.
  std::string act = "gelu";
  /// Start the three output convolutions (ConvsOut.0/1, feat_extract.5) at zero, so an untrained network
  /// returns its input at every scale and training starts from the blurred image's own score. The
  /// official code keeps PyTorch's default initialisation there (false); it only matters when training
  /// from scratch (as a blind network or inside ConvIRPrior): loaded weights replace it.
  bool zero_init_outputs = true;

  /// Throws unroll::Error naming the first invalid field.
  void validate() const;

  static ConvIROptions small() { return with_blocks(4); }  ///< ConvIR-S, 5,530,505 parameters
  static ConvIROptions base() { return with_blocks(8); }   ///< ConvIR-B, 8,630,665 parameters
  static ConvIROptions large() { return with_blocks(16); }  ///< ConvIR-L, 14,830,985 parameters
  /// "s"/"small", "b"/"base", "l"/"large" (case-insensitive); throws otherwise.
  static ConvIROptions from_variant(const std::string& name);

 private:
  static ConvIROptions with_blocks(int n) {
    ConvIROptions o;
    o.num_res = n;
    return o;
  }
};

// ---- building blocks (exposed so tests and other models can reuse them) --------------------------------

/// Conv (or transposed conv: kernel 4, stride 2, padding k/2-1) + optional BatchNorm + optional GELU,
/// registered as `main.0`, `main.1`, ... like the official BasicConv.
struct ConvIRBasicConvImpl : torch::nn::Module {
  ConvIRBasicConvImpl(int in_channels, int out_channels, int kernel_size, int stride, bool bias = true,
                      bool norm = false, bool gelu = true, bool transpose = false);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential main{nullptr};
};
TORCH_MODULE(ConvIRBasicConv);

/// Dilated square attention ("dynamic_filter"): a tanh-squashed 3x3 filter per sample and channel group,
/// predicted from the global average by a 1x1 conv + BatchNorm, applied with reflection padding; the
/// result is split into low/high frequencies and re-weighted by the learnable lamb_l, lamb_h, inside_all.
struct ConvIRDynamicFilterImpl : torch::nn::Module {
  ConvIRDynamicFilterImpl(int channels, int kernel_size, int dilation, int group);
  torch::Tensor forward(const torch::Tensor& x);
  int kernel_size, dilation, group;
  torch::Tensor lamb_l, lamb_h, inside_all;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvIRDynamicFilter);

/// Dilated strip attention ("spatial_strip_att"): as the square attention with a 1 x k (horizontal,
/// `horizontal = true`, the official H=True) or k x 1 filter, without BatchNorm.
struct ConvIRStripAttentionImpl : torch::nn::Module {
  ConvIRStripAttentionImpl(int channels, int kernel_size, int dilation, int group, bool horizontal);
  torch::Tensor forward(const torch::Tensor& x);
  int kernel_size, dilation, group;
  bool horizontal;
  torch::Tensor inside_all, lamb_l, lamb_h;
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(ConvIRStripAttention);

/// Horizontal then vertical strip attention: gamma * W(H(x)) + beta * x ("cubic_attention").
struct ConvIRCubicAttentionImpl : torch::nn::Module {
  ConvIRCubicAttentionImpl(int channels, int group, int dilation, int kernel_size);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor gamma, beta;
  ConvIRStripAttention H_spatial_att{nullptr}, W_spatial_att{nullptr};
};
TORCH_MODULE(ConvIRCubicAttention);

/// Multi-shape kernel: strip attention + square attention of the same input.
struct ConvIRMultiShapeKernelImpl : torch::nn::Module {
  ConvIRMultiShapeKernelImpl(int channels, int kernel_size, int dilation, int group);
  torch::Tensor forward(const torch::Tensor& x);
  ConvIRDynamicFilter square_att{nullptr};
  ConvIRCubicAttention strip_att{nullptr};
};
TORCH_MODULE(ConvIRMultiShapeKernel);

/// The multi-scale module (official `DeepPoolLayer`): pooled branches 8, 4, 2 with the given dilations.
struct ConvIRMultiScaleModuleImpl : torch::nn::Module {
  ConvIRMultiScaleModuleImpl(int channels, int out_channels, const std::vector<int>& dilations, int group);
  torch::Tensor forward(const torch::Tensor& x);
  std::vector<int64_t> pool_sizes{8, 4, 2};
  torch::nn::ModuleList convs{nullptr}, dynas{nullptr};
  torch::nn::Conv2d conv_sum{nullptr};
};
TORCH_MODULE(ConvIRMultiScaleModule);

/// Residual block: x + conv3x3(MSM-or-identity(GELU(conv3x3(x)))).
struct ConvIRResBlockImpl : torch::nn::Module {
  ConvIRResBlockImpl(int channels, bool with_msm, const ConvIROptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential main{nullptr};
};
TORCH_MODULE(ConvIRResBlock);

/// One encoder or decoder stage (official EBlock / DBlock): `layers` = num_res residual blocks, the last
/// with the MSM when options.use_msm.
struct ConvIRStageImpl : torch::nn::Module {
  ConvIRStageImpl(int channels, const ConvIROptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(ConvIRStage);

/// InstanceNorm2d(affine=True, track_running_stats=False): parameters `weight`, `bias`, no buffers.
struct ConvIRInstanceNormImpl : torch::nn::Module {
  explicit ConvIRInstanceNormImpl(int channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(ConvIRInstanceNorm);

/// Shallow convolution module on a downsampled RGB input: 3x3, 1x1, 3x3, 1x1 convs, then InstanceNorm.
struct ConvIRShallowConvImpl : torch::nn::Module {
  explicit ConvIRShallowConvImpl(int out_channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential main{nullptr};
};
TORCH_MODULE(ConvIRShallowConv);

/// Feature-attention fusion: 3x3 conv of cat(x1, x2).
struct ConvIRFusionImpl : torch::nn::Module {
  explicit ConvIRFusionImpl(int channels);
  torch::Tensor forward(const torch::Tensor& x1, const torch::Tensor& x2);
  ConvIRBasicConv merge{nullptr};
};
TORCH_MODULE(ConvIRFusion);

// ---- the network ------------------------------------------------------------------------------------

struct ConvIRImpl : torch::nn::Module {
  explicit ConvIRImpl(ConvIROptions options = {});

  /// x [N,3,H,W] -> {out_1/4 [N,3,H/4,W/4], out_1/2 [N,3,H/2,W/2], out [N,3,H,W]} (the official order).
  /// Throws unroll::Error if the size is not supported (see the file comment and convir_min_side()).
  std::vector<torch::Tensor> forward(const torch::Tensor& x);

  const ConvIROptions& options() const { return options_; }

  // Official attribute names (they are the state_dict prefixes).
  torch::nn::ModuleList Encoder{nullptr}, feat_extract{nullptr}, Decoder{nullptr}, Convs{nullptr},
      ConvsOut{nullptr};
  ConvIRFusion FAM1{nullptr}, FAM2{nullptr};
  ConvIRShallowConv SCM1{nullptr}, SCM2{nullptr};

 private:
  ConvIROptions options_;
};
TORCH_MODULE(ConvIR);

/// Smallest side the network accepts: 4 * max_i pool_i * (dilation_i + 1) with the MSM (256 for
/// {7,9,11}), 4 without.
int64_t convir_min_side(const ConvIROptions& options);
/// Sides must be multiples of this: 32 with the MSM (so that the pool-8/4/2 branches nest exactly at the
/// 1/4 scale, as the official eval guarantees by padding to 32), 4 without (two stride-2 stages).
int64_t convir_size_multiple(const ConvIROptions& options);

/// Number of trainable parameters (sum of numel over parameters(); buffers excluded).
int64_t module_parameter_count(const torch::nn::Module& module);

// ---- state dicts ------------------------------------------------------------------------------------

/// The model's state in the order of PyTorch's `state_dict()` (for every module in pre-order: its own
/// parameters, then its own buffers), with the official names. Values are the live tensors (not copies).
std::vector<std::pair<std::string, torch::Tensor>> convir_state_dict(const ConvIR& model);

/// Copies `state` (name -> tensor: an official checkpoint's state dict, read by core/checkpoint.h or, for
/// plain dicts, by torch::pickle_load) into `model` by name, strictly: throws unroll::Error naming the
/// variant and the first missing entry (model order), the first entry whose shape differs, or the first
/// unexpected entry. A common "module." prefix (DataParallel checkpoints) is stripped. Values are
/// converted to each target's dtype and device.
void load_convir_state(ConvIR& model, const std::map<std::string, torch::Tensor>& state);
/// The same for an ordered (name, tensor) list such as core/checkpoint.h's StateDict.
void load_convir_state(ConvIR& model, const std::vector<std::pair<std::string, torch::Tensor>>& state);

/// Reads the variant from an official state dict: num_res = number of `Encoder.0.layers.*` blocks,
/// base_channel = output channels of `feat_extract.0.main.0.weight`, use_msm = whether the stages hold
/// `.main.1.` (MSM) entries. The dilations are not stored in checkpoints: they (and `group`) are taken
/// from `defaults` (official motion deblurring: {7,9,11}). Throws unroll::Error if the keys are not a
/// ConvIR state dict.
ConvIROptions convir_options_from_state(const std::vector<std::pair<std::string, torch::Tensor>>& state,
                                        const ConvIROptions& defaults = {});

/// Reads a checkpoint with core/checkpoint.h (bare state dict, plain dict or the official
/// {'model': state_dict} wrapper), builds the variant it describes (convir_options_from_state) and loads
/// it strictly. The model is returned in eval mode on the CPU.
ConvIR load_convir(const std::string& path, const ConvIROptions& defaults = {});

/// Reads a checkpoint into a model built from `options`; a checkpoint of another variant fails naming
/// the first mismatching entry. The model is returned in eval mode on the CPU.
ConvIR load_convir_strict(const std::string& path, const ConvIROptions& options);

/// Writes the model's state dict (official names and order) with core/checkpoint.h save_state_dict;
/// Python reads it with `model.load_state_dict(torch.load(path))`.
void save_convir(const ConvIR& model, const std::string& path);

// ---- standalone blind deblurring ----------------------------------------------------------------------

struct ConvIRDeblurOptions {
  int64_t multiple = 32;  ///< pad each side up to a multiple of this (official eval: 32)
  bool clamp = true;      ///< clamp the output to [0,1] (official eval does)
  void validate() const;
};

/// Deblurs y [N,C,H,W] (or [C,H,W], [H,W]), C = 3 or 1 (grey is run as RGB and averaged back), any
/// size >= 1x1: pads bottom/right by symmetric reflection (without repeating the edge, like
/// F.pad(..., 'reflect'), applied periodically when the padding exceeds the image) to a multiple of
/// options.multiple and at least convir_min_side() -- small inputs are therefore padded up rather than
/// rejected, unlike the official eval --, runs the network without gradients in eval mode (the model's
/// training flag is restored afterwards), keeps the full-scale output and crops it back.
/// Returns the same shape as y.
torch::Tensor convir_deblur(ConvIR& model, const torch::Tensor& y, const ConvIRDeblurOptions& options = {});

/// Pads x [N,C,H,W] at the bottom/right to out_h x out_w by reflection about the last row/column,
/// continuing periodically (period 2(n-1)) when the padding is longer than the image. Differentiable.
torch::Tensor reflect_pad_to(const torch::Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace unroll
