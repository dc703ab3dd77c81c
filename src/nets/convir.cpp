#include "nets/convir.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <set>
#include <sstream>

#include "core/checkpoint.h"
#include "core/unroll_format.h"
#include "core/error.h"
#include "core/tensor.h"

namespace unroll {

namespace F = torch::nn::functional;

namespace {

std::string variant_name(const ConvIROptions& o) {
  std::ostringstream os;
  os << "ConvIR(num_res=" << o.num_res << ", base_channel=" << o.base_channel
     << ", use_msm=" << (o.use_msm ? "true" : "false") << ")";
  return os.str();
}

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

torch::Tensor bilinear_to(const torch::Tensor& y, int64_t h, int64_t w) {
  return F::interpolate(
      y, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(true));
}

torch::Tensor nearest_half(const torch::Tensor& x) {
  return F::interpolate(
      x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{0.5, 0.5})
                                      .mode(torch::kNearest)
                                      .recompute_scale_factor(false));
}

// Low/high-frequency re-weighting shared by the square and strip attentions: `filtered` is the
// dynamic-filter output, `mean` the (directional) average of `x`.
torch::Tensor reweight(const torch::Tensor& x, const torch::Tensor& filtered, const torch::Tensor& mean,
                       const torch::Tensor& inside_all, const torch::Tensor& lamb_l, const torch::Tensor& lamb_h) {
  const auto lo = lamb_l.view({1, -1, 1, 1});
  const auto hi = lamb_h.view({1, -1, 1, 1});
  auto out_low = (filtered * (inside_all + 1.0) - inside_all * mean) * lo;
  return out_low + x * (hi + 1.0);
}

// Applies a per-sample, per-group filter `taps` [N, group, kh*kw] to x [N,C,H,W] (each channel uses its
// group's filter) as a depthwise dilated convolution over the reflection-padded input. `pad` is
// {left, right, top, bottom}.
torch::Tensor grouped_dynamic_conv(const torch::Tensor& x, const torch::Tensor& taps, int64_t group, int64_t kh,
                                   int64_t kw, std::vector<int64_t> pad, std::vector<int64_t> dilation) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto weight = taps.reshape({n, group, 1, kh * kw}).expand({n, group, c / group, kh * kw}).reshape({n * c, 1, kh, kw});
  auto xp = torch::reflection_pad2d(x, pad);
  xp = xp.reshape({1, n * c, xp.size(2), xp.size(3)});
  const std::vector<int64_t> stride{1, 1}, no_padding{0, 0};
  auto out = torch::conv2d(xp, weight, torch::Tensor(), stride, no_padding, dilation, /*groups=*/n * c);
  return out.reshape({n, c, h, w});
}

}  // namespace

// ---- options -----------------------------------------------------------------------------------------

void ConvIROptions::validate() const {
  UNROLL_CHECK(num_res >= 1, "convir: num_res must be >= 1, got ", num_res);
  UNROLL_CHECK(base_channel >= 4 && base_channel % 4 == 0,
               "convir: base_channel must be a positive multiple of 4 (the shallow modules use base/4 and "
               "base/2 channels), got ",
               base_channel);
  UNROLL_CHECK(act == "gelu", "convir: act must be \"gelu\" (the official activation), got \"", act, "\"");
  if (use_msm) {
    UNROLL_CHECK(dilations.size() == 3, "convir: dilations must have 3 entries (pool 8, 4, 2 branches), got ",
                 dilations.size());
    for (size_t i = 0; i < dilations.size(); ++i)
      UNROLL_CHECK(dilations[i] >= 1, "convir: dilations[", i, "] must be >= 1, got ", dilations[i]);
    UNROLL_CHECK(group >= 1 && base_channel % group == 0, "convir: group must divide base_channel (",
                 base_channel, "), got ", group);
  }
}

ConvIROptions ConvIROptions::from_variant(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (s == "s" || s == "small") return small();
  if (s == "b" || s == "base") return base();
  if (s == "l" || s == "large") return large();
  fail("convir: unknown variant \"", name, "\" (expected small, base or large)");
}

int64_t convir_min_side(const ConvIROptions& o) {
  if (!o.use_msm) return 4;
  const int64_t pools[3] = {8, 4, 2};
  int64_t side = 4;
  for (size_t i = 0; i < 3 && i < o.dilations.size(); ++i) side = std::max<int64_t>(side, 4 * pools[i] * (o.dilations[i] + 1));
  return side;
}

