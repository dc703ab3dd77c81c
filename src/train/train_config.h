// The training config of `unroll train`, `unroll experiment` and `unroll-train`, as data: every key
// (experiment.*, model.*, data.*, train.*) with its default and meaning in one table
// (visit_train_config), the checks that make a set of values a valid run (finish_train_config), and
// the run itself (run_train_config: model of the task, then train/training_tasks.h). LibTorch only:
// train/train_config_ini.h reads and writes the config as INI through the same table; the image
// readers (OpenCV) live above (experiment/training_data.h opens data.train / data.val), so this layer
// is handed the images; a training bundle (train/bundle.h) carries a TrainConfig and its images to a
// machine with LibTorch alone.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "datasets/pair_dataset.h"
#include "train/trainer.h"

namespace unroll {

struct TrainConfig {
  TrainConfig();  ///< the defaults of the table in visit_train_config
  std::string source = "config";  ///< where the values came from (a file name), prefixes every message
  std::string device = "cpu";     ///< train.device
  std::string dist_init, dist_backend;  ///< train.dist_init / train.dist_backend (--dist-init / --dist-backend override)
  std::string name, task, family = "resunet", nc_text = "16,32,64,64", train_dir, val_dir,
      out_dir = "runs/train", loss = "l1", init_prior, init_weights, blur = "circular";
  bool shared_prior = true, multiscale = true;
  bool grey = false;  ///< data.grey
  int64_t prior_groups = 1;  ///< model.prior_groups, or model.shared_prior = 0 -> model.iterations
  int64_t nb = 2, iterations = 6, hyper = 32, max_images = 0, val_images = 0, kernel_size = 25;
  int64_t base_channel = 32;  ///< model.base_channel (ConvIR, task deblur)
  bool global_residual = true, zero_init_outputs = true;
  double sigma_max255 = 50, val_sigma255 = 25, motion_fraction = 0.5, gradient_penalty = 0;
  double defocus_fraction = 0, kernel_loss = 0.05, deep_supervision = 0.1;  ///< train.* (blind-unrolled)
  double kernel_perturbation = 0;  ///< train.kernel_perturbation (unrolled)
  int64_t kernel_steps = -1;  ///< model.kernel_steps (blind-unrolled)
  TrainerOptions trainer;     ///< train.* (trainer.out_dir follows train.out)
  std::set<std::string> given;  ///< the keys whose value the source set (the rest hold their defaults)

