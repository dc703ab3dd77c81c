#include "train_config.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "core/error.h"
#include "datasets/kernels.h"
#include "datasets/readers.h"
#include "hqs/unrolled_net.h"
#include "hqs/warm_start.h"
#include "io/image_io.h"
#include "datasets/degrade.h"
#include "priors/convir.h"
#include "priors/deblur_net.h"
#include "priors/prior.h"
#include "priors/resunet.h"
#include "train/training_tasks.h"

namespace po = boost::program_options;

namespace unroll::cli {
namespace {

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& key) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    try {
      out.push_back(std::stoll(item));
    } catch (const std::exception&) {
      fail(key, ": not a comma-separated list of integers: '", text, "'");
    }
  }
  UNROLL_CHECK(!out.empty(), key, ": empty list");
  return out;
}

/// What a data.train / data.val value names: a folder of images, or cifar10:DIR[:train|test] (the
/// CIFAR-10 binary batches; `split` by default).
struct ImageSource {
  bool cifar10 = false;
  std::string dir, split;
};

ImageSource image_source(const std::string& spec, const std::string& split) {
  ImageSource src{false, spec, split};
  if (spec.rfind("cifar10:", 0) == 0) {
    src.cifar10 = true;
    src.dir = spec.substr(8);
    const auto colon = src.dir.rfind(':');
    if (colon != std::string::npos && (src.dir.substr(colon + 1) == "train" || src.dir.substr(colon + 1) == "test")) {
      src.split = src.dir.substr(colon + 1);
      src.dir = src.dir.substr(0, colon);
    }
  }
  return src;
}

/// Clean training / validation images of `spec` (image_source). `limit` > 0 keeps the first N.
std::shared_ptr<const PairDataset> clean_images(const std::string& spec, int64_t limit, const std::string& key,
                                                const std::string& split) {
  UNROLL_CHECK(!spec.empty(), key, " is required");
  const ImageSource src = image_source(spec, split);
  if (src.cifar10) {
    auto all = std::make_shared<Cifar10Dataset>(cifar10_files(src.dir, src.split));
    if (limit <= 0 || limit >= all->size()) return all;
    std::vector<torch::Tensor> images;
    for (int64_t i = 0; i < limit; ++i) images.push_back(all->get(i).sharp[0]);
    return clean_image_dataset(images);
  }
  auto files = list_image_files(src.dir);
  if (limit > 0 && static_cast<int64_t>(files.size()) > limit) files.resize(limit);
  std::vector<torch::Tensor> images;
  for (const auto& f : files) images.push_back(read_image(f, ImageReadOptions{false, true})[0]);
  return clean_image_dataset(images);
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

}  // namespace

