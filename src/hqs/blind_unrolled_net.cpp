#include "hqs/blind_unrolled_net.h"

#include <cmath>

#include "blind/estimate_kernel.h"
#include "blind/kernel_step.h"
#include "core/checkpoint.h"
#include "core/unroll_format.h"
#include "core/data_step.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/tensor.h"

namespace unroll {

namespace {

constexpr const char* kConfigKey = "g.config";

/// Zero-pads [N,1,kh,kw] kernels to [N,1,size,size] about their centre (kh/2, kw/2): an even side first
/// gets a zero row / column at the bottom / right (which keeps that centre), then both sides are padded
/// symmetrically.
torch::Tensor pad_kernel_to(torch::Tensor k, int64_t size) {
  k = torch::constant_pad_nd(k, {0, 1 - k.size(3) % 2, 0, 1 - k.size(2) % 2});
  const int64_t h = k.size(2), w = k.size(3);
  UNROLL_CHECK(h <= size && w <= size, "unrolled-blind: the kernel (", w, "x", h, ") exceeds the network's ", size,
               "x", size, " support");
  const int64_t ph = (size - h) / 2, pw = (size - w) / 2;
  return ph == 0 && pw == 0 ? k : torch::constant_pad_nd(k, {pw, pw, ph, ph});
}

}  // namespace

void BlindUnrolledNetOptions::validate() const {
  unrolled.validate();
  UNROLL_CHECK(kernel_size >= 3 && kernel_size <= 63 && kernel_size % 2 == 1,
               "unrolled-blind: kernel_size must be odd and in 3..63, got ", kernel_size);
  UNROLL_CHECK(kernel_steps >= -1 && kernel_steps <= unrolled.iterations - 1,
               "unrolled-blind: kernel_steps must be in 0..", unrolled.iterations - 1,
               " (the iterations after the first) or -1 (all of them), got ", kernel_steps);
  UNROLL_CHECK(cg_iterations >= 1 && cg_iterations <= 1000, "unrolled-blind: cg_iterations must be in 1..1000, got ",
               cg_iterations);
  UNROLL_CHECK(head_channels >= 1 && head_channels <= 1024, "unrolled-blind: head_channels must be in 1..1024, got ",
               head_channels);
}

BlindHyperNetImpl::BlindHyperNetImpl(int64_t kernel_size, int iterations, int64_t channels)
    : kernel_size_(kernel_size), iterations_(iterations) {
  namespace nn = torch::nn;
  auto conv = [](int64_t in, int64_t out, int64_t stride) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
  };
  body = register_module("body", nn::Sequential(conv(3, channels, 1), nn::ReLU(), conv(channels, channels, 1),
                                                 nn::ReLU(), conv(channels, channels, 1), nn::ReLU(),
                                                 conv(channels, channels, 2), nn::ReLU()));
  logits = register_module("logits", nn::Conv2d(nn::Conv2dOptions(channels, 1, 1)));
  mlp = register_module("mlp", nn::Sequential(nn::Linear(channels + 1, channels), nn::ReLU()));
  weights = register_module("weights", nn::Linear(channels, 3 * iterations));
  auto r = torch::arange(kernel_size, torch::kFloat32) - static_cast<double>(kernel_size / 2);
  auto r2 = r.square().unsqueeze(0) + r.square().unsqueeze(1);
  kernel_bias_ = register_parameter("kernel_bias", (-r2 / (2 * 1.5 * 1.5)).reshape({1, 1, kernel_size, kernel_size}));
  torch::NoGradGuard no_grad;
  // gamma = softplus(w f + b) starts at 1e-2 (b = log(expm1(1e-2)); the classical estimator's kernel_reg); the corrections start at exactly 0.
  weights->weight.zero_();
  weights->bias.zero_();
  weights->bias.narrow(0, 0, iterations).fill_(std::log(std::expm1(1e-2)));
  // Small logits: k_0 starts close to the uniform kernel, and learns its shape from the autocorrelation.
  logits->weight.mul_(0.1);
}

torch::Tensor BlindHyperNetImpl::features(const torch::Tensor& y, const torch::Tensor& sigma) const {
  const int64_t k = kernel_size_, lags = 2 * k - 1;
  auto lum = y.mean(1, /*keepdim=*/true);
  auto g = gradient_images(lum).squeeze(1);  // [N,2,H-1,W-1]
  const int64_t h = g.size(-2), w = g.size(-1);
  UNROLL_CHECK(h >= lags && w >= lags, "unrolled-blind: the image (", y.size(2), "x", y.size(3),
               ") must be at least ", lags + 1, " pixels a side for a ", k, "x", k, " kernel");
  g = g - g.mean({2, 3}, true);
  auto f = rfft2(g);
  auto power = torch::real(f).square() + torch::imag(f).square();
  auto ac = irfft2(torch::complex(power, torch::zeros_like(power)), h, w);  // lag 0 at (0,0), periodic
  ac = torch::roll(ac, {k - 1, k - 1}, {2, 3}).narrow(2, 0, lags).narrow(3, 0, lags);
  ac = ac / ac.narrow(2, k - 1, 1).narrow(3, k - 1, 1).clamp_min(1e-12);  // 1 at lag 0
  auto s = (sigma * 10.0).expand({y.size(0), 1, lags, lags});
  return torch::cat({ac, s}, 1);
}