int64_t convir_size_multiple(const ConvIROptions& o) { return o.use_msm ? 32 : 4; }

// ---- blocks ------------------------------------------------------------------------------------------

ConvIRBasicConvImpl::ConvIRBasicConvImpl(int in_channels, int out_channels, int kernel_size, int stride, bool bias,
                                         bool norm, bool gelu, bool transpose) {
  if (bias && norm) bias = false;
  main = torch::nn::Sequential();
  if (transpose) {
    main->push_back(torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(in_channels, out_channels, kernel_size)
                                                   .stride(stride)
                                                   .padding(kernel_size / 2 - 1)
                                                   .bias(bias)));
  } else {
    main->push_back(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size).stride(stride).padding(kernel_size / 2).bias(bias)));
  }
  if (norm) main->push_back(torch::nn::BatchNorm2d(out_channels));
  if (gelu) main->push_back(torch::nn::GELU());
  register_module("main", main);
}

torch::Tensor ConvIRBasicConvImpl::forward(const torch::Tensor& x) { return main->forward(x); }

ConvIRDynamicFilterImpl::ConvIRDynamicFilterImpl(int channels, int kernel_size_, int dilation_, int group_)
    : kernel_size(kernel_size_), dilation(dilation_), group(group_) {
  // Registration order = the official state_dict order: lamb_l, lamb_h, inside_all, conv, bn.
  lamb_l = register_parameter("lamb_l", torch::zeros({channels}));
  lamb_h = register_parameter("lamb_h", torch::zeros({channels}));
  inside_all = register_parameter("inside_all", torch::zeros({channels, 1, 1}));
  conv = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, group * kernel_size * kernel_size, 1).bias(false)));
  bn = register_module("bn", torch::nn::BatchNorm2d(group * kernel_size * kernel_size));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor ConvIRDynamicFilterImpl::forward(const torch::Tensor& x) {
  const auto mean = x.mean({2, 3}, /*keepdim=*/true);
  auto taps = torch::tanh(bn->forward(conv->forward(mean)));  // [N, group*k*k, 1, 1]
  const int64_t p = static_cast<int64_t>(dilation) * (kernel_size - 1) / 2;
  auto filtered = grouped_dynamic_conv(x, taps, group, kernel_size, kernel_size, {p, p, p, p}, {dilation, dilation});
  return reweight(x, filtered, mean, inside_all, lamb_l, lamb_h);
}

ConvIRStripAttentionImpl::ConvIRStripAttentionImpl(int channels, int kernel_size_, int dilation_, int group_,
                                                   bool horizontal_)
    : kernel_size(kernel_size_), dilation(dilation_), group(group_), horizontal(horizontal_) {
  conv = register_module("conv",
                         torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, group * kernel_size, 1).bias(false)));
  inside_all = register_parameter("inside_all", torch::zeros({channels, 1, 1}));
  lamb_l = register_parameter("lamb_l", torch::zeros({channels}));
  lamb_h = register_parameter("lamb_h", torch::zeros({channels}));
}

torch::Tensor ConvIRStripAttentionImpl::forward(const torch::Tensor& x) {
  auto taps = torch::tanh(conv->forward(x.mean({2, 3}, /*keepdim=*/true)));  // [N, group*k, 1, 1]
  const int64_t p = static_cast<int64_t>(dilation) * (kernel_size - 1) / 2;
  torch::Tensor filtered, mean;
  if (horizontal) {
    filtered = grouped_dynamic_conv(x, taps, group, 1, kernel_size, {p, p, 0, 0}, {1, dilation});
    mean = x.mean({3}, /*keepdim=*/true);  // AdaptiveAvgPool2d((None, 1))
  } else {
    filtered = grouped_dynamic_conv(x, taps, group, kernel_size, 1, {0, 0, p, p}, {dilation, 1});
    mean = x.mean({2}, /*keepdim=*/true);  // AdaptiveAvgPool2d((1, None))
  }
  return reweight(x, filtered, mean, inside_all, lamb_l, lamb_h);
}

ConvIRCubicAttentionImpl::ConvIRCubicAttentionImpl(int channels, int group, int dilation, int kernel_size) {
  H_spatial_att = register_module("H_spatial_att", ConvIRStripAttention(channels, kernel_size, dilation, group, true));
  W_spatial_att = register_module("W_spatial_att", ConvIRStripAttention(channels, kernel_size, dilation, group, false));
  gamma = register_parameter("gamma", torch::zeros({channels, 1, 1}));
  beta = register_parameter("beta", torch::ones({channels, 1, 1}));
}

