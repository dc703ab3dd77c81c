// The two concrete training tasks of issue 4, built on train/trainer.h:
//
//  (a) Denoiser prior (any priors/prior.h Prior with parameters: ResUNet / DRUNet, AttentionUNet,
//      ConvIRPrior), as DPIR trains DRUNet (Zhang et al.,
//      "Plug-and-Play Image Restoration with Deep Denoiser Prior", TPAMI 2021, Sec. 3.3): clean crops,
//      per-sample noise sigma ~ U[0, sigma_max], input = noisy image + constant noise-level map
//      (ResUNet::denoise appends it), L1 loss against the clean crop.
//  (b) Unrolled HQS network (hqs/unrolled_net.h), as USRNet is trained (Zhang, Van Gool, Timofte,
//      CVPR 2020, Sec. 4.1) for deblurring (sf = 1): synthetic pairs made on the fly from clean crops,
//      kernels a `motion_fraction` share camera-shake motion trajectories (datasets/kernels.h
//      KernelType::Motion, Boracchi & Foi) and the rest anisotropic Gaussians, noise sigma ~ U[0,
//      sigma_max] (25/255 by default), circular blur by default (the DPIR/USRNet protocol; Same or
//      Valid for real-image models), L1 loss, optionally plus an FFT term ("l1+0.1*fft", train/losses.h).
//  (c) End-to-end blind deblurring network (nets/deblur_net.h: ConvIR, ATROUS_NET, ...): the same
//      synthetic pairs as (b) (kernel and noise ranges, blur mode), but the network sees only the
//      blurred image; the loss is applied to the full-size output, or (multiscale) to every output
//      against the target resized to its size -- ConvIR's published objective is "l1+0.1*fft" at its
//      three scales (Cui et al., TPAMI 2024; train/losses.h convir_loss).
//
// Data. Clean images come from any PairDataset (datasets/pair_dataset.h): only each pair's `sharp`
// member is used, so a folder reader from the OpenCV layer (datasets/readers.h), a synthetic-pairs
// dataset, or in-memory images (clean_image_dataset below) all work. Sample i of step s is image
// index ~ U{0..size-1} cropped, flipped and rotated by datasets/loader.h augment_pair, its kernel,
// noise level and noise, every draw seeded from (trainer.seed, s, i) with mix_seed, i counted over
// all ranks: a sample is a pure function of (seed, step, i) -- not of the batch it is in -- which is
// what makes resume bit-identical (trainer.h, "Determinism contract") and R ranks of batch B train as
// one process of batch R * B: rank r draws samples r * B .. r * B + B - 1 of each step (first_sample).
//
// Validation (every trainer.validate_every steps and at the end): mean PSNR (core/metrics.h, outputs
// clamped to [0,1]) over the validation dataset's sharp images (centre-cropped to val_crop when > 0),
// degraded deterministically from (trainer.seed, i): (a) noise of std val_sigma; (b) blur (the task's
// blur mode) by a kernel from the training ranges, motion for even i and Gaussian for odd i, then
// noise of std val_sigma.
//
// Devices: batches are moved to the device and dtype of the model's first parameter.
#pragma once
#include <torch/torch.h>
#include <memory>
#include <string>
#include <vector>
#include "datasets/degrade.h"
#include "datasets/kernels.h"
#include "datasets/pair_dataset.h"
#include "hqs/blind_unrolled_net.h"
#include "hqs/unrolled_net.h"
#include "nets/deblur_net.h"
#include "priors/prior.h"
#include "priors/resunet.h"
#include "train/trainer.h"

