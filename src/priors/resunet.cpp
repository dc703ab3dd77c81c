#include "priors/resunet.h"

#include "priors/padding.h"
#include "priors/up_conv.h"

#include "core/error.h"
#include "core/tensor.h"

namespace unroll {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(bias));
}

}  // namespace

void ResUNetOptions::validate() const {
  UNROLL_CHECK(in_nc >= 1, "resunet: in_nc must be >= 1, got ", in_nc);
  UNROLL_CHECK(!noise_map || in_nc >= 2, "resunet: in_nc must be >= 2 with a noise map, got ", in_nc);
  UNROLL_CHECK(out_nc >= 1, "resunet: out_nc must be >= 1, got ", out_nc);
  UNROLL_CHECK(nc.size() == 4, "resunet: nc must list 4 widths, got ", nc.size());
  for (size_t i = 0; i < nc.size(); ++i) UNROLL_CHECK(nc[i] >= 1, "resunet: nc[", i, "] must be >= 1, got ", nc[i]);
  UNROLL_CHECK(pad_multiple >= 8 && pad_multiple % 8 == 0, "resunet: pad_multiple must be a positive multiple of 8, got ",
               pad_multiple);
  UNROLL_CHECK(nb >= 1, "resunet: nb must be >= 1, got ", nb);
  UNROLL_CHECK(act == 'R' || act == 'L', "resunet: act must be 'R' or 'L', got '", act, "'");
  const int64_t image_nc = noise_map ? in_nc - 1 : in_nc;
  UNROLL_CHECK(!global_residual || image_nc >= out_nc, "resunet: global_residual needs at least out_nc=", out_nc,
               " image input channels, got ", image_nc);
}

ResUNetOptions ResUNetOptions::usrnet() { return ResUNetOptions{}; }

ResUNetOptions ResUNetOptions::usrnet_tiny() {
  ResUNetOptions o;
  o.nc = {16, 32, 64, 64};
  return o;
}

ResUNetOptions ResUNetOptions::drunet(int64_t channels) {
  ResUNetOptions o;
  o.in_nc = channels + 1;
  o.out_nc = channels;
  o.nb = 4;
  o.padding = ResUNetPadding::None;
  return o;
}

ResUNetOptions ResUNetOptions::drunet_small() {
  ResUNetOptions o = drunet(3);
  o.nc = {16, 32, 64, 128};
  o.nb = 2;
  return o;
}

ResBlockImpl::ResBlockImpl(int64_t channels, bool bias, char act) {
  res = torch::nn::Sequential();
  res->push_back(conv(channels, channels, 3, 1, 1, bias));
  if (act == 'L')
    res->push_back(torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)));
  else
    res->push_back(torch::nn::ReLU());
  res->push_back(conv(channels, channels, 3, 1, 1, bias));
  register_module("res", res);
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x) { return x + res->forward(x); }

ResUNet::ResUNet(const ResUNetOptions& options) : options_(options) {
  options_.validate();
  const auto& nc = options_.nc;
  const int64_t nb = options_.nb;
  const bool bias = options_.bias;
  const char act = options_.act;
  auto blocks = [&](torch::nn::Sequential& seq, int64_t c) {
    for (int64_t i = 0; i < nb; ++i) seq->push_back(ResBlock(c, bias, act));
  };
  m_head = register_module("m_head", conv(options_.in_nc, nc[0], 3, 1, 1, bias));
  torch::nn::Sequential* downs[3] = {&m_down1, &m_down2, &m_down3};
  const char* down_names[3] = {"m_down1", "m_down2", "m_down3"};
  for (int s = 0; s < 3; ++s) {
    *downs[s] = torch::nn::Sequential();
    blocks(*downs[s], nc[s]);
    (*downs[s])->push_back(conv(nc[s], nc[s + 1], 2, 2, 0, bias));
    register_module(down_names[s], *downs[s]);
  }
  m_body = torch::nn::Sequential();
  blocks(m_body, nc[3]);
  register_module("m_body", m_body);
  torch::nn::Sequential* ups[3] = {&m_up3, &m_up2, &m_up1};
  const char* up_names[3] = {"m_up3", "m_up2", "m_up1"};
  for (int s = 0; s < 3; ++s) {
    const int64_t from = nc[3 - s], to = nc[2 - s];
    *ups[s] = torch::nn::Sequential();
    (*ups[s])->push_back(UpConv2x2(from, to, bias));
    blocks(*ups[s], to);
    register_module(up_names[s], *ups[s]);
  }
  m_tail = register_module("m_tail", conv(nc[0], options_.out_nc, 3, 1, 1, bias));
  // Official checkpoints have no global residual and no flag; Unroll's own files carry the flag (1 or 0)
  // so that it travels with the weights (resunet_options_from_state_dict reads it back, and
  // load_into_module keeps the value given here when an official file lacks it).
  register_buffer(kGlobalResidualKey, torch::full({1}, options_.global_residual ? 1.0f : 0.0f));
}