torch::Tensor ConvIRCubicAttentionImpl::forward(const torch::Tensor& x) {
  return gamma * W_spatial_att->forward(H_spatial_att->forward(x)) + x * beta;
}

ConvIRMultiShapeKernelImpl::ConvIRMultiShapeKernelImpl(int channels, int kernel_size, int dilation, int group) {
  square_att = register_module("square_att", ConvIRDynamicFilter(channels, kernel_size, dilation, group));
  strip_att = register_module("strip_att", ConvIRCubicAttention(channels, group, dilation, kernel_size));
}

torch::Tensor ConvIRMultiShapeKernelImpl::forward(const torch::Tensor& x) {
  return strip_att->forward(x) + square_att->forward(x);
}

ConvIRMultiScaleModuleImpl::ConvIRMultiScaleModuleImpl(int channels, int out_channels, const std::vector<int>& dilations,
                                                       int group) {
  convs = torch::nn::ModuleList();
  dynas = torch::nn::ModuleList();
  for (size_t i = 0; i < pool_sizes.size(); ++i) {
    convs->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).bias(false)));
    dynas->push_back(ConvIRMultiShapeKernel(channels, 3, dilations.at(i), group));
  }
  register_module("convs", convs);
  register_module("dynas", dynas);
  conv_sum = register_module(
      "conv_sum", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out_channels, 3).padding(1).bias(false)));
}

torch::Tensor ConvIRMultiScaleModuleImpl::forward(const torch::Tensor& x) {
  const int64_t h = x.size(2), w = x.size(3);
  auto resl = x;
  torch::Tensor y, y_up;
  for (size_t i = 0; i < pool_sizes.size(); ++i) {
    const int64_t p = pool_sizes[i];
    auto pooled = torch::avg_pool2d(x, {p, p}, {p, p});
    if (i > 0) pooled = pooled + y_up;
    y = convs->ptr<torch::nn::Conv2dImpl>(i)->forward(pooled);
    y = dynas->ptr<ConvIRMultiShapeKernelImpl>(i)->forward(y);
    resl = resl + bilinear_to(y, h, w);
    if (i + 1 < pool_sizes.size()) y_up = bilinear_to(y, 2 * y.size(2), 2 * y.size(3));
  }
  return conv_sum->forward(torch::gelu(resl));
}

ConvIRResBlockImpl::ConvIRResBlockImpl(int channels, bool with_msm, const ConvIROptions& o) {
  main = torch::nn::Sequential();
  main->push_back(ConvIRBasicConv(channels, channels, 3, 1, true, false, true));
  if (with_msm)
    main->push_back(ConvIRMultiScaleModule(channels, channels, o.dilations, o.group));
  else
    main->push_back(torch::nn::Identity());
  main->push_back(ConvIRBasicConv(channels, channels, 3, 1, true, false, false));
  register_module("main", main);
}

torch::Tensor ConvIRResBlockImpl::forward(const torch::Tensor& x) { return main->forward(x) + x; }

ConvIRStageImpl::ConvIRStageImpl(int channels, const ConvIROptions& o) {
  layers = torch::nn::Sequential();
  for (int i = 0; i < o.num_res; ++i) layers->push_back(ConvIRResBlock(channels, o.use_msm && i == o.num_res - 1, o));
  register_module("layers", layers);
}

torch::Tensor ConvIRStageImpl::forward(const torch::Tensor& x) { return layers->forward(x); }

ConvIRInstanceNormImpl::ConvIRInstanceNormImpl(int channels) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ConvIRInstanceNormImpl::forward(const torch::Tensor& x) {
  return torch::instance_norm(x, weight, bias, /*running_mean=*/{}, /*running_var=*/{}, /*use_input_stats=*/true,
                              /*momentum=*/0.1, /*eps=*/1e-5, /*cudnn_enabled=*/false);
}

ConvIRShallowConvImpl::ConvIRShallowConvImpl(int out_channels) {
  main = torch::nn::Sequential();
  main->push_back(ConvIRBasicConv(3, out_channels / 4, 3, 1, true, false, true));
  main->push_back(ConvIRBasicConv(out_channels / 4, out_channels / 2, 1, 1, true, false, true));
  main->push_back(ConvIRBasicConv(out_channels / 2, out_channels / 2, 3, 1, true, false, true));
  main->push_back(ConvIRBasicConv(out_channels / 2, out_channels, 1, 1, true, false, false));
  main->push_back(ConvIRInstanceNorm(out_channels));
  register_module("main", main);
}

