#include "priors/convir_prior.h"

#include "core/error.h"
#include "core/tensor.h"

namespace unroll {

void ConvIRPriorOptions::validate() const {
  net.validate();
  UNROLL_CHECK(image_channels == 1 || image_channels == 3, "convir prior: image_channels must be 1 or 3, got ",
               image_channels);
}

ConvIRPrior::ConvIRPrior(const ConvIRPriorOptions& options) : options_(options) {
  options_.validate();
  const int64_t c = options_.image_channels;
  // Registration order: net first, so a state dict reads "net.*" then "adapter.*".
  net_ = register_module("net", ConvIR(options_.net));
  adapter_ = register_module("adapter", torch::nn::Conv2d(torch::nn::Conv2dOptions(c + 1, 3, 1).bias(true)));
  torch::NoGradGuard g;
  adapter_->weight.zero_();
  adapter_->bias.zero_();
  for (int64_t o = 0; o < 3; ++o) adapter_->weight[o][c == 3 ? o : 0][0][0] = 1.0;
}

torch::Tensor ConvIRPrior::denoise(const torch::Tensor& x_in, const torch::Tensor& sigma) {
  auto x = as_image_batch(x_in);
  check_image(x, "convir prior");
  const int64_t c = options_.image_channels, h = x.size(2), w = x.size(3);
  UNROLL_CHECK(x.size(1) == c, "convir prior: expected ", c, " channels, got ", x.size(1));
  const auto param = adapter_->weight;
  auto xp = x.to(param.options());
  auto map = as_sample_scalar(sigma, xp).expand({xp.size(0), 1, h, w});
  auto a = adapter_->forward(torch::cat({xp, map}, 1));

  const auto& o = net_->options();
  const int64_t m = convir_size_multiple(o), min_side = convir_min_side(o);
  auto round_up = [m](int64_t v) { return (v + m - 1) / m * m; };
  a = reflect_pad_to(a, round_up(std::max(h, min_side)), round_up(std::max(w, min_side)));
  auto out = net_->forward(a)[2].narrow(2, 0, h).narrow(3, 0, w);
  if (c == 1) out = out.mean(1, /*keepdim=*/true);
  return out.to(x.options()).reshape(x_in.sizes());
}

ConvIRPriorOptions convir_prior_options_from_state_dict(const StateDict& state, const std::string& prefix) {
  const std::string net = prefix + "net.";
  StateDict inner;
  torch::Tensor adapter;
  for (const auto& [name, t] : state) {
    if (name.compare(0, net.size(), net) == 0) inner.emplace_back(name.substr(net.size()), t);
    if (name == prefix + "adapter.weight") adapter = t;
  }
  UNROLL_CHECK(adapter.defined() && adapter.dim() == 4, "convir prior checkpoint: missing key '", prefix,
               "adapter.weight' (not a ConvIR prior state dict?)");
  ConvIRPriorOptions o;
  o.net = convir_options_from_state(inner);
  o.image_channels = adapter.size(1) - 1;
  o.validate();
  return o;
}

}  // namespace unroll