  bool is_given(const std::string& key) const { return given.count(key) != 0; }
};

/// The help of model.family: the trainable families of priors/model_family.h for each task.
const char* model_family_help();

/// Calls `visit(key, field, help)` for every key of the config, in the order `--help` lists them;
/// `field` is a reference to the member (std::string, int64_t, uint64_t, double or bool) holding the
/// key's value, so a parser can bind to it and a writer can read it. The defaults are those of a
/// default-constructed TrainConfig. experiment.task is the one key without a default.
template <class Visit>
void visit_train_config(TrainConfig& c, Visit&& visit) {
  TrainerOptions& t = c.trainer;
  visit("experiment.name", c.name, "free text");
  visit("experiment.task", c.task,
        "denoiser | unrolled | blind-unrolled (the unrolled network with a kernel head and kernel steps) | deblur "
        "(end-to-end network)");
  visit("model.family", c.family, model_family_help());
  visit("model.nc", c.nc_text,
        "ResUNet widths of the four scales; with model.init_weights (task unrolled), widths at least the "
        "checkpoint's: its prior is widened to them, output unchanged (priors/widen.h)");
  visit("model.nb", c.nb, "residual blocks per scale");
  visit("model.global_residual", c.global_residual,
        "add the input to the prior output, zero-initialised tail (denoiser default 1; unrolled from scratch: 0 "
        "unless set)");
  visit("model.zero_init_outputs", c.zero_init_outputs,
        "ConvIR families from scratch: the output convolutions start at zero, so the untrained network returns its "
        "input (0 = PyTorch's default initialisation, as the official code and every ConvIR run here before "
        "2026-12-02)");
  visit("model.base_channel", c.base_channel,
        "deblur, ConvIR families from scratch: width of the full-scale stage (widths b, 2b, 4b; a multiple of 8); "
        "every official checkpoint has 32, 16 has about a quarter of the parameters and compute");
  visit("model.iterations", c.iterations, "unrolled: K");
  visit("model.kernel_steps", c.kernel_steps,
        "blind-unrolled: iterations 2..1+N run a kernel step (-1 = all after the first; the network's kernel side "
        "is train.kernel_size, odd)");
  visit("model.hyper_channels", c.hyper, "unrolled: HyPaNet width");
  visit("model.shared_prior", c.shared_prior,
        "unrolled: one prior for all iterations (0 = one per iteration, model.prior_groups = model.iterations)");
  visit("model.prior_groups", c.prior_groups,
        "unrolled: number of distinct priors, 1..model.iterations, each serving a contiguous run of iterations; "
        "with model.init_weights, a network trained with fewer groups is untied: every group starts as a copy of "
        "the prior that served its first iteration");
  visit("model.init_prior", c.init_prior,
        "unrolled: warm start from this denoiser checkpoint (architecture from the file; the hyper-network is "
        "fitted to the DPIR schedule, so training starts from plug-and-play HQS)");
  visit("model.init_weights", c.init_weights,
        "deblur: start from this checkpoint of model.family (e.g. official ConvIR weights, to fine-tune them on "
        "your data); unrolled: start from a trained unrolled network (e.g. models/unrolled_small.pth), "
        "architecture from the file; loaded strictly, fresh optimiser and schedule");
  visit("data.train", c.train_dir, "folder of sharp training images, or cifar10:DIR[:train|test]");
  visit("data.val", c.val_dir, "folder of validation images (optional), or cifar10:DIR[:test|train]");
  visit("data.max_images", c.max_images, "use only the first N training images (0 = all)");
  visit("data.val_images", c.val_images, "use only the first N validation images");
  visit("data.grey", c.grey,
        "task unrolled: train a grey network on the images' luminance (ITU-R BT.601); with model.init_weights a "
        "colour network is converted first (hqs/unrolled_net.h grey_from_colour)");
  visit("train.device", c.device,
        "cpu | cuda[:N]: where the model trains (batches are made on the CPU and moved there; model.pth holds "
        "CPU tensors and resume.pt resumes on any device); `unroll train --device` overrides it");
  visit("train.dist_init", c.dist_init,
        "several processes as one data-parallel run (docs/distributed.md) when no --dist-init is given: env:// "
        "(torchrun's or srun's variables), file:///PATH (one node, no network) or tcp://HOST:PORT (e.g. the first "
        "node of a Slurm job); empty = the environment under torchrun / srun, else one process");
  visit("train.dist_backend", c.dist_backend,
        "gloo | nccl for train.dist_init (empty: gloo on cpu, nccl on cuda); --dist-backend overrides it");
  visit("train.steps", t.steps, "");
  visit("train.batch", t.batch, "");
  visit("train.crop", t.crop, "");
  visit("train.lr", t.lr, "");
  visit("train.warmup", t.warmup_steps, "");
  visit("train.min_lr", t.min_lr, "");
  visit("train.grad_clip", t.grad_clip, "");
  visit("train.accumulate", t.accumulate, "batches per optimiser step (gradient accumulation)");
  visit("train.mixed_precision", t.mixed_precision, "bf16 autocast (CUDA only)");
  visit("train.seed", t.seed, "");
  visit("train.checkpoint_every", t.checkpoint_every, "");
  visit("train.validate_every", t.validate_every, "");
  visit("train.log_every", t.log_every, "");
  visit("train.loss", c.loss, "make_loss spec, e.g. l1+0.1*fft");
  visit("train.sigma_max", c.sigma_max255, "training noise sigma ~ U[0, this]/255");
  visit("train.val_sigma", c.val_sigma255, "validation noise sigma /255");
  visit("train.kernel_size", c.kernel_size, "unrolled: kernel side");
  visit("train.motion_fraction", c.motion_fraction, "unrolled, deblur: share of motion kernels");
  visit("train.defocus_fraction", c.defocus_fraction,
        "unrolled, blind-unrolled, deblur: share of defocus (disk) kernels, at most 1 - train.motion_fraction; the "
        "rest are Gaussian");
  visit("train.kernel_perturbation", c.kernel_perturbation,
        "unrolled: the network is given a deliberately wrong kernel, datasets/kernels.h perturb_kernel at a level "
        "~ U[0, this] per sample (in [0, 1]; 0 = the true kernel), so it learns to tolerate an estimated kernel's error");
  visit("train.kernel_loss", c.kernel_loss,
        "blind-unrolled: weight of the shift-tolerant L1 between the predicted and the true kernel (train/training_tasks.h)");
  visit("train.deep_supervision", c.deep_supervision,
        "blind-unrolled: weight of the losses of the intermediate images and kernels");
  visit("train.blur", c.blur, "unrolled, deblur: circular (the DPIR protocol) | same | valid (linear blur, for real images)");
  visit("train.multiscale", c.multiscale, "deblur: the loss at every output scale of a multi-scale network (ConvIR)");
  visit("train.gradient_penalty", c.gradient_penalty,
        "deblur: weight of the input-gradient penalty (train/training_tasks.h; 0 = off)");
  visit("train.out", c.out_dir, "checkpoint folder");
}

/// True when `key` ("train.steps") is a key of the training config.
bool is_train_config_key(const std::string& key);

/// Checks the values as a whole (task; family: a trainable row of priors/model_family.h in the task's
/// role, the model.* keys that row reads; device, blur mode, keys that apply only to some tasks or
/// exclude each other, the trainer's schedule and sizes) and derives what follows from them
/// (model.shared_prior = 0 -> prior_groups, trainer.out_dir). Throws unroll::Error naming c.source and
/// the key. Reads no file.
void finish_train_config(TrainConfig& c);

/// Checks that the files model.init_prior / model.init_weights name exist (throws unroll::Error naming
/// c.source and the key).
void check_init_files(const TrainConfig& c);

/// Builds the model of c.task (model.family's row of priors/model_family.h: a denoiser for tasks denoiser
/// and unrolled (its prior), an end-to-end network of nets/deblur_net.h for deblur; model.init_prior /
/// model.init_weights are read here), moves it to train.device
/// and trains it on the clean images of `train_set` (validating on `val_set`, which may be null) into
/// out_dir (train/training_tasks.h); `resume` continues from out_dir/resume.pt when it exists.
TrainResult run_train_config(const TrainConfig& c, std::shared_ptr<const PairDataset> train_set,
                             std::shared_ptr<const PairDataset> val_set, bool resume);

}  // namespace unroll
