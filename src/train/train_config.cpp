#include "train/train_config.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/tensor.h"
#include "datasets/degrade.h"
#include "datasets/kernels.h"
#include "hqs/unrolled_net.h"
#include "hqs/warm_start.h"
#include "nets/convir.h"
#include "nets/deblur_net.h"
#include "priors/prior.h"
#include "priors/resunet.h"
#include "train/training_tasks.h"

namespace unroll {
namespace {

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& key) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    try {
      size_t used = 0;
      out.push_back(std::stoll(item, &used));
      UNROLL_CHECK(item.find_first_not_of(" \t", used) == std::string::npos, "");
    } catch (const std::exception&) {
      fail(key, ": not a comma-separated list of integers: '", text, "'");
    }
  }
  UNROLL_CHECK(!out.empty(), key, ": empty list");
  return out;
}

/// The synthetic-pair fields shared by tasks unrolled and deblur (train/training_tasks.h).
void set_pair_options(const TrainConfig& c, UnrolledTrainingOptions& o) {
  o.trainer = c.trainer;
  o.kernels = fitted_kernel_spec(KernelType::Mixed, c.kernel_size);  // default ranges fitted to the size
  o.motion_fraction = c.motion_fraction;
  o.sigma_max = c.sigma_max255 / 255.0;
  o.val_sigma = c.val_sigma255 / 255.0;
  o.blur = parse_blur_mode(c.blur);
  o.loss = c.loss;
}

DenoiserTrainingOptions denoiser_options(const TrainConfig& c) {
  DenoiserTrainingOptions o;
  o.trainer = c.trainer;
  o.sigma_max = c.sigma_max255 / 255.0;
  o.val_sigma = c.val_sigma255 / 255.0;
  o.loss = c.loss;
  return o;
}

UnrolledNet build_unrolled(const TrainConfig& c) {
  if (!c.init_weights.empty()) {
    UnrolledNet model = load_unrolled_net(c.init_weights);
    std::cout << "unrolled network: " << model->options().iterations << " iterations, starting from "
              << c.init_weights << "\n";
    const bool regroup = c.is_given("model.prior_groups") || c.is_given("model.shared_prior");
    const int groups = c.shared_prior ? static_cast<int>(c.prior_groups) : model->options().iterations;
    if (regroup && groups != model->options().prior_groups) {
      UNROLL_CHECK(groups <= model->options().iterations, c.source, ": model.prior_groups must be in 1..",
                   model->options().iterations, " (the iterations of ", c.init_weights, "), got ", groups);
      const int before = model->options().prior_groups;
      model = regroup_priors(model, groups);
      std::cout << "prior groups " << before << " -> " << groups << " (each starts as a copy of the prior of its "
                << "first iteration)\n";
    }
    if (c.is_given("model.nc")) {
      const auto nc = parse_int_list(c.nc_text, "model.nc");
      const auto before = model->options().prior.nc;
      if (nc != before) {
        try {
          model = widen_priors(model, nc);
        } catch (const Error& e) {
          fail(c.source, ": model.nc: ", e.what(), " (", c.init_weights, ")");
        }
        auto widths = [](const std::vector<int64_t>& v) {
          std::ostringstream o;
          for (size_t i = 0; i < v.size(); ++i) o << (i ? "-" : "") << v[i];
          return o.str();
        };
        std::cout << "prior widths " << widths(before) << " -> " << widths(nc) << " (the checkpoint's weights "
                  << "embedded, output unchanged): " << module_parameter_count(*model) << " parameters\n";
      }
    }
    return model;
  }
  if (!c.init_prior.empty()) {
    ScheduleFit fit;
    UnrolledNet model = unrolled_from_denoiser(c.init_prior, static_cast<int>(c.iterations), c.hyper,
                                               static_cast<int>(c.prior_groups), {}, &fit);
    std::cout << "warm start from " << c.init_prior << ": hyper-network fitted to the DPIR schedule (mean |log "
              << "error| " << fit.mean_log_error << ", max " << fit.max_log_error << ")\n";
    return model;
  }
  UnrolledNetOptions m = UnrolledNetOptions::usrnet_tiny();
  m.iterations = static_cast<int>(c.iterations);
  m.hyper_channels = c.hyper;
  m.prior_groups = static_cast<int>(c.prior_groups);
  m.prior.nc = parse_int_list(c.nc_text, "model.nc");
  m.prior.nb = c.nb;
  m.prior.global_residual = c.is_given("model.global_residual") && c.global_residual;
  if (c.family != "resunet") {
    const std::string family = c.family;
    // attention-unet | convir-s, priors/prior.h defaults
    m.prior_factory = [family, zero = c.zero_init_outputs] { return make_prior(family, zero); };
  }
  UnrolledNet model(m);
  if (m.prior.global_residual) {
    for (int k = 0; k < m.iterations; ++k) model->resunet_prior(k)->zero_init_tail();  // a shared prior again: harmless
  }
  return model;
}

}  // namespace