void add_train_config_options(po::options_description& desc, TrainConfig& c) {
  TrainerOptions& t = c.trainer;
  // clang-format off
  desc.add_options()
      ("experiment.name", po::value(&c.name), "free text")
      ("experiment.task", po::value(&c.task)->required(), "denoiser | unrolled | deblur (end-to-end network)")
      ("model.family", po::value(&c.family)->default_value("resunet"),
       "denoiser and unrolled (its prior): resunet (model.nc, model.nb) | attention-unet | convir-s (priors/prior.h "
       "defaults); deblur: "
       "convir-s | convir-b | convir-l | convir-seed | atrous | atrous-reds | kaist | carlo | unet-resnet | unet-ae")
      ("model.nc", po::value(&c.nc_text)->default_value("16,32,64,64"),
       "ResUNet widths of the four scales; with model.init_weights (task unrolled), widths at least the "
       "checkpoint's: its prior is widened to them, output unchanged (priors/widen.h)")
      ("model.nb", po::value(&c.nb)->default_value(2), "residual blocks per scale")
      ("model.global_residual", po::value(&c.global_residual)->default_value(true),
       "add the input to the prior output, zero-initialised tail (denoiser default 1; unrolled from scratch: 0 unless set)")
      ("model.zero_init_outputs", po::value(&c.zero_init_outputs)->default_value(true),
       "ConvIR families from scratch: the output convolutions start at zero, so the untrained network returns "
       "its input (0 = PyTorch's default initialisation, as the official code and every ConvIR run here before "
       "2026-12-02)")
      ("model.iterations", po::value(&c.iterations)->default_value(6), "unrolled: K")
      ("model.hyper_channels", po::value(&c.hyper)->default_value(32), "unrolled: HyPaNet width")
      ("model.shared_prior", po::value(&c.shared_prior)->default_value(true),
       "unrolled: one prior for all iterations (0 = one per iteration, model.prior_groups = model.iterations)")
      ("model.prior_groups", po::value(&c.prior_groups)->default_value(1),
       "unrolled: number of distinct priors, 1..model.iterations, each serving a contiguous run of iterations; "
       "with model.init_weights, a network trained with fewer groups is untied: every group starts as a copy "
       "of the prior that served its first iteration")
      ("model.init_prior", po::value(&c.init_prior),
       "unrolled: warm start from this denoiser checkpoint (architecture from the file; the hyper-network is "
       "fitted to the DPIR schedule, so training starts from plug-and-play HQS)")
      ("model.init_weights", po::value(&c.init_weights),
       "deblur: start from this checkpoint of model.family (e.g. official ConvIR weights, to fine-tune them on "
       "your data); unrolled: start from a trained unrolled network (e.g. models/unrolled_small.pth), "
       "architecture from the file; loaded strictly, fresh optimiser and schedule")
      ("data.train", po::value(&c.train_dir), "folder of sharp training images, or cifar10:DIR[:train|test]")
      ("data.val", po::value(&c.val_dir), "folder of validation images (optional), or cifar10:DIR[:test|train]")
      ("data.max_images", po::value(&c.max_images)->default_value(0), "use only the first N training images (0 = all)")
      ("data.val_images", po::value(&c.val_images)->default_value(0), "use only the first N validation images")
      ("train.device", po::value(&c.device)->default_value("cpu"),
       "cpu | cuda[:N]: where the model trains (batches are made on the CPU and moved there; model.pth holds "
       "CPU tensors and resume.pt resumes on any device); `unroll train --device` overrides it")
      ("train.steps", po::value(&t.steps)->default_value(1000), "")
      ("train.batch", po::value(&t.batch)->default_value(16), "")
      ("train.crop", po::value(&t.crop)->default_value(64), "")
      ("train.lr", po::value(&t.lr)->default_value(2e-4), "")
      ("train.warmup", po::value(&t.warmup_steps)->default_value(0), "")
      ("train.min_lr", po::value(&t.min_lr)->default_value(1e-6), "")
      ("train.grad_clip", po::value(&t.grad_clip)->default_value(0.0), "")
      ("train.accumulate", po::value(&t.accumulate)->default_value(1), "batches per optimiser step (gradient accumulation)")
      ("train.mixed_precision", po::value(&t.mixed_precision)->default_value(false), "bf16 autocast (CUDA only)")
      ("train.seed", po::value(&t.seed)->default_value(0), "")
      ("train.checkpoint_every", po::value(&t.checkpoint_every)->default_value(200), "")
      ("train.validate_every", po::value(&t.validate_every)->default_value(500), "")
      ("train.log_every", po::value(&t.log_every)->default_value(10), "")
      ("train.loss", po::value(&c.loss)->default_value("l1"), "make_loss spec, e.g. l1+0.1*fft")
      ("train.sigma_max", po::value(&c.sigma_max255)->default_value(50), "training noise sigma ~ U[0, this]/255")
      ("train.val_sigma", po::value(&c.val_sigma255)->default_value(25), "validation noise sigma /255")
      ("train.kernel_size", po::value(&c.kernel_size)->default_value(25), "unrolled: kernel side")
      ("train.motion_fraction", po::value(&c.motion_fraction)->default_value(0.5), "unrolled, deblur: share of motion kernels")
      ("train.blur", po::value(&c.blur)->default_value("circular"),
       "unrolled, deblur: circular (the DPIR protocol) | same | valid (linear blur, for real images)")
      ("train.multiscale", po::value(&c.multiscale)->default_value(true),
       "deblur: the loss at every output scale of a multi-scale network (ConvIR)")
      ("train.gradient_penalty", po::value(&c.gradient_penalty)->default_value(0.0),
       "deblur: weight of the input-gradient penalty (train/training_tasks.h; 0 = off)")
      ("train.out", po::value(&c.out_dir)->default_value("runs/train"), "checkpoint folder");
  // clang-format on
}

bool is_train_config_key(const std::string& key) {
  TrainConfig scratch;
  po::options_description desc;
  add_train_config_options(desc, scratch);
  return desc.find_nothrow(key, false) != nullptr;
}

