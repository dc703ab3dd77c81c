#include "priors/attention_unet.h"

#include <cmath>
#include <unordered_map>

#include "core/error.h"
#include "priors/padding.h"
#include "priors/up_conv.h"

namespace unroll {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(true));
}


}  // namespace

void AttentionUNetOptions::validate() const {
  UNROLL_CHECK(channels >= 1, "attention-unet: channels must be >= 1, got ", channels);
  UNROLL_CHECK(!nc.empty() && nc.size() <= 8, "attention-unet: nc must list 1 to 8 widths, got ", nc.size());
  for (size_t i = 0; i < nc.size(); ++i)
    UNROLL_CHECK(nc[i] >= 1, "attention-unet: nc[", i, "] must be >= 1, got ", nc[i]);
  UNROLL_CHECK(nb >= 1, "attention-unet: nb must be >= 1, got ", nb);
  UNROLL_CHECK(se_reduction >= 1, "attention-unet: se_reduction must be >= 1, got ", se_reduction);
  UNROLL_CHECK(attention_window >= 0, "attention-unet: attention_window must be >= 0, got ", attention_window);
  if (self_attention) {
    UNROLL_CHECK(heads >= 1, "attention-unet: heads must be >= 1, got ", heads);
    UNROLL_CHECK(nc.back() % heads == 0, "attention-unet: heads must divide nc.back()=", nc.back(), ", got heads=",
                 heads);
    UNROLL_CHECK(position_encoding != PositionEncoding::Sinusoidal || nc.back() % 4 == 0,
                 "attention-unet: position_encoding Sinusoidal needs nc.back() divisible by 4, got ", nc.back());
  }
}

torch::Tensor sinusoidal_position_encoding_2d(int64_t channels, int64_t height, int64_t width,
                                              const torch::TensorOptions& options) {
  UNROLL_CHECK(channels >= 4 && channels % 4 == 0, "sinusoidal_position_encoding_2d: channels must be a positive "
               "multiple of 4, got ", channels);
  const int64_t q = channels / 4;
  // Frequencies 1/10000^(k/q), computed in float64 then cast to the target dtype/device.
  auto k = torch::arange(q, torch::TensorOptions().dtype(torch::kFloat64));
  auto freq = torch::exp(k * (-std::log(10000.0) / static_cast<double>(q))).to(options);
  auto encode = [&](int64_t n) {  // [n] positions -> [2q, n]: q sines then q cosines
    auto angle = freq.unsqueeze(1) * torch::arange(n, options).unsqueeze(0);
    return torch::cat({angle.sin(), angle.cos()}, 0);
  };
  auto rows = encode(height).unsqueeze(2).expand({2 * q, height, width});
  auto cols = encode(width).unsqueeze(1).expand({2 * q, height, width});
  return torch::cat({rows, cols}, 0);
}

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t channels, int64_t hidden) {
  fc1 = register_module("fc1", conv(channels, hidden, 1, 1, 0));
  fc2 = register_module("fc2", conv(hidden, channels, 1, 1, 0));
}

torch::Tensor SqueezeExcitationImpl::forward(const torch::Tensor& x) {
  auto s = x.mean({2, 3}, /*keepdim=*/true);
  s = torch::sigmoid(fc2->forward(torch::relu(fc1->forward(s))));
  return x * s;
}

AttentionResBlockImpl::AttentionResBlockImpl(int64_t channels, bool channel_attention, int64_t se_reduction) {
  conv1 = register_module("conv1", conv(channels, channels, 3, 1, 1));
  conv2 = register_module("conv2", conv(channels, channels, 3, 1, 1));
  if (channel_attention)
    se = register_module("se", SqueezeExcitation(channels, std::max<int64_t>(1, channels / se_reduction)));
}

torch::Tensor AttentionResBlockImpl::forward(const torch::Tensor& x) {
  auto r = conv2->forward(torch::relu(conv1->forward(x)));
  if (se) r = se->forward(r);
  return x + r;
}

SpatialSelfAttentionImpl::SpatialSelfAttentionImpl(int64_t channels, int64_t heads, PositionEncoding position_encoding,
                                                   int64_t window)
    : channels_(channels), window_(window), position_encoding_(position_encoding) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels})));
  attention = register_module("attention", torch::nn::MultiheadAttention(
                                               torch::nn::MultiheadAttentionOptions(channels, heads)));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels})));
  mlp1 = register_module("mlp1", torch::nn::Linear(channels, 2 * channels));
  mlp2 = register_module("mlp2", torch::nn::Linear(2 * channels, channels));
}