BlindHyperNetImpl::Output BlindHyperNetImpl::forward(const torch::Tensor& y, const torch::Tensor& sigma) {
  auto f = body->forward(features(y, sigma));  // [N,c,k,k]
  const int64_t n = y.size(0), k = kernel_size_, K = iterations_;
  Output out;
  out.kernel = torch::softmax((logits->forward(f) + kernel_bias_).reshape({n, k * k}), 1).reshape({n, 1, k, k});
  auto pooled = torch::cat({f.mean({2, 3}), sigma.reshape({n, 1}) * 10.0}, 1);
  auto w = weights->forward(mlp->forward(pooled));  // [N,3K]
  out.gamma = torch::nn::functional::softplus(w.narrow(1, 0, K)) + 1e-6;
  out.log_alpha = w.narrow(1, K, K).reshape({n, K, 1, 1});
  out.log_beta = w.narrow(1, 2 * K, K).reshape({n, K, 1, 1});
  return out;
}

BlindUnrolledNetImpl::BlindUnrolledNetImpl(const BlindUnrolledNetOptions& options) : options_(options) {
  options_.validate();
  u_ = register_module("u", UnrolledNet(options_.unrolled));
  g_ = register_module("g", BlindHyperNet(options_.kernel_size, options_.unrolled.iterations, options_.head_channels));
  g_->register_buffer(
      "config", torch::tensor({double(options_.kernel_size), double(options_.kernel_steps), double(options_.cg_iterations),
                               double(options_.head_channels)},
                              torch::kFloat32));
}

void BlindUnrolledNetImpl::set_kernel_steps(int steps, bool persist) {
  auto o = options_;
  o.kernel_steps = steps;
  o.validate();
  options_ = o;
  if (!persist) return;
  torch::NoGradGuard no_grad;
  config()[1].fill_(static_cast<double>(steps));
}

torch::Tensor BlindUnrolledNetImpl::config() const { return g_->named_buffers(/*recurse=*/false)["config"]; }

int BlindUnrolledNetImpl::recorded_kernel_steps() const {
  return static_cast<int>(std::lround(config()[1].item<double>()));
}

torch::Tensor BlindUnrolledNetImpl::check_sigma(const torch::Tensor& y, const torch::Tensor& sigma) const {
  check_image(y, "unrolled-blind input");
  UNROLL_CHECK(channels() == 0 || y.size(1) == channels(), "unrolled-blind: input has ", y.size(1),
               " channels, the model expects ", channels());
  const int64_t need = 2 * options_.kernel_size;
  UNROLL_CHECK(y.size(2) >= need && y.size(3) >= need, "unrolled-blind: the image (", y.size(3), "x", y.size(2),
               ") must be at least ", need, " pixels a side for the network's ", options_.kernel_size, "x",
               options_.kernel_size, " kernels");
  auto s = sigma.to(y.options());
  if (s.dim() == 0) s = s.reshape({1, 1, 1, 1});
  UNROLL_CHECK(s.dim() == 4 && s.numel() >= 1 && s.size(1) == 1 && s.size(2) == 1 && s.size(3) == 1 &&
                   (s.size(0) == 1 || s.size(0) == y.size(0)),
               "unrolled-blind: sigma must be [N,1,1,1] or a scalar, got ", s.sizes());
  return s.expand({y.size(0), 1, 1, 1});
}

BlindUnrolledOutput BlindUnrolledNetImpl::forward(const torch::Tensor& y, const torch::Tensor& sigma,
                                                  bool keep_intermediates) {
  auto s = check_sigma(y, sigma);
  auto g = g_->forward(y, s);
  if (options_.kernel_init == KernelInit::Classical) {
    std::vector<torch::Tensor> ks;
    BlindEstimateOptions eo;
    eo.kernel_size = options_.kernel_size;
    for (int64_t i = 0; i < y.size(0); ++i) {
      eo.noise_sigma = s[i].item<double>();
      ks.push_back(estimate_kernel(y.narrow(0, i, 1).detach(), eo).kernel.to(y.options()).reshape(
          {1, 1, options_.kernel_size, options_.kernel_size}));
    }
    g.kernel = torch::cat(ks, 0);
  }
  return run(y, s, g, keep_intermediates);
}