TrainConfig parse_train_config(std::istream& in, const std::string& source) {
  TrainConfig c;
  c.source = source;
  po::options_description desc("config");
  add_train_config_options(desc, c);
  try {
    po::store(po::parse_config_file(in, desc, false), c.vm);
    po::notify(c.vm);
  } catch (const po::error& e) {
    fail(source, ": ", e.what());
  }
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
      UNROLL_CHECK(c.vm[key].defaulted(), source, ": ", key, " applies to task unrolled");
  } else {
    UNROLL_CHECK(c.vm["train.gradient_penalty"].defaulted(), source, ": train.gradient_penalty applies to task deblur");
    UNROLL_CHECK(c.family == "resunet" || c.family == "attention-unet" || c.family == "convir-s", source,
                 ": model.family must be resunet, attention-unet or convir-s, got '", c.family, "'");
  }
  if (c.family.compare(0, 6, "convir") != 0 || !c.init_weights.empty() || !c.init_prior.empty()) {
    UNROLL_CHECK(c.vm["model.zero_init_outputs"].defaulted(), source,
                 ": model.zero_init_outputs applies to a ConvIR family trained from scratch (",
                 c.init_weights.empty() && c.init_prior.empty() ? "model.family is " + c.family
                                                                : std::string("the weights come from a checkpoint"),
                 ")");
  }
  if (c.family != "resunet") {
    for (const char* key : {"model.nc", "model.nb", "model.global_residual"})
      UNROLL_CHECK(c.vm[key].defaulted(), source, ": ", key, " applies to model.family resunet only (", c.family,
                   " has a fixed architecture)");
  }
  UNROLL_CHECK(c.init_prior.empty() || c.task == "unrolled", c.source, ": model.init_prior applies to task unrolled");
  UNROLL_CHECK(c.init_weights.empty() || c.task == "deblur" || c.task == "unrolled", c.source,
               ": model.init_weights applies to tasks deblur and unrolled");
  UNROLL_CHECK(c.init_prior.empty() || c.init_weights.empty(), c.source,
               ": model.init_prior and model.init_weights exclude each other");
  auto architecture_from = [&](const char* init, std::initializer_list<const char*> keys) {
    for (const char* key : keys)
      UNROLL_CHECK(c.vm[key].defaulted(), c.source, ": ", key, " cannot be combined with ", init,
                   " (the architecture comes from the checkpoint)");
  };
  if (!c.init_prior.empty()) {
    architecture_from("model.init_prior", {"model.nc", "model.nb", "model.global_residual", "model.family"});
  }
  if (c.task == "unrolled" && !c.init_weights.empty()) {
    architecture_from("model.init_weights", {"model.nb", "model.global_residual", "model.family",
                                             "model.iterations", "model.hyper_channels"});
  }
  UNROLL_CHECK(c.vm["model.shared_prior"].defaulted() || c.vm["model.prior_groups"].defaulted(), c.source,
               ": model.shared_prior and model.prior_groups exclude each other");
  if (!c.shared_prior) c.prior_groups = c.iterations;
  // With model.init_weights the iterations come from the checkpoint and the range is checked on loading.
  UNROLL_CHECK(c.prior_groups >= 1 && (!c.init_weights.empty() || c.prior_groups <= c.iterations), c.source,
               ": model.prior_groups must be in 1..model.iterations (", c.iterations, "), got ", c.prior_groups);
  c.trainer.out_dir = c.out_dir;
  try {
    c.trainer.validate();  // schedule and sizes now, not when a run (or an experiment's n-th variant) starts
  } catch (const Error& e) {
    fail(source, ": ", e.what());
  }
  return c;
}

void check_train_inputs(const TrainConfig& c) {
  auto images = [&](const std::string& spec, const char* key, const char* split) {
    try {
      const ImageSource src = image_source(spec, split);
      if (src.cifar10) {
        cifar10_files(src.dir, src.split);
      } else {
        list_image_files(src.dir);
      }
    } catch (const Error& e) {
      fail(c.source, ": ", key, ": ", e.what());
    }
  };
  UNROLL_CHECK(!c.train_dir.empty(), c.source, ": data.train is required");
  images(c.train_dir, "data.train", "train");
  if (!c.val_dir.empty()) images(c.val_dir, "data.val", "test");
  for (const auto& [key, file] : {std::pair<const char*, std::string>{"model.init_prior", c.init_prior},
                                  {"model.init_weights", c.init_weights}}) {
    UNROLL_CHECK(file.empty() || std::filesystem::is_regular_file(file), c.source, ": ", key, ": no such file '", file,
                 "'");
  }
}