torch::Tensor ConvIRShallowConvImpl::forward(const torch::Tensor& x) { return main->forward(x); }

ConvIRFusionImpl::ConvIRFusionImpl(int channels) {
  merge = register_module("merge", ConvIRBasicConv(channels * 2, channels, 3, 1, true, false, false));
}

torch::Tensor ConvIRFusionImpl::forward(const torch::Tensor& x1, const torch::Tensor& x2) {
  return merge->forward(torch::cat({x1, x2}, 1));
}

// ---- network -----------------------------------------------------------------------------------------

ConvIRImpl::ConvIRImpl(ConvIROptions options) : options_(std::move(options)) {
  options_.validate();
  const int b = options_.base_channel;
  // Registration order = the official state_dict order.
  Encoder = torch::nn::ModuleList(ConvIRStage(b, options_), ConvIRStage(2 * b, options_), ConvIRStage(4 * b, options_));
  register_module("Encoder", Encoder);
  feat_extract = torch::nn::ModuleList(ConvIRBasicConv(3, b, 3, 1, true, false, true),
                                       ConvIRBasicConv(b, 2 * b, 3, 2, true, false, true),
                                       ConvIRBasicConv(2 * b, 4 * b, 3, 2, true, false, true),
                                       ConvIRBasicConv(4 * b, 2 * b, 4, 2, true, false, true, /*transpose=*/true),
                                       ConvIRBasicConv(2 * b, b, 4, 2, true, false, true, /*transpose=*/true),
                                       ConvIRBasicConv(b, 3, 3, 1, true, false, false));
  register_module("feat_extract", feat_extract);
  Decoder = torch::nn::ModuleList(ConvIRStage(4 * b, options_), ConvIRStage(2 * b, options_), ConvIRStage(b, options_));
  register_module("Decoder", Decoder);
  Convs = torch::nn::ModuleList(ConvIRBasicConv(4 * b, 2 * b, 1, 1, true, false, true),
                                ConvIRBasicConv(2 * b, b, 1, 1, true, false, true));
  register_module("Convs", Convs);
  ConvsOut = torch::nn::ModuleList(ConvIRBasicConv(4 * b, 3, 3, 1, true, false, false),
                                   ConvIRBasicConv(2 * b, 3, 3, 1, true, false, false));
  register_module("ConvsOut", ConvsOut);
  FAM1 = register_module("FAM1", ConvIRFusion(4 * b));
  SCM1 = register_module("SCM1", ConvIRShallowConv(4 * b));
  FAM2 = register_module("FAM2", ConvIRFusion(2 * b));
  SCM2 = register_module("SCM2", ConvIRShallowConv(2 * b));
  if (options_.zero_init_outputs) {
    torch::NoGradGuard no_grad;
    for (auto* out : {ConvsOut[0].get(), ConvsOut[1].get(), feat_extract[5].get()})
      for (auto& p : out->parameters()) p.zero_();
  }
}

std::vector<torch::Tensor> ConvIRImpl::forward(const torch::Tensor& x) {
  UNROLL_CHECK(x.dim() == 4 && x.size(1) == 3, "convir: input must be [N,3,H,W], got ", x.sizes());
  UNROLL_CHECK(x.is_floating_point(), "convir: input must be floating point, got ", x.scalar_type());
  const int64_t mult = convir_size_multiple(options_), min_side = convir_min_side(options_);
  UNROLL_CHECK(x.size(2) % mult == 0 && x.size(3) % mult == 0 && x.size(2) >= min_side && x.size(3) >= min_side,
               "convir: input size ", x.size(2), "x", x.size(3), " unsupported by ", variant_name(options_),
               ": sides must be multiples of ", mult, " and >= ", min_side, " (use convir_deblur() to pad)");
  auto enc = [&](size_t i) { return Encoder->ptr<ConvIRStageImpl>(i); };
  auto dec = [&](size_t i) { return Decoder->ptr<ConvIRStageImpl>(i); };
  auto fe = [&](size_t i) { return feat_extract->ptr<ConvIRBasicConvImpl>(i); };

  auto x_2 = nearest_half(x);
  auto x_4 = nearest_half(x_2);
  auto z2 = SCM2->forward(x_2);
  auto z4 = SCM1->forward(x_4);

  std::vector<torch::Tensor> outputs;
  auto res1 = enc(0)->forward(fe(0)->forward(x));
  auto z = FAM2->forward(fe(1)->forward(res1), z2);
  auto res2 = enc(1)->forward(z);
  z = FAM1->forward(fe(2)->forward(res2), z4);
  z = enc(2)->forward(z);

  z = dec(0)->forward(z);
  outputs.push_back(ConvsOut->ptr<ConvIRBasicConvImpl>(0)->forward(z) + x_4);
  z = fe(3)->forward(z);

  z = Convs->ptr<ConvIRBasicConvImpl>(0)->forward(torch::cat({z, res2}, 1));
  z = dec(1)->forward(z);
  outputs.push_back(ConvsOut->ptr<ConvIRBasicConvImpl>(1)->forward(z) + x_2);
  z = fe(4)->forward(z);

  z = Convs->ptr<ConvIRBasicConvImpl>(1)->forward(torch::cat({z, res1}, 1));
  z = dec(2)->forward(z);
  outputs.push_back(fe(5)->forward(z) + x);
  return outputs;
}