namespace unroll {

/// In-memory clean images ([1,C,H,W] or [C,H,W] float in [0,1], all with the same C) as a PairDataset
/// whose pairs have blurred == sharp, named "image0", "image1", ...
std::shared_ptr<const PairDataset> clean_image_dataset(const std::vector<torch::Tensor>& images);

/// Sample-drawing options shared by both tasks.
struct CropSampling {
  bool flips = true;   ///< random horizontal / vertical flips
  bool rot90 = true;   ///< random rotation by k * 90 degrees
};

/// The index of this process's first sample of a step: rank * trainer.batch (core/distributed.h; 0 in a
/// single process).
int64_t first_sample(const TrainerOptions& trainer);

/// `trainer.batch` clean crops [B,C,crop,crop] for `step` (float32, CPU): samples first_sample(trainer)
/// onwards, each a pure function of (dataset, crop, seed, step, its index); see the header comment.
torch::Tensor sample_clean_batch(const PairDataset& dataset, const TrainerOptions& trainer, const CropSampling& sampling,
                                 int64_t step);

// ------------------------------------------------------------------------------------------------
// (a) Denoiser prior
// ------------------------------------------------------------------------------------------------
struct DenoiserTrainingOptions {
  TrainerOptions trainer;
  CropSampling sampling;
  double sigma_max = 50.0 / 255.0;  ///< training noise sigma ~ U[0, sigma_max] per sample, > 0
  double val_sigma = 25.0 / 255.0;  ///< validation noise sigma, >= 0
  int64_t val_crop = 0;             ///< centre crop of validation images (0 = whole images)
  std::string loss = "l1";          ///< train/losses.h make_loss spec
  void validate() const;            ///< throws unroll::Error naming the field (trainer fields included)
};

/// The loss of step `step`'s batch for `model` (train/trainer.h BatchLoss).
BatchLoss denoiser_batch_loss(std::shared_ptr<Prior> model, std::shared_ptr<const PairDataset> train_set,
                              const DenoiserTrainingOptions& options);
/// Mean validation PSNR (dB) of `model` on `val_set` at val_sigma.
Validator denoiser_validator(std::shared_ptr<Prior> model, std::shared_ptr<const PairDataset> val_set,
                             const DenoiserTrainingOptions& options);
/// A Trainer wired to the two callbacks above (`val_set` may be null: no validation).
std::unique_ptr<Trainer> make_denoiser_trainer(std::shared_ptr<Prior> model,
                                               std::shared_ptr<const PairDataset> train_set,
                                               std::shared_ptr<const PairDataset> val_set,
                                               const DenoiserTrainingOptions& options);
/// make_denoiser_trainer, then (with `resume`) continue from out_dir/resume.pt if present, then run
/// to trainer.steps. model.pth in out_dir then holds the trained weights (load_resunet reads a ResUNet's,
/// priors/prior.h load_prior any registered prior's).
TrainResult train_denoiser(std::shared_ptr<Prior> model, std::shared_ptr<const PairDataset> train_set,
                           std::shared_ptr<const PairDataset> val_set, const DenoiserTrainingOptions& options,
                           bool resume = true);

// ------------------------------------------------------------------------------------------------
// (b) Unrolled network
// ------------------------------------------------------------------------------------------------
struct UnrolledTrainingOptions {
  TrainerOptions trainer;
  CropSampling sampling;
  /// Kernel ranges (size, Gaussian sigmas, motion lengths); `type` is ignored: each sample is Motion
  /// with probability motion_fraction, Gaussian otherwise. kernels.size must be <= trainer.crop.
  KernelSpec kernels;
  double motion_fraction = 0.5;     ///< in [0,1]
  /// Share of defocus (disk) kernels, in [0, 1 - motion_fraction]; the rest are Gaussian. Drawn from
  /// the same uniform number as the motion choice, so 0 leaves every stream as it was.
  double defocus_fraction = 0;
  /// The network is given perturb_kernel(k, level, .) with level ~ U[0, kernel_perturbation] per sample
  /// (cropped back to the kernel size, centred, renormalised) while the blur used the true k; in [0, 1].
  double kernel_perturbation = 0;
  double sigma_max = 25.0 / 255.0;  ///< training noise sigma ~ U[0, sigma_max] per sample, >= 0
  BlurMode blur = BlurMode::Circular;
  double val_sigma = 2.55 / 255.0;  ///< validation noise sigma, >= 0
  int64_t val_crop = 0;             ///< centre crop of validation images (0 = whole images)
  std::string loss = "l1";          ///< make_loss spec, e.g. "l1+0.1*fft"
  void validate() const;
};

/// A deterministic training kernel batch [n,1,k,k] (float64, CPU) for `seed`: kernels first..first+n-1
/// of the seed's stream, each drawn from its own index's seed (Motion with probability motion_fraction,
/// Defocus with probability defocus_fraction, else Gaussian).
torch::Tensor sample_kernels(const UnrolledTrainingOptions& options, int64_t n, uint64_t seed, int64_t first = 0);

/// The kernels the network is given for true kernels [n,1,k,k] (odd k): each perturb_kernel'd at a level
/// ~ U[0, max_level] from sample first+i of `seed`'s stream, cropped (centred) back to k x k and
/// renormalised; the input's dtype and device. max_level = 0 returns the kernels.
torch::Tensor perturb_kernels(const torch::Tensor& kernels, double max_level, uint64_t seed, int64_t first = 0);

BatchLoss unrolled_batch_loss(UnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                              const UnrolledTrainingOptions& options);
Validator unrolled_validator(UnrolledNet model, std::shared_ptr<const PairDataset> val_set,
                             const UnrolledTrainingOptions& options);
std::unique_ptr<Trainer> make_unrolled_trainer(UnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                                               std::shared_ptr<const PairDataset> val_set,
                                               const UnrolledTrainingOptions& options);
/// As train_denoiser; model.pth is a USRNet-named state dict that load_unrolled_net reads.
TrainResult train_unrolled(UnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                           std::shared_ptr<const PairDataset> val_set, const UnrolledTrainingOptions& options,
                           bool resume = true);

// ------------------------------------------------------------------------------------------------
// (c) End-to-end deblurring network
// ------------------------------------------------------------------------------------------------
/// The pairs, kernels, noise and loss fields are (b)'s (the network just does not see the kernel);
/// only the default noise range differs: sigma_max = 10/255.
struct DeblurTrainingOptions : UnrolledTrainingOptions {
  DeblurTrainingOptions() { sigma_max = 10.0 / 255.0; }
  bool multiscale = true;           ///< apply the loss to every output of a multi-output network
  /// Gradient penalty weight lambda >= 0 (seed 000's extra term): the batch loss L becomes
  /// L + lambda * mean((P * dL/dy)^2), the mean over the blurred input's elements of the squared
  /// gradient of L with respect to the input y, scaled by P = elements per sample so that the term does
  /// not vanish with the image size (for an L1 loss, P * dL/dy is J^T sign(x_hat - x) of each sample).
  /// It penalises the network's sensitivity to its input -- double backpropagation (Drucker & LeCun,
  /// 1992), the input-gradient penalty of WGAN-GP (Gulrajani et al., 2017) without a critic -- and
  /// costs a second backward pass. 0 disables it.
  double gradient_penalty = 0;
  void validate() const;  ///< (b)'s checks, then gradient_penalty
};

BatchLoss deblur_batch_loss(DeblurNet model, std::shared_ptr<const PairDataset> train_set,
                            const DeblurTrainingOptions& options);
/// Mean validation PSNR of model.deblur() on the validation images, each blurred as in (b)'s validator.
Validator deblur_validator(DeblurNet model, std::shared_ptr<const PairDataset> val_set,
                           const DeblurTrainingOptions& options);
std::unique_ptr<Trainer> make_deblur_trainer(DeblurNet model, std::shared_ptr<const PairDataset> train_set,
                                             std::shared_ptr<const PairDataset> val_set,
                                             const DeblurTrainingOptions& options);
/// As train_denoiser; model.pth is the network's state dict that priors/model_family.h load_deblur_net reads.
TrainResult train_deblur_net(DeblurNet model, std::shared_ptr<const PairDataset> train_set,
                             std::shared_ptr<const PairDataset> val_set, const DeblurTrainingOptions& options,
                             bool resume = true);

// ------------------------------------------------------------------------------------------------
// (d) Blind unrolled network (hqs/blind_unrolled_net.h)
// ------------------------------------------------------------------------------------------------
/// (b)'s pairs (the network sees only the blurred image and the true noise level); kernels.size <= the
/// network's kernel_size. Loss, with L the image loss and D the kernel loss below:
///   L(z_K) + kernel_loss (D(k_K) + D(k_0))
///     + deep_supervision * mean over i = 1..K-1 of [L(z_i) + kernel_loss D(k_i)]
/// D(k) = min over integer shifts s in [-kernel_shift, kernel_shift]^2 of sum |k - shift_s(k_true)|
/// per sample (the kernel is only defined up to a shift), averaged over the batch; k_true zero-padded
/// to the network's size about its centre.
struct BlindUnrolledTrainingOptions : UnrolledTrainingOptions {
  BlindUnrolledTrainingOptions() {
    sigma_max = 12.75 / 255.0;
    blur = BlurMode::Valid;
  }
  double kernel_loss = 0.05;      ///< >= 0
  double deep_supervision = 0.1;  ///< >= 0
  int64_t kernel_shift = 2;       ///< >= 0
  void validate() const;
};

/// D(k) above for kernels [N,1,k,k] and true kernels [N,1,s,s] (s <= k, odd).
torch::Tensor shift_tolerant_kernel_loss(const torch::Tensor& kernel, const torch::Tensor& truth, int64_t max_shift);

BatchLoss blind_unrolled_batch_loss(BlindUnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                                    const BlindUnrolledTrainingOptions& options);
/// Mean validation PSNR of the blind network (no kernel given) on (b)'s validation pairs.
Validator blind_unrolled_validator(BlindUnrolledNet model, std::shared_ptr<const PairDataset> val_set,
                                   const BlindUnrolledTrainingOptions& options);
/// As train_denoiser; model.pth is the state dict that hqs/blind_unrolled_net.h load_blind_unrolled_net reads.
TrainResult train_blind_unrolled(BlindUnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                                 std::shared_ptr<const PairDataset> val_set, const BlindUnrolledTrainingOptions& options,
                                 bool resume = true);

}  // namespace unroll