TrainResult run_train_config(const TrainConfig& c, bool resume) {
  auto train_set = clean_images(c.train_dir, c.max_images, "data.train", "train");
  std::shared_ptr<const PairDataset> val_set;
  if (!c.val_dir.empty()) val_set = clean_images(c.val_dir, c.val_images, "data.val", "test");
  const torch::Device device = parse_device(c.device);
  torch::manual_seed(c.trainer.seed);  // the models' random initialisation (and the warm start's fit) follow train.seed
  if (c.task == "deblur") {
    DeblurTrainingOptions o;
    set_pair_options(c, o);
    o.multiscale = c.multiscale;
    o.gradient_penalty = c.gradient_penalty;
    auto net = c.init_weights.empty() ? DeblurNet::create(c.family, c.zero_init_outputs) : DeblurNet::load(c.family, c.init_weights);
    net.module()->to(device);
    std::cout << net.family() << ": " << net.parameter_count() << " parameters";
    if (!c.init_weights.empty()) std::cout << ", starting from " << c.init_weights;
    std::cout << "\n";
    return train_deblur_net(net, train_set, val_set, o, resume);
  }
  if (c.task == "denoiser" && c.family != "resunet") {
    DenoiserTrainingOptions o;
    o.trainer = c.trainer;
    o.sigma_max = c.sigma_max255 / 255.0;
    o.val_sigma = c.val_sigma255 / 255.0;
    o.loss = c.loss;
    auto prior = make_prior(c.family, c.zero_init_outputs);
    prior->to(device);
    return train_denoiser(prior, train_set, val_set, o, resume);
  }
  if (c.task == "denoiser") {
    ResUNetOptions m;
    m.nc = parse_int_list(c.nc_text, "model.nc");
    m.nb = c.nb;
    m.global_residual = c.global_residual;
    auto model = std::make_shared<ResUNet>(m);
    if (c.global_residual) model->zero_init_tail();
    model->to(device);
    DenoiserTrainingOptions o;
    o.trainer = c.trainer;
    o.sigma_max = c.sigma_max255 / 255.0;
    o.val_sigma = c.val_sigma255 / 255.0;
    o.loss = c.loss;
    return train_denoiser(model, train_set, val_set, o, resume);
  }
  UnrolledNet model{nullptr};
  if (!c.init_weights.empty()) {
    model = load_unrolled_net(c.init_weights);
    std::cout << "unrolled network: " << model->options().iterations << " iterations, starting from "
              << c.init_weights << "\n";
    const bool regroup = !c.vm["model.prior_groups"].defaulted() || !c.vm["model.shared_prior"].defaulted();
    const int groups = c.shared_prior ? static_cast<int>(c.prior_groups) : model->options().iterations;
    if (regroup && groups != model->options().prior_groups) {
      UNROLL_CHECK(groups <= model->options().iterations, c.source, ": model.prior_groups must be in 1..",
                   model->options().iterations, " (the iterations of ", c.init_weights, "), got ", groups);
      const int before = model->options().prior_groups;
      model = regroup_priors(model, groups);
      std::cout << "prior groups " << before << " -> " << groups << " (each starts as a copy of the prior of its "
                << "first iteration)\n";
    }
    if (!c.vm["model.nc"].defaulted()) {
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
  } else if (!c.init_prior.empty()) {
    ScheduleFit fit;
    model = unrolled_from_denoiser(c.init_prior, static_cast<int>(c.iterations), c.hyper,
                                   static_cast<int>(c.prior_groups), {}, &fit);
    std::cout << "warm start from " << c.init_prior << ": hyper-network fitted to the DPIR schedule (mean |log "
              << "error| " << fit.mean_log_error << ", max " << fit.max_log_error << ")\n";
  } else {
    UnrolledNetOptions m = UnrolledNetOptions::usrnet_tiny();
    m.iterations = static_cast<int>(c.iterations);
    m.hyper_channels = c.hyper;
    m.prior_groups = static_cast<int>(c.prior_groups);
    m.prior.nc = parse_int_list(c.nc_text, "model.nc");
    m.prior.nb = c.nb;
    m.prior.global_residual = !c.vm["model.global_residual"].defaulted() && c.global_residual;
    if (c.family != "resunet") {
      const std::string family = c.family;
      m.prior_factory = [family, zero = c.zero_init_outputs] { return make_prior(family, zero); };  // attention-unet | convir-s, priors/prior.h defaults
    }
    model = UnrolledNet(m);
    if (m.prior.global_residual) {
      for (int k = 0; k < m.iterations; ++k) model->resunet_prior(k)->zero_init_tail();  // a shared prior again: harmless
    }
  }
  model->to(device);
  UnrolledTrainingOptions o;
  set_pair_options(c, o);
  return train_unrolled(model, train_set, val_set, o, resume);
}

}  // namespace unroll::cli
