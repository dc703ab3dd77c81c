#include "hqs/warm_start.h"

#include <cmath>

#include "core/checkpoint.h"
#include "core/error.h"
#include "priors/resunet.h"

namespace unroll {
namespace {

constexpr int64_t kGridHalf = 512;

torch::Tensor fit_grid(const ScheduleFitOptions& o) {
  auto lin = torch::linspace(0.0, o.sigma_max, kGridHalf, torch::kFloat64);
  auto log = torch::logspace(std::log10(o.schedule.sigma_floor), std::log10(o.sigma_max), kGridHalf, 10.0,
                             torch::kFloat64);
  return torch::cat({lin, log});
}

/// h's input [G,2,1,1] = [sigma, sf = 1] in h's dtype and device.
torch::Tensor hyper_input(const torch::Tensor& sigmas, const torch::TensorOptions& like) {
  auto s = sigmas.to(like).reshape({-1, 1, 1, 1});
  return torch::cat({s, torch::ones_like(s)}, 1);
}

torch::TensorOptions parameter_options(const torch::nn::Module& m) {
  const auto params = m.parameters();
  UNROLL_CHECK(!params.empty(), "warm start: module has no parameters");
  return params.front().options().requires_grad(false);
}

ScheduleFit log_errors(const torch::Tensor& log_out, const torch::Tensor& log_target) {
  auto err = (log_out - log_target).abs().to(torch::kFloat64);
  return ScheduleFit{err.mean().item<double>(), err.max().item<double>()};
}

/// Validates the fit's inputs; returns h's tensor options and the noise-level grid.
std::pair<torch::TensorOptions, torch::Tensor> fit_setup(HyperNet& h, int iterations, const ScheduleFitOptions& options) {
  options.validate();
  UNROLL_CHECK(h->options().in_nc == 2 && h->options().out_nc == 2 * iterations, "schedule fit: the hyper net maps ",
               h->options().in_nc, " -> ", h->options().out_nc, " channels, expected 2 -> ", 2 * iterations);
  return {parameter_options(*h), fit_grid(options)};
}

}  // namespace

void ScheduleFitOptions::validate() const {
  schedule.validate();
  UNROLL_CHECK(std::isfinite(sigma_max) && sigma_max > schedule.sigma_floor,
               "schedule fit: sigma_max must be > sigma_floor (", schedule.sigma_floor, "), got ", sigma_max);
  UNROLL_CHECK(steps >= 1, "schedule fit: steps must be >= 1, got ", steps);
  UNROLL_CHECK(std::isfinite(lr) && lr > 0.0, "schedule fit: lr must be > 0, got ", lr);
}

torch::Tensor dpir_schedule_targets(const torch::Tensor& sigmas, int iterations, const PnpHqsOptions& schedule) {
  PnpHqsOptions o = schedule;
  o.iterations = iterations;
  auto s = sigmas.to(torch::kFloat64).contiguous().cpu();
  auto out = torch::empty({s.numel(), 2 * iterations}, torch::kFloat64);
  auto acc = out.accessor<double, 2>();
  const double* sp = s.data_ptr<double>();
  for (int64_t g = 0; g < s.numel(); ++g) {
    const PnpSchedule sched = dpir_schedule(sp[g], o);
    for (int k = 0; k < iterations; ++k) {
      acc[g][k] = sched.alphas[k];
      acc[g][iterations + k] = sched.sigmas[k];
    }
  }
  return out;
}

ScheduleFit measure_schedule_fit(HyperNet& h, int iterations, const ScheduleFitOptions& options) {
  const auto [like, grid] = fit_setup(h, iterations, options);
  torch::NoGradGuard no_grad;
  auto out = h->forward(hyper_input(grid, like)).reshape({grid.size(0), 2 * iterations});
  return log_errors(out.log(), dpir_schedule_targets(grid, iterations, options.schedule).log().to(like));
}

ScheduleFit fit_hyper_net_to_schedule(HyperNet& h, int iterations, const ScheduleFitOptions& options) {
  const auto [like, grid] = fit_setup(h, iterations, options);
  const auto input = hyper_input(grid, like);
  const auto log_target = dpir_schedule_targets(grid, iterations, options.schedule).log().to(like);
  const bool was_training = h->is_training();
  h->train();
  torch::optim::Adam adam(h->parameters(), torch::optim::AdamOptions(options.lr));
  const double lr_min = options.lr / 100.0;
  for (int64_t step = 0; step < options.steps; ++step) {
    const double t = options.steps == 1 ? 1.0 : static_cast<double>(step) / (options.steps - 1);
    const double lr = lr_min + (options.lr - lr_min) * 0.5 * (1.0 + std::cos(M_PI * t));
    for (auto& group : adam.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    adam.zero_grad();
    auto out = h->forward(input).reshape({grid.size(0), 2 * iterations});
    auto loss = (out.log() - log_target).pow(2).mean();
    loss.backward();
    adam.step();
  }
  h->train(was_training);
  return measure_schedule_fit(h, iterations, options);
}

UnrolledNet unrolled_from_denoiser(const std::string& denoiser_path, int iterations, int64_t hyper_channels,
                                   int prior_groups, const ScheduleFitOptions& options, ScheduleFit* fit) {
  const StateDict state = load_state_dict(denoiser_path);
  UnrolledNetOptions o;
  o.iterations = iterations;
  o.hyper_channels = hyper_channels;
  o.prior_groups = prior_groups;
  try {
    set_prior_from_state_dict(o, state, "");
  } catch (const Error& e) {
    fail(denoiser_path, ": ", e.what());
  }
  if (!o.prior_factory) {
    UNROLL_CHECK(o.prior.noise_map && o.prior.in_nc == o.prior.out_nc + 1, denoiser_path,
                 ": the denoiser must take the image plus a noise-level map (in_nc = out_nc + 1), got in_nc=",
                 o.prior.in_nc, ", out_nc=", o.prior.out_nc);
  }
  UnrolledNet net(o);
  for (int k = 0; k < iterations; ++k) {
    if (k == 0 || o.prior_index(k) != o.prior_index(k - 1))  // once per prior group
      load_into_module(*net->prior(k), state, /*strict=*/true, denoiser_path);
  }
  HyperNet h = net->hyper_net();
  const ScheduleFit f = fit_hyper_net_to_schedule(h, iterations, options);
  if (fit) *fit = f;
  return net;
}

}  // namespace unroll
