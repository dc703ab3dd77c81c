#include "hqs/unrolled_net.h"

#include "core/data_step.h"
#include "core/error.h"
#include "core/strings.h"
#include "core/tensor.h"
#include "hqs/blind_unrolled_net.h"
#include "hqs/pnp.h"
#include "priors/widen.h"

#include <algorithm>
#include <string>
#include <unordered_map>

namespace unroll {

namespace {

/// The group g of a grouped prior's entry "p.<g>.<rest>" (and `rest`, when asked); -1 for any other
/// name, including those of one shared prior ("p.<rest>").
int prior_group_of(const std::string& name, std::string* rest = nullptr) {
  if (name.compare(0, 2, "p.") != 0) return -1;
  const size_t dot = name.find('.', 2);
  if (dot == std::string::npos) return -1;
  const std::string index = name.substr(2, dot - 2);
  // At most 6 digits: an index of a real network, and no std::stoi overflow on a corrupt file.
  if (index.empty() || index.size() > 6 || index.find_first_not_of("0123456789") != std::string::npos) return -1;
  if (rest) *rest = name.substr(dot + 1);
  return std::stoi(index);
}

}  // namespace

void UnrolledNetOptions::validate() const {
  UNROLL_CHECK(iterations >= 1, "unrolled net: iterations must be >= 1, got ", iterations);
  UNROLL_CHECK(hyper_channels >= 1, "unrolled net: hyper_channels must be >= 1, got ", hyper_channels);
  UNROLL_CHECK(prior_groups >= 1 && prior_groups <= iterations, "unrolled net: prior_groups must be in 1..",
               iterations, " (the iterations), got ", prior_groups);
  if (prior_factory) return;  // the prior checks its own options
  UNROLL_CHECK(prior.noise_map, "unrolled net: the prior must take a noise-level map (prior.noise_map = true)");
  UNROLL_CHECK(prior.in_nc - 1 == prior.out_nc, "unrolled net: prior.in_nc must be out_nc + 1, got in_nc=",
               prior.in_nc, ", out_nc=", prior.out_nc);
  prior.validate();
}

UnrolledNetOptions UnrolledNetOptions::usrnet() { return UnrolledNetOptions{}; }

UnrolledNetOptions UnrolledNetOptions::usrnet_tiny() {
  UnrolledNetOptions o;
  o.iterations = 6;
  o.hyper_channels = 32;
  o.prior = ResUNetOptions::usrnet_tiny();
  return o;
}

UnrolledNetImpl::UnrolledNetImpl(const UnrolledNetOptions& options) : options_(options) {
  options_.validate();
  auto make = [&]() -> PriorPtr {
    if (!options_.prior_factory) return std::make_shared<ResUNet>(options_.prior);
    PriorPtr p = options_.prior_factory();
    UNROLL_CHECK(p != nullptr, "unrolled net: prior_factory returned no prior");
    return p;
  };
  if (options_.prior_groups == 1) {
    priors_.push_back(register_module("p", make()));
  } else {
    torch::nn::ModuleList list;
    for (int g = 0; g < options_.prior_groups; ++g) {
      priors_.push_back(make());
      list->push_back(priors_.back());
    }
    register_module("p", list);
  }
  channels_ = priors_[0]->channels();
  HyperNetOptions ho;
  ho.in_nc = 2;
  ho.out_nc = 2 * options_.iterations;
  ho.channels = options_.hyper_channels;
  h_ = register_module("h", HyperNet(ho));
}

PriorPtr UnrolledNetImpl::prior(int k) const {
  UNROLL_CHECK(k >= 0 && k < options_.iterations, "unrolled net: iteration ", k, " out of range");
  return priors_[options_.prior_index(k)];
}

std::shared_ptr<ResUNet> UnrolledNetImpl::resunet_prior(int k) const {
  auto p = std::dynamic_pointer_cast<ResUNet>(prior(k));
  UNROLL_CHECK(p != nullptr, "unrolled net: the prior is a ", prior(k)->kind(), ", not a ResUNet");
  return p;
}

torch::Tensor UnrolledNetImpl::forward(const torch::Tensor& y, const torch::Tensor& kernel,
                                       const torch::Tensor& sigma, int64_t sf) {
  return forward_all(y, kernel, sigma, sf, /*keep_intermediates=*/false).image;
}

torch::Tensor UnrolledNetImpl::check_inputs(const torch::Tensor& y, const torch::Tensor& sigma) const {
  check_image(y, "unrolled net input");
  UNROLL_CHECK(channels_ == 0 || y.size(1) == channels_, "unrolled net: input has ", y.size(1),
               " channels, the model expects ", channels_);
  auto s = sigma.to(y.options());
  if (s.dim() == 0) s = s.reshape({1, 1, 1, 1});
  UNROLL_CHECK(s.dim() == 4 && s.size(1) == 1 && s.size(2) == 1 && s.size(3) == 1 &&
                   (s.size(0) == 1 || s.size(0) == y.size(0)),
               "unrolled net: sigma must be [N,1,1,1] or a scalar, got ", s.sizes());
  return s.expand({y.size(0), 1, 1, 1});
}

torch::Tensor UnrolledNetImpl::prior_step(int k, const torch::Tensor& x, const torch::Tensor& beta) {
  if (!options_.alternate_transforms) return prior(k)->denoise(x, beta);
  const int mode = k % 8;
  return inverse_augment(prior(k)->denoise(augment(x, mode).contiguous(), beta), mode);
}

torch::Tensor UnrolledNetImpl::hyper(const torch::Tensor& sigma, double sf) {
  return h_->forward(torch::cat({sigma, torch::full_like(sigma, sf)}, 1));
}

void UnrolledNetImpl::iterate(const DataStepFn& data_step, torch::Tensor z, UnrolledOutput& out,
                              bool keep_intermediates) {
  const int K = options_.iterations;
  for (int i = 0; i < K; ++i) {
    auto alpha = out.hyper.narrow(1, i, 1);
    auto beta = out.hyper.narrow(1, K + i, 1);
    auto x = data_step(z, alpha);
    z = prior_step(i, x, beta);
    if (keep_intermediates) {
      out.data_steps.push_back(x);
      out.prior_steps.push_back(z);
    }
  }
  out.image = z;
}

UnrolledOutput UnrolledNetImpl::forward_with(const DataStepFn& data_step, const torch::Tensor& y,
                                             const torch::Tensor& sigma, bool keep_intermediates) {
  auto s = check_inputs(y, sigma);
  UnrolledOutput out;
  out.hyper = hyper(s);
  iterate(data_step, y, out, keep_intermediates);
  return out;
}

UnrolledOutput UnrolledNetImpl::forward_all(const torch::Tensor& y, const torch::Tensor& kernel,
                                            const torch::Tensor& sigma, int64_t sf, bool keep_intermediates) {
  auto s = check_inputs(y, sigma);
  UNROLL_CHECK(sf >= 1, "unrolled net: sf must be >= 1, got ", sf);
  auto k = as_kernel_batch(kernel).to(y.options());
  check_kernel(k, y.size(0), y.size(2) * sf, y.size(3) * sf, "unrolled net kernel");

  UnrolledOutput out;
  out.hyper = hyper(s, static_cast<double>(sf));
  // Data module, precomputed once per (y, k, sf).
  if (sf == 1) {
    const FourierDataStep deblur(y, k);
    iterate([&](const torch::Tensor& z, const torch::Tensor& a) { return deblur.solve(z, a); }, y, out,
            keep_intermediates);
  } else {
    const SrDataStep sr(y, k, sf);
    auto z0 = torch::nn::functional::interpolate(
        y, torch::nn::functional::InterpolateFuncOptions()
               .scale_factor(std::vector<double>{double(sf), double(sf)})
               .mode(torch::kNearest));
    iterate([&](const torch::Tensor& z, const torch::Tensor& a) { return sr.solve(z, a); }, z0, out,
            keep_intermediates);
  }
  return out;
}

UnrolledNetOptions unrolled_options_from_state_dict(const StateDict& state) {
  std::unordered_map<std::string, torch::Tensor> by_name;
  for (const auto& [name, t] : state) by_name.emplace(name, t);
  auto get = [&](const std::string& key) -> const torch::Tensor& {
    auto it = by_name.find(key);
    UNROLL_CHECK(it != by_name.end(), "unrolled net checkpoint: missing key '", key, "' (not a USRNet-style state dict?)");
    return it->second;
  };
  UnrolledNetOptions o;
  const int64_t out = get("h.mlp.4.bias").size(0);
  UNROLL_CHECK(out % 2 == 0, "unrolled net checkpoint: h.mlp.4.bias has odd size ", out);
  o.iterations = static_cast<int>(out / 2);
  o.hyper_channels = get("h.mlp.0.weight").size(0);
  // Prior groups: p.<g>. prefixes (a ModuleList), else one shared prior under p.
  int groups = 1;
  for (const auto& kv : state) groups = std::max(groups, prior_group_of(kv.first) + 1);
  o.prior_groups = groups;
  UNROLL_CHECK(o.prior_groups <= o.iterations, "unrolled net checkpoint: ", o.prior_groups, " priors for ",
               o.iterations, " iterations");
  set_prior_from_state_dict(o, state, o.prior_groups == 1 ? "p." : "p.0.");
  o.validate();
  return o;
}

void set_prior_from_state_dict(UnrolledNetOptions& o, const StateDict& state, const std::string& prefix) {
  if (prior_family_from_state_dict(state, prefix) == "resunet") {
    o.prior = resunet_options_from_state_dict(state, prefix);
    o.prior_factory = nullptr;
  } else {
    o.prior_factory = prior_factory_from_state_dict(state, prefix);
  }
}

UnrolledNet unrolled_net_from_state(const StateDict& state, const std::string& source) {
  UNROLL_CHECK(!is_blind_unrolled_state(state), source,
               ": a blind unrolled network; it runs with --method unrolled-blind (no kernel)");
  UnrolledNetOptions options;
  try {
    options = unrolled_options_from_state_dict(state);
  } catch (const Error& e) {
    fail(source, ": ", e.what());
  }
  UnrolledNet net(options);
  load_into_module(*net, state, /*strict=*/true, source);
  return net;
}

UnrolledNet load_unrolled_net(const std::string& path) { return unrolled_net_from_state(load_state_dict(path), path); }

UnrolledNet regroup_priors(const UnrolledNet& source, int prior_groups) {
  UnrolledNetOptions o = source->options();
  o.prior_groups = prior_groups;
  UnrolledNet net(o);
  const auto& from = source->options();
  const int K = o.iterations;
  // New prior group g starts as the source prior of its first iteration (the smallest k with
  // k * G / K == g, i.e. ceil(g * K / G)).
  auto source_name = [&](const std::string& name) -> std::string {
    if (name.compare(0, 2, "p.") != 0) return name;
    std::string rest = name.substr(2);
    const int g = o.prior_groups > 1 ? prior_group_of(name, &rest) : 0;
    const int first_iteration = (g * K + o.prior_groups - 1) / o.prior_groups;
    const int s = from.prior_index(first_iteration);
    return from.prior_groups == 1 ? "p." + rest : "p." + std::to_string(s) + "." + rest;
  };
  const StateDict state = module_state_dict(*source);
  const std::unordered_map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  StateDict mapped;
  for (const auto& entry : module_state_dict(*net)) {
    auto it = by_name.find(source_name(entry.first));
    UNROLL_CHECK(it != by_name.end(), "regroup_priors: the source network has no entry for '", entry.first, "'");
    mapped.emplace_back(entry.first, it->second);
  }
  const auto params = source->parameters();
  if (!params.empty()) net->to(params.front().device(), params.front().scalar_type());  // load keeps both
  load_into_module(*net, mapped, /*strict=*/true, "regroup_priors");
  net->train(source->is_training());
  return net;
}

UnrolledNet widen_priors(const UnrolledNet& source, const std::vector<int64_t>& nc) {
  UnrolledNetOptions o = source->options();
  UNROLL_CHECK(!o.prior_factory, "widen_priors: only ResUNet priors can be widened, this network has a ",
               source->prior(0)->kind(), " prior");
  UNROLL_CHECK(nc.size() == o.prior.nc.size(), "widen_priors: ", o.prior.nc.size(), " widths expected, got ", nc.size());
  for (size_t s = 0; s < nc.size(); ++s)
    UNROLL_CHECK(nc[s] >= o.prior.nc[s], "widen_priors: scale ", s + 1, " would shrink from ", o.prior.nc[s], " to ",
                 nc[s], " channels (widths can only grow)");
  o.prior.nc = nc;
  UnrolledNet net(o);
  const auto params = source->parameters();
  if (!params.empty()) net->to(params.front().device(), params.front().scalar_type());
  embed_narrower(*net, *source, "widen_priors");
  net->train(source->is_training());
  return net;
}

UnrolledNet grey_from_colour(const UnrolledNet& source) {
  UnrolledNetOptions o = source->options();
  UNROLL_CHECK(!o.prior_factory, "grey_from_colour: only ResUNet priors can be converted, this network has a ",
               source->prior(0)->kind(), " prior");
  UNROLL_CHECK(o.prior.noise_map && o.prior.out_nc == 3 && o.prior.in_nc == 4, "grey_from_colour: the network ",
               "must take RGB + a noise map (in_nc 4, out_nc 3), got in_nc ", o.prior.in_nc, ", out_nc ", o.prior.out_nc);
  o.prior.in_nc = 2;
  o.prior.out_nc = 1;
  UnrolledNet net(o);
  const auto params = source->parameters();
  if (!params.empty()) net->to(params.front().device(), params.front().scalar_type());
  const StateDict from = module_state_dict(*source);
  const std::unordered_map<std::string, torch::Tensor> by_name(from.begin(), from.end());
  StateDict mapped;
  for (const auto& [name, target] : module_state_dict(*net)) {
    auto it = by_name.find(name);
    UNROLL_CHECK(it != by_name.end(), "grey_from_colour: the colour network has no entry for '", name, "'");
    torch::Tensor t = it->second;
    if (ends_with(name, "m_head.weight")) {  // [c0, 3 + 1, kh, kw] -> [c0, 1 + 1, kh, kw]
      t = torch::cat({t.narrow(1, 0, 3).sum(1, /*keepdim=*/true), t.narrow(1, 3, 1)}, 1);
    } else if (ends_with(name, "m_tail.weight") || ends_with(name, "m_tail.bias")) {  // [3, ...] -> [1, ...]
      t = t.mean(0, /*keepdim=*/true);
    }
    mapped.emplace_back(name, t);
  }
  load_into_module(*net, mapped, /*strict=*/true, "grey_from_colour");
  net->train(source->is_training());
  return net;
}

torch::Tensor upsample_zeros(const torch::Tensor& y, int64_t sf) {
  UNROLL_CHECK(y.dim() == 4, "upsample_zeros: expected [N,C,H,W], got ", y.sizes());
  auto z = torch::zeros({y.size(0), y.size(1), y.size(2) * sf, y.size(3) * sf}, y.options());
  using torch::indexing::Slice;
  z.index_put_({Slice(), Slice(), Slice(0, torch::indexing::None, sf), Slice(0, torch::indexing::None, sf)}, y);
  return z;
}

SrDataStep::SrDataStep(const torch::Tensor& y, const torch::Tensor& kernel, int64_t sf)
    : sf_(sf), height_(y.size(2) * sf), width_(y.size(3) * sf) {
  UNROLL_CHECK(sf >= 1, "sr data step: sf must be >= 1, got ", sf);
  auto k = as_kernel_batch(kernel).to(y.options());
  const int64_t kh = k.size(2), kw = k.size(3);
  UNROLL_CHECK(kh <= height_ && kw <= width_, "sr data step: kernel ", kh, "x", kw, " larger than the ", height_,
               "x", width_, " grid");
  // p2o: zero-pad to the HR grid, roll the centre (kh/2, kw/2) to the origin, full 2-D FFT.
  auto padded = torch::nn::functional::pad(k, torch::nn::functional::PadFuncOptions({0, width_ - kw, 0, height_ - kh}));
  padded = torch::roll(padded, {-(kh / 2), -(kw / 2)}, {2, 3});
  fb_ = torch::fft::fft2(padded);
  fbc_ = fb_.conj();
  f2b_ = torch::real(fb_ * fbc_);
  fbfy_ = fbc_ * torch::fft::fft2(upsample_zeros(y, sf));
}

torch::Tensor SrDataStep::solve(const torch::Tensor& z, const torch::Tensor& alpha) const {
  UNROLL_CHECK(z.size(-2) == height_ && z.size(-1) == width_, "sr data step: z is ", z.size(-2), "x", z.size(-1),
               ", expected ", height_, "x", width_);
  auto a = alpha.dim() == 0 ? alpha.reshape({1, 1, 1, 1}) : alpha;
  const int64_t h = height_ / sf_, w = width_ / sf_;
  // Mean over the sf x sf distinct blocks of the spectrum (USRNet `splits` + mean).
  auto block_mean = [&](const torch::Tensor& t) {
    auto s = t.sizes().vec();
    return t.reshape({s[0], s[1], sf_, h, sf_, w}).mean(std::vector<int64_t>{2, 4});
  };
  auto fr = fbfy_ + torch::fft::fft2(a * z);
  auto fbr = block_mean(fb_ * fr);
  auto inv_w = block_mean(f2b_);
  auto inv_wbr = fbr / (inv_w + a);
  auto fcb_inv_wbr = fbc_ * inv_wbr.repeat({1, 1, sf_, sf_});
  auto fx = (fr - fcb_inv_wbr) / a;
  return torch::real(torch::fft::ifft2(fx));
}

}  // namespace unroll