torch::Tensor SpatialSelfAttentionImpl::block(torch::Tensor t, const torch::Tensor& key_padding_mask) {
  auto q = norm1->forward(t);
  t = t + std::get<0>(attention->forward(q, q, q, key_padding_mask, /*need_weights=*/false));
  return t + mlp2->forward(F::gelu(mlp1->forward(norm2->forward(t))));
}

torch::Tensor SpatialSelfAttentionImpl::forward(const torch::Tensor& x) {
  UNROLL_CHECK(x.dim() == 4 && x.size(1) == channels_, "attention-unet: self-attention expects [N,", channels_,
               ",H,W], got ", x.sizes());
  const int64_t n = x.size(0), c = channels_, h = x.size(2), w = x.size(3);
  const bool sinusoid = position_encoding_ == PositionEncoding::Sinusoidal;
  if (window_ == 0 || (h <= window_ && w <= window_)) {
    auto feat = sinusoid ? x + sinusoidal_position_encoding_2d(c, h, w, x.options()).unsqueeze(0) : x;
    // torch::nn::MultiheadAttention takes sequence-first tokens [L, N, c].
    auto t = block(feat.flatten(2).permute({2, 0, 1}), {});
    return t.permute({1, 2, 0}).reshape({n, c, h, w});
  }
  const int64_t s = window_, gh = (h + s - 1) / s, gw = (w + s - 1) / s;
  auto feat = F::pad(x, F::PadFuncOptions({0, gw * s - w, 0, gh * s - h}));
  // [N,c,gh*s,gw*s] -> tokens [s*s, N*gh*gw, c]: one sequence per window, sequence-first.
  auto tiles = [&](const torch::Tensor& m, int64_t channels) {
    return m.reshape({m.size(0), channels, gh, s, gw, s}).permute({3, 5, 0, 2, 4, 1}).reshape({s * s, -1, channels});
  };
  auto t = tiles(feat, c);
  if (sinusoid) t = t + sinusoidal_position_encoding_2d(c, s, s, x.options()).flatten(1).t().unsqueeze(1);
  auto valid = torch::zeros({1, 1, gh * s, gw * s}, x.options().dtype(torch::kBool));
  valid.narrow(2, 0, h).narrow(3, 0, w).fill_(true);
  auto mask = tiles(valid.expand({n, 1, gh * s, gw * s}), 1).squeeze(2).logical_not().t().contiguous();  // [B, s*s]
  t = block(t, mask);
  auto out = t.reshape({s, s, n, gh, gw, c}).permute({2, 5, 3, 0, 4, 1}).reshape({n, c, gh * s, gw * s});
  return out.narrow(2, 0, h).narrow(3, 0, w);
}

AttentionUNet::AttentionUNet(const AttentionUNetOptions& options) : options_(options) {
  options_.validate();
  const auto& nc = options_.nc;
  const int64_t levels = static_cast<int64_t>(nc.size());
  auto blocks = [&](torch::nn::Sequential& seq, int64_t c) {
    for (int64_t i = 0; i < options_.nb; ++i)
      seq->push_back(AttentionResBlock(c, options_.channel_attention, options_.se_reduction));
  };
  m_head = register_module("m_head", conv(options_.channels + 1, nc[0], 3, 1, 1));
  for (int64_t s = 0; s + 1 < levels; ++s) {
    torch::nn::Sequential down;
    blocks(down, nc[s]);
    down->push_back(conv(nc[s], nc[s + 1], 2, 2, 0));
    m_down_.push_back(register_module("m_down" + std::to_string(s + 1), down));
  }
  m_body = torch::nn::Sequential();
  blocks(m_body, nc.back());
  register_module("m_body", m_body);
  if (options_.self_attention)
    m_attention = register_module("m_attention",
                                  SpatialSelfAttention(nc.back(), options_.heads, options_.position_encoding,
                                                       options_.attention_window));
  m_up_.resize(levels - 1);
  for (int64_t s = levels - 2; s >= 0; --s) {  // registered deepest first, like the forward pass
    torch::nn::Sequential up;
    up->push_back(UpConv2x2(nc[s + 1], nc[s]));
    blocks(up, nc[s]);
    m_up_[s] = register_module("m_up" + std::to_string(s + 1), up);
  }
  m_tail = register_module("m_tail", conv(nc[0], options_.channels, 3, 1, 1));
}