// ---- state dicts -------------------------------------------------------------------------------------

int64_t module_parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

namespace {

std::vector<std::pair<std::string, torch::Tensor>> python_order_state(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : module.named_modules(/*name_prefix=*/"", /*include_self=*/true)) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false))
      if (p.value().defined()) out.emplace_back(prefix + p.key(), p.value());
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false))
      if (b.value().defined()) out.emplace_back(prefix + b.key(), b.value());
  }
  return out;
}

void load_state_strict(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& state_in,
                       const std::string& who) {
  // Strip a common DataParallel "module." prefix.
  const std::string dp = "module.";
  bool all_prefixed = !state_in.empty();
  for (const auto& kv : state_in) all_prefixed = all_prefixed && kv.first.compare(0, dp.size(), dp) == 0;
  std::map<std::string, torch::Tensor> stripped;
  if (all_prefixed)
    for (const auto& kv : state_in) stripped.emplace(kv.first.substr(dp.size()), kv.second);
  const auto& state = all_prefixed ? stripped : state_in;

  const auto expected = python_order_state(module);
  std::set<std::string> names;
  for (const auto& e : expected) {
    names.insert(e.first);
    auto it = state.find(e.first);
    UNROLL_CHECK(it != state.end(), who, ": missing entry '", e.first, "' (shape ", shape_str(e.second),
                 ") in the checkpoint (", state.size(), " entries; the model expects ", expected.size(), ")");
    UNROLL_CHECK(it->second.defined(), who, ": entry '", e.first, "' is not a tensor");
    UNROLL_CHECK(it->second.sizes() == e.second.sizes(), who, ": shape mismatch for '", e.first, "': checkpoint ",
                 shape_str(it->second), ", model ", shape_str(e.second));
  }
  for (const auto& kv : state)
    UNROLL_CHECK(names.count(kv.first), who, ": unexpected entry '", kv.first, "' (shape ",
                 kv.second.defined() ? shape_str(kv.second) : std::string("?"), ") in the checkpoint");
  torch::NoGradGuard no_grad;
  for (const auto& e : expected) {
    auto target = e.second;
    target.copy_(state.at(e.first));
  }
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> convir_state_dict(const ConvIR& model) {
  return python_order_state(*model);
}

void load_convir_state(ConvIR& model, const std::map<std::string, torch::Tensor>& state) {
  load_state_strict(*model, state, "convir: loading weights into " + variant_name(model->options()));
}

void load_convir_state(ConvIR& model, const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  std::map<std::string, torch::Tensor> m;
  for (const auto& kv : state) {
    if (kv.first == kUnrollFormatKey) continue;  // the marker of a ConvIR Unroll trained (core/unroll_format.h)
    UNROLL_CHECK(m.emplace(kv.first, kv.second).second, "convir: duplicate checkpoint entry '", kv.first, "'");
  }
  load_convir_state(model, m);
}

ConvIROptions convir_options_from_state(const std::vector<std::pair<std::string, torch::Tensor>>& state_in,
                                        const ConvIROptions& defaults) {
  const std::string dp = "module.";
  std::map<std::string, torch::Tensor> state;
  for (const auto& kv : state_in)
    state[kv.first.compare(0, dp.size(), dp) == 0 ? kv.first.substr(dp.size()) : kv.first] = kv.second;
  auto first = state.find("feat_extract.0.main.0.weight");
  UNROLL_CHECK(first != state.end() && first->second.defined() && first->second.dim() == 4,
               "convir: not a ConvIR state dict (no 'feat_extract.0.main.0.weight' among ", state.size(), " entries)");
  ConvIROptions o = defaults;
  o.base_channel = static_cast<int>(first->second.size(0));
  const std::string stage = "Encoder.0.layers.";
  int64_t blocks = 0;
  bool msm = false;
  for (const auto& kv : state) {
    if (kv.first.compare(0, stage.size(), stage) == 0) {
      const auto rest = kv.first.substr(stage.size());
      blocks = std::max<int64_t>(blocks, std::stoll(rest.substr(0, rest.find('.'))) + 1);
    }
    if (kv.first.find(".layers.") != std::string::npos && kv.first.find(".main.1.") != std::string::npos) msm = true;
  }
  UNROLL_CHECK(blocks >= 1, "convir: not a ConvIR state dict (no '", stage, "*' entries)");
  o.num_res = static_cast<int>(blocks);
  o.use_msm = msm;
  o.validate();
  return o;
}

ConvIR load_convir(const std::string& path, const ConvIROptions& defaults) {
  const auto state = load_state_dict(path);
  ConvIROptions o;
  try {
    o = convir_options_from_state(state, defaults);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  ConvIR model(o);
  load_convir_state(model, state);
  model->eval();
  return model;
}

ConvIR load_convir_strict(const std::string& path, const ConvIROptions& options) {
  const auto state = load_state_dict(path);
  ConvIR model(options);
  try {
    load_convir_state(model, state);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  model->eval();
  return model;
}

void save_convir(const ConvIR& model, const std::string& path) {
  save_state_dict(path, convir_state_dict(model));
}

// ---- standalone deblurring ---------------------------------------------------------------------------

void ConvIRDeblurOptions::validate() const {
  UNROLL_CHECK(multiple >= 1, "convir_deblur: multiple must be >= 1, got ", multiple);
}

torch::Tensor reflect_pad_to(const torch::Tensor& x, int64_t out_h, int64_t out_w) {
  UNROLL_CHECK(x.dim() == 4, "reflect_pad_to: expected [N,C,H,W], got ", x.sizes());
  UNROLL_CHECK(out_h >= x.size(2) && out_w >= x.size(3), "reflect_pad_to: target ", out_h, "x", out_w,
               " is smaller than the input ", x.size(2), "x", x.size(3));
  auto index = [&](int64_t n, int64_t m) {
    auto i = torch::arange(m, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
    if (n == 1) return torch::zeros_like(i);
    const int64_t period = 2 * (n - 1);
    auto r = torch::remainder(i, period);
    return torch::where(r < n, r, period - r);
  };
  auto out = x;
  if (out_h != x.size(2)) out = out.index_select(2, index(x.size(2), out_h));
  if (out_w != x.size(3)) out = out.index_select(3, index(x.size(3), out_w));
  return out;
}

namespace {
struct TrainingFlagGuard {
  torch::nn::Module& m;
  bool was_training;
  explicit TrainingFlagGuard(torch::nn::Module& module) : m(module), was_training(module.is_training()) {}
  ~TrainingFlagGuard() { m.train(was_training); }
};

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
}  // namespace

torch::Tensor convir_deblur(ConvIR& model, const torch::Tensor& y_in, const ConvIRDeblurOptions& options) {
  options.validate();
  UNROLL_CHECK(!model.is_empty(), "convir_deblur: the model is null");
  auto y = as_image_batch(y_in);
  check_image(y, "convir_deblur");
  const int64_t c = y.size(1), h = y.size(2), w = y.size(3);
  UNROLL_CHECK(c == 1 || c == 3, "convir_deblur: expected 1 or 3 channels, got ", c);

  const auto& o = model->options();
  const int64_t m = std::lcm(options.multiple, convir_size_multiple(o));
  const int64_t min_side = convir_min_side(o);
  const int64_t ph = round_up(std::max(h, min_side), m), pw = round_up(std::max(w, min_side), m);

  const auto param_opts = model->parameters().front().options();
  torch::NoGradGuard no_grad;
  TrainingFlagGuard guard(*model);
  model->eval();

  auto x = y.to(param_opts.dtype()).to(param_opts.device());
  if (c == 1) x = x.expand({-1, 3, -1, -1});
  x = reflect_pad_to(x, ph, pw).contiguous();
  auto out = model->forward(x)[2].narrow(2, 0, h).narrow(3, 0, w);
  if (c == 1) out = out.mean(1, /*keepdim=*/true);
  if (options.clamp) out = out.clamp(0.0, 1.0);
  return out.to(y.options()).reshape(y_in.sizes());
}

}  // namespace unroll