BlindUnrolledOutput BlindUnrolledNetImpl::forward_with_kernel(const torch::Tensor& y, const torch::Tensor& kernel,
                                                              const torch::Tensor& sigma, bool keep_intermediates) {
  auto s = check_sigma(y, sigma);
  auto g = g_->forward(y, s);
  auto k = pad_kernel_to(as_kernel_batch(kernel).to(y.options()), options_.kernel_size);
  g.kernel = k.size(0) == y.size(0) ? k : k.expand({y.size(0), 1, k.size(2), k.size(3)});
  return run(y, s, g, keep_intermediates);
}

BlindUnrolledOutput BlindUnrolledNetImpl::run(const torch::Tensor& y, const torch::Tensor& s,
                                              const BlindHyperNetImpl::Output& g, bool keep_intermediates) {
  const int K = options_.unrolled.iterations;
  const int steps = options_.effective_kernel_steps();
  auto hyper = u_->hyper(s);  // [N,2K,1,1]
  BlindUnrolledOutput out;
  auto alpha = hyper.narrow(1, 0, K) * torch::exp(g.log_alpha);
  auto beta = hyper.narrow(1, K, K) * torch::exp(g.log_beta);
  out.alpha = alpha.flatten(1);
  out.beta = beta.flatten(1);
  out.gamma = g.gamma;
  auto k = g.kernel;
  out.kernels.push_back(k);
  const torch::Tensor y_grad = steps > 0 ? gradient_images(y) : torch::Tensor();
  KernelProjectionOptions projection;
  torch::Tensor z = y;
  for (int i = 0; i < K; ++i) {
    if (i >= 1 && i <= steps) {
      auto z_grad = gradient_images(z);
      auto energy = z_grad.square().sum({1, 2, 3, 4});  // e(z), [N]
      auto gamma = g.gamma.narrow(1, i, 1).flatten() * energy.clamp_min(1e-12);
      k = project_kernel(kernel_least_squares_support(z_grad, y_grad, options_.kernel_size, gamma,
                                                      options_.cg_iterations, k),
                         projection);
    }
    out.kernels.push_back(k);
    const FourierDataStep data(y, k);
    auto x = data.solve(z, alpha.narrow(1, i, 1));
    z = u_->prior_step(i, x, beta.narrow(1, i, 1));
    if (keep_intermediates) {
      out.data_steps.push_back(x);
      out.prior_steps.push_back(z);
    }
  }
  out.image = z;
  out.kernel = k;
  return out;
}

BlindUnrolledNet blind_from_unrolled(const UnrolledNet& source, BlindUnrolledNetOptions options) {
  options.unrolled = source->options();
  BlindUnrolledNet net(options);
  torch::NoGradGuard no_grad;
  load_into_module(*net->unrolled(), module_state_dict(*source), /*strict=*/true, "the non-blind network");
  return net;
}

bool is_blind_unrolled_state(const StateDict& state) {
  for (const auto& [name, t] : state)
    if (name == kConfigKey) return true;
  return false;
}

BlindUnrolledNet load_blind_unrolled_net(const std::string& path) {
  return blind_unrolled_net_from_state(load_state_dict(path), path);
}

BlindUnrolledNet blind_unrolled_net_from_state(const StateDict& state, const std::string& source) {
  torch::Tensor config;
  for (const auto& [name, t] : state)
    if (name == kConfigKey) config = t;
  UNROLL_CHECK(config.defined(), source, ": not a blind unrolled network (no '", kConfigKey,
               "' entry); a non-blind unrolled network runs with --method unrolled and a kernel");
  BlindUnrolledNetOptions options;
  try {
    UNROLL_CHECK(config.dim() == 1 && config.numel() == 4 && config.is_floating_point(), "'", kConfigKey,
                 "' must hold 4 numbers, got shape ", config.sizes());
    auto c = config.to(torch::kFloat64).contiguous();
    const double* v = c.data_ptr<double>();
    for (int i = 0; i < 4; ++i)
      UNROLL_CHECK(std::isfinite(v[i]) && v[i] == std::round(v[i]) && std::abs(v[i]) <= 4096, "'", kConfigKey,
                   "' entry ", i, " is not a small integer: ", v[i]);
    options.kernel_size = static_cast<int64_t>(v[0]);
    options.kernel_steps = static_cast<int>(v[1]);
    options.cg_iterations = static_cast<int>(v[2]);
    options.head_channels = static_cast<int64_t>(v[3]);
    options.unrolled = unrolled_options_from_state_dict(strip_prefix(state, "u."));
    options.validate();
  } catch (const Error& e) {
    fail(source, ": ", e.what());
  }
  BlindUnrolledNet net(options);
  load_into_module(*net, state, /*strict=*/true, source);
  return net;
}

void save_blind_unrolled_net(const BlindUnrolledNet& net, const std::string& path) {
  save_state_dict(path, with_unroll_marker(module_state_dict(*net)));
}

}  // namespace unroll