TrainConfig::TrainConfig() {
  trainer.crop = 64;
  trainer.lr = 2e-4;
  trainer.checkpoint_every = 200;
  trainer.validate_every = 500;
  trainer.out_dir = out_dir;
}

bool is_train_config_key(const std::string& key) {
  TrainConfig scratch;
  bool found = false;
  visit_train_config(scratch, [&](const char* k, auto&, const char*) { found = found || key == k; });
  return found;
}

void finish_train_config(TrainConfig& c) {
  const std::string& source = c.source;
  auto defaulted = [&](const char* key) { return !c.is_given(key); };
  UNROLL_CHECK(c.is_given("experiment.task"), source, ": experiment.task is required (denoiser, unrolled or deblur)");
  UNROLL_CHECK(c.task == "denoiser" || c.task == "unrolled" || c.task == "deblur", source,
               ": experiment.task must be denoiser, unrolled or deblur, got '", c.task, "'");
  try {
    parse_device(c.device);
  } catch (const Error& e) {
    fail(source, ": train.device: ", e.what());
  }
  try {
    parse_blur_mode(c.blur);
  } catch (const Error& e) {
    fail(source, ": train.blur: ", e.what());
  }
  if (c.task == "deblur") {
    const auto& fams = DeblurNet::families();
    UNROLL_CHECK(std::find(fams.begin(), fams.end(), c.family) != fams.end(), source,
                 ": model.family for task deblur must be one of convir-s, convir-b, convir-l, convir-seed, atrous, "
                 "atrous-reds, kaist, carlo, unet-resnet, unet-ae, got '", c.family, "'");
    for (const char* key : {"model.iterations", "model.hyper_channels", "model.shared_prior", "model.prior_groups"})
      UNROLL_CHECK(defaulted(key), source, ": ", key, " applies to task unrolled");
  } else {
    UNROLL_CHECK(defaulted("train.gradient_penalty"), source, ": train.gradient_penalty applies to task deblur");
    UNROLL_CHECK(c.family == "resunet" || c.family == "attention-unet" || c.family == "convir-s", source,
                 ": model.family must be resunet, attention-unet or convir-s, got '", c.family, "'");
  }
  const bool convir_from_scratch =
      c.family.compare(0, 6, "convir") == 0 && c.init_weights.empty() && c.init_prior.empty();
  if (!convir_from_scratch) {
    UNROLL_CHECK(defaulted("model.zero_init_outputs"), source,
                 ": model.zero_init_outputs applies to a ConvIR family trained from scratch (",
                 c.init_weights.empty() && c.init_prior.empty() ? "model.family is " + c.family
                                                                : std::string("the weights come from a checkpoint"),
                 ")");
  }
  if (c.is_given("model.base_channel")) {
    UNROLL_CHECK(c.task == "deblur" && convir_from_scratch, source,
                 ": model.base_channel applies to task deblur with a ConvIR family trained from scratch");
    UNROLL_CHECK(c.base_channel >= 8 && c.base_channel % 8 == 0, source,
                 ": model.base_channel must be a positive multiple of 8, got ", c.base_channel);
  }
  if (c.family != "resunet") {
    for (const char* key : {"model.nc", "model.nb", "model.global_residual"})
      UNROLL_CHECK(defaulted(key), source, ": ", key, " applies to model.family resunet only (", c.family,
                   " has a fixed architecture)");
  } else {
    parse_int_list(c.nc_text, source + ": model.nc");
  }
  UNROLL_CHECK(c.init_prior.empty() || c.task == "unrolled", source, ": model.init_prior applies to task unrolled");
  UNROLL_CHECK(c.init_weights.empty() || c.task == "deblur" || c.task == "unrolled", source,
               ": model.init_weights applies to tasks deblur and unrolled");
  UNROLL_CHECK(c.init_prior.empty() || c.init_weights.empty(), source,
               ": model.init_prior and model.init_weights exclude each other");
  auto architecture_from = [&](const char* init, std::initializer_list<const char*> keys) {
    for (const char* key : keys)
      UNROLL_CHECK(defaulted(key), source, ": ", key, " cannot be combined with ", init,
                   " (the architecture comes from the checkpoint)");
  };
  if (!c.init_prior.empty()) {
    architecture_from("model.init_prior", {"model.nc", "model.nb", "model.global_residual", "model.family"});
  }
  if (c.task == "unrolled" && !c.init_weights.empty()) {
    architecture_from("model.init_weights", {"model.nb", "model.global_residual", "model.family",
                                             "model.iterations", "model.hyper_channels"});
  }
  UNROLL_CHECK(defaulted("model.shared_prior") || defaulted("model.prior_groups"), source,
               ": model.shared_prior and model.prior_groups exclude each other");
  if (!c.shared_prior) c.prior_groups = c.iterations;
  // With model.init_weights the iterations come from the checkpoint and the range is checked on loading.
  UNROLL_CHECK(c.prior_groups >= 1 && (!c.init_weights.empty() || c.prior_groups <= c.iterations), source,
               ": model.prior_groups must be in 1..model.iterations (", c.iterations, "), got ", c.prior_groups);
  c.trainer.out_dir = c.out_dir;
  try {
    c.trainer.validate();  // schedule and sizes now, not when a run (or an experiment's n-th variant) starts
  } catch (const Error& e) {
    fail(source, ": ", e.what());
  }
}

