#include "train/train_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/distributed.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/tensor.h"
#include "datasets/degrade.h"
#include "datasets/kernels.h"
#include "core/checkpoint.h"
#include "hqs/blind_unrolled_net.h"
#include "hqs/unrolled_net.h"
#include "nets/convir.h"
#include "hqs/warm_start.h"
#include "priors/model_family.h"
#include "priors/resunet.h"
#include "train/losses.h"
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

/// The role of the models a task trains (priors/model_family.h): an end-to-end network for deblur, a
/// denoiser (trained alone, or as the unrolled network's prior) otherwise.
ModelRole role_of_task(const std::string& task) { return task == "deblur" ? ModelRole::Deblur : ModelRole::Denoiser; }

/// "a, b, c".
std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : ", ") + names[i];
  return out;
}

/// "a, b or c".
std::string join_or(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

/// What the family's constructor is told (it reads only the fields its row declares).
ModelBuild model_build(const TrainConfig& c, const ModelFamily& family) {
  ModelBuild b;
  b.zero_init_outputs = c.zero_init_outputs;
  b.base_channel = c.is_given("model.base_channel") ? c.base_channel : 0;
  if (family.reads_resunet) {
    b.resunet.nc = parse_int_list(c.nc_text, "model.nc");
    b.resunet.nb = c.nb;
    b.resunet.global_residual = c.global_residual;
  }
  return b;
}

/// The synthetic-pair fields shared by tasks unrolled and deblur (train/training_tasks.h).
void set_pair_options(const TrainConfig& c, UnrolledTrainingOptions& o) {
  o.trainer = c.trainer;
  o.kernels = fitted_kernel_spec(KernelType::Mixed, c.kernel_size);  // default ranges fitted to the size
  o.motion_fraction = c.motion_fraction;
  o.defocus_fraction = c.defocus_fraction;
  o.kernel_perturbation = c.kernel_perturbation;
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

// The unrolled network a config starts from. `init_state`: model.init_weights already read (the
// blind task reads it first to tell a blind checkpoint from a non-blind one), else read here.
UnrolledNet build_unrolled(const TrainConfig& c, const StateDict* init_state = nullptr) {
  if (!c.init_weights.empty()) {
    UnrolledNet model = init_state ? unrolled_net_from_state(*init_state, c.init_weights)
                                   : load_unrolled_net(c.init_weights);
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
    if (c.grey && model->channels() != 1) {
      try {
        model = grey_from_colour(model);
      } catch (const Error& e) {
        fail(c.source, ": data.grey: ", e.what(), " (", c.init_weights, ")");
      }
      std::cout << "grey network from the colour one (each prior's first convolution summed over R, G, B, its last "
                << "one averaged)\n";
    }
    UNROLL_CHECK(model->channels() == (c.grey ? 1 : 3), c.source, ": ", c.init_weights, " is a ",
                 model->channels(), "-channel network, the training images are ", c.grey ? "grey (data.grey)" : "RGB",
                 c.grey ? "" : " (set data.grey = 1 to train it on grey images)");
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
  if (c.grey) {
    m.prior.in_nc = 2;  // luminance + the noise map
    m.prior.out_nc = 1;
  }
  // A family built from ResUNetOptions is the network's own prior (`m.prior`, USRNet-tiny's with the
  // widths above); any other one fills the slot through prior_factory.
  const ModelFamily& family = find_model_family(c.family, ModelRole::Denoiser);
  if (!family.reads_resunet) {
    m.prior_factory = [&family, build = model_build(c, family)] { return family.make_prior(build); };
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

const char* model_family_help() {
  static const std::string help = [] {
    auto names = [](ModelRole role) {
      std::string out;
      for (const auto& f : model_families()) {
        if (f.role != role || !f.trainable) continue;
        out += (out.empty() ? "" : " | ") + f.name + (f.reads_resunet ? " (model.nc, model.nb)" : "");
      }
      return out;
    };
    return "denoiser and unrolled (its prior): " + names(ModelRole::Denoiser) +
           " (priors/model_family.h); deblur: " + names(ModelRole::Deblur);
  }();
  return help.c_str();
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
  UNROLL_CHECK(c.is_given("experiment.task"), source,
               ": experiment.task is required (denoiser, unrolled, blind-unrolled or deblur)");
  UNROLL_CHECK(c.task == "denoiser" || c.task == "unrolled" || c.task == "blind-unrolled" || c.task == "deblur", source,
               ": experiment.task must be denoiser, unrolled, blind-unrolled or deblur, got '", c.task, "'");
  const bool unrolled_task = c.task == "unrolled" || c.task == "blind-unrolled";
  if (c.task != "blind-unrolled") {
    for (const char* key : {"model.kernel_steps", "train.kernel_loss", "train.deep_supervision"})
      UNROLL_CHECK(defaulted(key), source, ": ", key, " applies to task blind-unrolled");
  } else {
    UNROLL_CHECK(c.kernel_size % 2 == 1 && c.kernel_size >= 3 && c.kernel_size <= 63, source,
                 ": train.kernel_size must be odd and in 3..63 for task blind-unrolled (the network's kernel side), got ",
                 c.kernel_size);
    UNROLL_CHECK(c.kernel_steps >= -1 && c.kernel_steps < c.iterations, source,
                 ": model.kernel_steps must be in -1..model.iterations - 1, got ", c.kernel_steps);
    UNROLL_CHECK(std::isfinite(c.kernel_loss) && c.kernel_loss >= 0, source, ": train.kernel_loss must be >= 0, got ",
                 c.kernel_loss);
    UNROLL_CHECK(std::isfinite(c.deep_supervision) && c.deep_supervision >= 0, source,
                 ": train.deep_supervision must be >= 0, got ", c.deep_supervision);
  }
  UNROLL_CHECK(std::isfinite(c.defocus_fraction) && c.defocus_fraction >= 0 &&
                   c.defocus_fraction <= 1 - c.motion_fraction + 1e-12,
               source, ": train.defocus_fraction must be in [0, 1 - train.motion_fraction], got ", c.defocus_fraction);
  UNROLL_CHECK(std::isfinite(c.kernel_perturbation) && c.kernel_perturbation >= 0 && c.kernel_perturbation <= 1, source,
               ": train.kernel_perturbation must be in [0, 1], got ", c.kernel_perturbation);
  UNROLL_CHECK(c.task == "unrolled" || defaulted("train.kernel_perturbation"), source,
               ": train.kernel_perturbation applies to task unrolled");
  UNROLL_CHECK(c.task != "denoiser" || defaulted("train.defocus_fraction"), source,
               ": train.defocus_fraction applies to tasks unrolled, blind-unrolled and deblur");
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
  const ModelRole role = role_of_task(c.task);
  const ModelFamily* family = lookup_model_family(c.family, role);
  if (family == nullptr || !family->trainable) {
    const auto names = model_family_names(role, /*trainable_only=*/true);
    if (role == ModelRole::Deblur) {
      fail(source, ": model.family for task deblur must be one of ", join(names), ", got '", c.family, "'");
    }
    fail(source, ": model.family must be ", join_or(names), ", got '", c.family, "'");
  }
  if (c.task == "deblur") {
    for (const char* key : {"model.iterations", "model.hyper_channels", "model.shared_prior", "model.prior_groups"})
      UNROLL_CHECK(defaulted(key), source, ": ", key, " applies to task unrolled");
  } else {
    UNROLL_CHECK(defaulted("train.gradient_penalty"), source, ": train.gradient_penalty applies to task deblur");
  }
  const bool from_scratch = c.init_weights.empty() && c.init_prior.empty();
  if (!(family->reads_zero_init_outputs && from_scratch)) {
    UNROLL_CHECK(defaulted("model.zero_init_outputs"), source,
                 ": model.zero_init_outputs applies to a ConvIR family trained from scratch (",
                 from_scratch ? "model.family is " + c.family : std::string("the weights come from a checkpoint"), ")");
  }
  if (c.is_given("model.base_channel")) {
    UNROLL_CHECK(family->reads_base_channel && from_scratch, source,
                 ": model.base_channel applies to task deblur with a ConvIR family trained from scratch");
    UNROLL_CHECK(c.base_channel >= 8 && c.base_channel % 8 == 0, source,
                 ": model.base_channel must be a positive multiple of 8, got ", c.base_channel);
  }
  if (!family->reads_resunet) {
    for (const char* key : {"model.nc", "model.nb", "model.global_residual"})
      UNROLL_CHECK(defaulted(key), source, ": ", key, " applies to model.family resunet only (", c.family,
                   " has a fixed architecture)");
  } else {
    const auto widths = parse_int_list(c.nc_text, source + ": model.nc");
    UNROLL_CHECK(widths.size() == 4, source, ": model.nc must list 4 widths (one per U-Net level), got ",
                 widths.size());
    for (const int64_t nc : widths)
      UNROLL_CHECK(nc >= 1 && nc <= 4096, source, ": model.nc: every width must be in 1..4096, got ", nc);
    UNROLL_CHECK(c.nb >= 1 && c.nb <= 64, source, ": model.nb must be in 1..64, got ", c.nb);
  }
  UNROLL_CHECK(c.sigma_max255 >= 0 && c.sigma_max255 <= 255, source, ": train.sigma_max must be in [0, 255] (/255 units), got ",
               c.sigma_max255);
  UNROLL_CHECK(c.val_sigma255 >= 0 && c.val_sigma255 <= 255, source, ": train.val_sigma must be in [0, 255] (/255 units), got ",
               c.val_sigma255);
  try {
    check_loss_spec(c.loss);  // names and weights; the perceptual loss's VGG file is read when training starts
  } catch (const Error& e) {
    fail(source, ": train.loss: ", e.what());
  }
  UNROLL_CHECK(!c.grey || c.task == "unrolled", source, ": data.grey applies to task unrolled");
  UNROLL_CHECK(!c.grey || c.init_prior.empty(), source,
               ": data.grey cannot start from model.init_prior (a colour denoiser); use model.init_weights");
  UNROLL_CHECK(c.init_prior.empty() || unrolled_task, source,
               ": model.init_prior applies to tasks unrolled and blind-unrolled");
  UNROLL_CHECK(c.init_weights.empty() || c.task == "deblur" || unrolled_task, source,
               ": model.init_weights applies to tasks deblur, unrolled and blind-unrolled");
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
  if (unrolled_task && !c.init_weights.empty()) {
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
  const double batch_pixels = static_cast<double>(c.trainer.batch) * static_cast<double>(c.trainer.crop) *
                              static_cast<double>(c.trainer.crop);
  UNROLL_CHECK(batch_pixels <= static_cast<double>(limit_value(LimitId::TrainBatchPixels)), source,
               ": train.batch x train.crop^2 = ", c.trainer.batch, " x ", c.trainer.crop, "^2 = ", batch_pixels,
               " pixels per step, above the limit of ", limit_value(LimitId::TrainBatchPixels), " (",
               limit_hint(LimitId::TrainBatchPixels), ")");
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
  const torch::Device device = parse_device(rank_device(c.device));  // "cuda" is the rank's own GPU in a group
  torch::manual_seed(c.trainer.seed);  // the models' random initialisation (and the warm start's fit) follow train.seed
  const ModelFamily& family = find_model_family(c.family, role_of_task(c.task));
  if (c.task == "deblur") {
    DeblurTrainingOptions o;
    set_pair_options(c, o);
    o.multiscale = c.multiscale;
    o.gradient_penalty = c.gradient_penalty;
    auto net = c.init_weights.empty() ? make_deblur_net(c.family, model_build(c, family))
                                      : load_deblur_net(c.family, c.init_weights);
    net.module()->to(device);
    std::cout << net.family() << ": " << net.parameter_count() << " parameters";
    if (!c.init_weights.empty()) std::cout << ", starting from " << c.init_weights;
    std::cout << "\n";
    return train_deblur_net(net, train_set, val_set, o, resume);
  }
  if (c.task == "denoiser") {
    PriorPtr prior = family.make_prior(model_build(c, family));
    prior->to(device);
    return train_denoiser(prior, train_set, val_set, denoiser_options(c), resume);
  }
  if (c.task == "blind-unrolled") {
    BlindUnrolledTrainingOptions o;
    set_pair_options(c, o);
    o.kernel_loss = c.kernel_loss;
    o.deep_supervision = c.deep_supervision;
    BlindUnrolledNet model{nullptr};
    const StateDict init = c.init_weights.empty() ? StateDict{} : load_state_dict(c.init_weights);
    if (is_blind_unrolled_state(init)) {
      model = blind_unrolled_net_from_state(init, c.init_weights);
      UNROLL_CHECK(model->options().kernel_size == c.kernel_size, c.source, ": train.kernel_size (", c.kernel_size,
                   ") differs from the kernel side of ", c.init_weights, " (", model->options().kernel_size, ")");
      if (c.is_given("model.kernel_steps")) model->set_kernel_steps(static_cast<int>(c.kernel_steps), /*persist=*/true);
      std::cout << "blind unrolled network: starting from " << c.init_weights << "\n";
    } else {
      BlindUnrolledNetOptions bo;
      bo.kernel_size = c.kernel_size;
      bo.kernel_steps = static_cast<int>(c.kernel_steps);
      try {
        model = blind_from_unrolled(build_unrolled(c, &init), bo);
      } catch (const Error& e) {
        fail(c.source, ": ", e.what());
      }
      std::cout << "blind unrolled network: " << model->options().unrolled.iterations << " iterations, "
                << model->options().effective_kernel_steps() << " kernel steps, " << c.kernel_size << "x"
                << c.kernel_size << " kernels; new kernel head\n";
    }
    std::cout << module_parameter_count(*model) << " parameters\n";
    model->to(device);
    return train_blind_unrolled(model, train_set, val_set, o, resume);
  }
  UnrolledNet model = build_unrolled(c);
  model->to(device);
  UnrolledTrainingOptions o;
  set_pair_options(c, o);
  return train_unrolled(model, train_set, val_set, o, resume);
}

}  // namespace unroll