torch::Tensor ResUNet::forward(const torch::Tensor& x0) {
  UNROLL_CHECK(x0.dim() == 4 && x0.size(1) == options_.in_nc, "resunet: input must be [N,", options_.in_nc,
               ",H,W], got ", x0.sizes());
  const int64_t h = x0.size(2), w = x0.size(3);
  torch::Tensor x = x0;
  if (options_.padding == ResUNetPadding::Replicate) {
    x = pad_to_multiple(x0, options_.pad_multiple);
  } else {
    UNROLL_CHECK(h % 8 == 0 && w % 8 == 0, "resunet: without internal padding the input size must be a multiple "
                 "of 8, got ", h, "x", w, " (use denoise(), which pads)");
  }
  auto x1 = m_head->forward(x);
  auto x2 = m_down1->forward(x1);
  auto x3 = m_down2->forward(x2);
  auto x4 = m_down3->forward(x3);
  auto y = m_body->forward(x4);
  y = m_up3->forward(y + x4);
  y = m_up2->forward(y + x3);
  y = m_up1->forward(y + x2);
  y = m_tail->forward(y + x1);
  if (y.size(2) != h || y.size(3) != w) y = y.narrow(2, 0, h).narrow(3, 0, w);
  if (options_.global_residual) y = y + x0.narrow(1, 0, options_.out_nc);
  return y;
}

torch::Tensor ResUNet::denoise(const torch::Tensor& x, const torch::Tensor& sigma) {
  const int64_t image_nc = channels();
  UNROLL_CHECK(x.dim() == 4 && x.size(1) == image_nc, "resunet: denoise expects [N,", image_nc, ",H,W], got ",
               x.sizes());
  torch::Tensor input = x;
  if (options_.noise_map) {
    auto s = sigma.to(x.options());
    if (s.dim() == 0) s = s.reshape({1, 1, 1, 1});
    UNROLL_CHECK(s.dim() == 4 && s.size(1) == 1 && s.size(2) == 1 && s.size(3) == 1 &&
                     (s.size(0) == 1 || s.size(0) == x.size(0)),
                 "resunet: sigma must be [N,1,1,1] or [1,1,1,1], got ", s.sizes());
    input = torch::cat({x, s.expand({x.size(0), 1, x.size(2), x.size(3)})}, 1);
  }
  const int64_t h = x.size(2), w = x.size(3);
  auto out = forward(pad_to_multiple(input, options_.pad_multiple));
  return out.narrow(2, 0, h).narrow(3, 0, w);
}

ResUNetOptions resunet_options_from_state_dict(const StateDict& state, const std::string& prefix) {
  std::unordered_map<std::string, torch::Tensor> by_name;
  for (const auto& [name, t] : state) by_name.emplace(name, t);
  auto weight = [&](const std::string& key) -> const torch::Tensor& {
    auto it = by_name.find(prefix + key);
    UNROLL_CHECK(it != by_name.end(), "resunet checkpoint: missing key '", prefix + key,
                 "' (not a ResUNet/DRUNet state dict?)");
    UNROLL_CHECK(it->second.dim() == 4, "resunet checkpoint: '", prefix + key, "' is not a convolution weight");
    return it->second;
  };
  ResUNetOptions o;
  const auto& head = weight("m_head.weight");
  o.in_nc = head.size(1);
  o.out_nc = weight("m_tail.weight").size(0);
  o.bias = by_name.count(prefix + "m_head.bias") > 0;
  o.nb = 0;
  while (by_name.count(prefix + "m_down1." + std::to_string(o.nb) + ".res.0.weight")) ++o.nb;
  UNROLL_CHECK(o.nb >= 1, "resunet checkpoint: no residual blocks under '", prefix, "m_down1.'");
  const std::string down = "." + std::to_string(o.nb) + ".weight";
  o.nc = {head.size(0), weight("m_down1" + down).size(0), weight("m_down2" + down).size(0),
          weight("m_down3" + down).size(0)};
  o.noise_map = true;
  const std::string flag = prefix + kGlobalResidualKey;
  if (auto it = by_name.find(flag); it != by_name.end()) {
    const torch::Tensor& f = it->second;
    UNROLL_CHECK(f.numel() == 1 && f.is_floating_point(), "resunet checkpoint: '", flag,
                 "' must hold one floating-point value (1 or 0), got ", f.scalar_type(), " ", f.sizes());
    const double v = f.item<double>();
    UNROLL_CHECK(v == 0.0 || v == 1.0, "resunet checkpoint: '", flag, "' must be 1 or 0, got ", v);
    o.global_residual = v == 1.0;
  } else {
    // Official files have no flag (and no global residual); a file Unroll wrote always has it.
    UNROLL_CHECK(!written_by_unroll(state), "resunet checkpoint: missing key '", flag,
                 "' (every ResUNet Unroll writes records its global residual there; this file carries Unroll's "
                 "format marker, so it was altered)");
    o.global_residual = false;
  }
  o.validate();
  return o;
}

std::shared_ptr<ResUNet> load_resunet(const std::string& path, ResUNetPadding padding) {
  const auto state = load_state_dict(path);
  ResUNetOptions options;
  try {
    options = resunet_options_from_state_dict(state);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  options.padding = padding;
  auto net = std::make_shared<ResUNet>(options);
  load_into_module(*net, state, /*strict=*/true, path);
  return net;
}

void ResUNet::zero_init_tail() {
  torch::NoGradGuard no_grad;
  m_tail->weight.zero_();
  if (m_tail->bias.defined()) m_tail->bias.zero_();
}

}  // namespace unroll