void check_init_files(const TrainConfig& c) {
  for (const auto& [key, file] : {std::pair<const char*, std::string>{"model.init_prior", c.init_prior},
                                  {"model.init_weights", c.init_weights}}) {
    UNROLL_CHECK(file.empty() || std::filesystem::is_regular_file(file), c.source, ": ", key, ": no such file '", file,
                 "'");
  }
}

TrainResult run_train_config(const TrainConfig& c, std::shared_ptr<const PairDataset> train_set,
                             std::shared_ptr<const PairDataset> val_set, bool resume) {
  UNROLL_CHECK(train_set != nullptr && train_set->size() > 0, c.source, ": no training images");
  const torch::Device device = parse_device(c.device);
  torch::manual_seed(c.trainer.seed);  // the models' random initialisation (and the warm start's fit) follow train.seed
  if (c.task == "deblur") {
    DeblurTrainingOptions o;
    set_pair_options(c, o);
    o.multiscale = c.multiscale;
    o.gradient_penalty = c.gradient_penalty;
    auto net = c.init_weights.empty() ? DeblurNet::create(c.family, c.zero_init_outputs,
                                                          c.is_given("model.base_channel") ? c.base_channel : 0)
                                      : DeblurNet::load(c.family, c.init_weights);
    net.module()->to(device);
    std::cout << net.family() << ": " << net.parameter_count() << " parameters";
    if (!c.init_weights.empty()) std::cout << ", starting from " << c.init_weights;
    std::cout << "\n";
    return train_deblur_net(net, train_set, val_set, o, resume);
  }
  if (c.task == "denoiser") {
    std::shared_ptr<Prior> prior;
    if (c.family != "resunet") {
      prior = make_prior(c.family, c.zero_init_outputs);
    } else {
      ResUNetOptions m;
      m.nc = parse_int_list(c.nc_text, "model.nc");
      m.nb = c.nb;
      m.global_residual = c.global_residual;
      auto model = std::make_shared<ResUNet>(m);
      if (c.global_residual) model->zero_init_tail();
      prior = model;
    }
    prior->to(device);
    return train_denoiser(prior, train_set, val_set, denoiser_options(c), resume);
  }
  UnrolledNet model = build_unrolled(c);
  model->to(device);
  UnrolledTrainingOptions o;
  set_pair_options(c, o);
  return train_unrolled(model, train_set, val_set, o, resume);
}

}  // namespace unroll