torch::Tensor AttentionUNet::forward(const torch::Tensor& x0) {
  const int64_t in_nc = options_.channels + 1;
  UNROLL_CHECK(x0.dim() == 4 && x0.size(1) == in_nc && x0.size(2) >= 1 && x0.size(3) >= 1,
               "attention-unet: input must be [N,", in_nc, ",H,W] (image channels + noise map), got ", x0.sizes());
  const int64_t h = x0.size(2), w = x0.size(3);
  auto x = pad_to_multiple(x0, options_.pad_multiple());
  std::vector<torch::Tensor> skips;
  skips.push_back(m_head->forward(x));
  for (auto& down : m_down_) skips.push_back(down->forward(skips.back()));
  auto y = m_body->forward(skips.back());
  if (m_attention) y = m_attention->forward(y);
  for (int64_t s = static_cast<int64_t>(m_up_.size()) - 1; s >= 0; --s) y = m_up_[s]->forward(y + skips[s + 1]);
  y = m_tail->forward(y + skips[0]);
  if (y.size(2) != h || y.size(3) != w) y = y.narrow(2, 0, h).narrow(3, 0, w);
  if (options_.global_residual) y = y + x0.narrow(1, 0, options_.channels);
  return y;
}

torch::Tensor AttentionUNet::denoise(const torch::Tensor& x, const torch::Tensor& sigma) {
  UNROLL_CHECK(x.dim() == 4 && x.size(1) == options_.channels, "attention-unet: denoise expects [N,",
               options_.channels, ",H,W], got ", x.sizes());
  auto s = sigma.to(x.options());
  if (s.dim() == 0) s = s.reshape({1, 1, 1, 1});
  UNROLL_CHECK(s.dim() == 4 && s.size(1) == 1 && s.size(2) == 1 && s.size(3) == 1 &&
                   (s.size(0) == 1 || s.size(0) == x.size(0)),
               "attention-unet: sigma must be [N,1,1,1] or [1,1,1,1], got ", s.sizes());
  return forward(torch::cat({x, s.expand({x.size(0), 1, x.size(2), x.size(3)})}, 1));
}

void AttentionUNet::zero_init_tail() {
  torch::NoGradGuard no_grad;
  m_tail->weight.zero_();
  if (m_tail->bias.defined()) m_tail->bias.zero_();
}

AttentionUNetOptions attention_unet_options_from_state_dict(const StateDict& state, const std::string& prefix) {
  std::unordered_map<std::string, torch::Tensor> by_name;
  for (const auto& [name, t] : state) by_name.emplace(name, t);
  auto has = [&](const std::string& key) { return by_name.count(prefix + key) > 0; };
  auto get = [&](const std::string& key) -> const torch::Tensor& {
    auto it = by_name.find(prefix + key);
    UNROLL_CHECK(it != by_name.end() && it->second.dim() >= 1, "attention-unet checkpoint: missing key '",
                 prefix + key, "' (not an AttentionUNet state dict?)");
    return it->second;
  };
  AttentionUNetOptions o;
  o.channels = get("m_tail.weight").size(0);
  o.nb = 0;
  while (has("m_body." + std::to_string(o.nb) + ".conv1.weight")) ++o.nb;
  UNROLL_CHECK(o.nb >= 1, "attention-unet checkpoint: no residual blocks under '", prefix, "m_body.'");
  o.nc = {get("m_head.weight").size(0)};
  const std::string down = "." + std::to_string(o.nb) + ".weight";
  for (int s = 1; has("m_down" + std::to_string(s) + down); ++s) o.nc.push_back(get("m_down" + std::to_string(s) + down).size(0));
  o.self_attention = has("m_attention.norm1.weight");
  o.channel_attention = has("m_body.0.se.fc1.weight");
  if (o.channel_attention) o.se_reduction = std::max<int64_t>(1, o.nc.back() / get("m_body.0.se.fc1.weight").size(0));
  if (o.self_attention && o.nc.back() % o.heads != 0) o.heads = 1;
  o.validate();
  return o;
}

}  // namespace unroll
