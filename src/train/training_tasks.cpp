#include "train/training_tasks.h"

#include <cmath>
#include <functional>

#include "core/distributed.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "datasets/loader.h"
#include "train/losses.h"

namespace unroll {
namespace {

// Distinct streams for the draws of one step (image choice + augmentation, kernels, noise level, noise).
constexpr uint64_t kImageStream = 0x1D8E4E27C47D124Full;
constexpr uint64_t kKernelStream = 0x2545F4914F6CDD1Dull;
constexpr uint64_t kSigmaStream = 0x9FB21C651E98DF25ull;
constexpr uint64_t kNoiseStream = 0x5851F42D4C957F2Dull;
constexpr uint64_t kValStream = 0xB492B66FBE98F273ull;
constexpr uint64_t kPerturbStream = 0x8CB92BA72F3D8DD7ull;

uint64_t step_seed(uint64_t seed, uint64_t stream, int64_t step) {
  return mix_seed(mix_seed(seed ^ stream) + static_cast<uint64_t>(step));
}

// Seed of sample `index` (global: counted over all ranks) of a step whose stream seed is `step_seed`.
uint64_t sample_seed(uint64_t step_seed, int64_t index) { return mix_seed(step_seed + static_cast<uint64_t>(index)); }

torch::TensorOptions model_options(const torch::nn::Module& model) {
  const auto params = model.parameters();
  UNROLL_CHECK(!params.empty(), "training: the model has no parameters");
  return params.front().options().requires_grad(false);
}

torch::Tensor centre_crop(const torch::Tensor& x, int64_t s) {
  if (s <= 0) return x;
  const int64_t h = x.size(2), w = x.size(3);
  UNROLL_CHECK(h >= s && w >= s, "training: validation image ", h, "x", w, " is smaller than val_crop ", s);
  return x.narrow(2, (h - s) / 2, s).narrow(3, (w - s) / 2, s);
}

// Noise levels ~ U[0, sigma_max] of samples first..first+n-1, float64 [n] on the CPU.
torch::Tensor draw_sigmas(int64_t n, double sigma_max, uint64_t seed, int64_t first) {
  auto s = torch::empty({n}, torch::kFloat64);
  auto a = s.accessor<double, 1>();
  for (int64_t i = 0; i < n; ++i) a[i] = SeededRng(sample_seed(seed, first + i)).uniform(0.0, sigma_max);
  return s;
}

// Standard normal noise shaped as `like` [n,C,H,W], sample i drawn from the seed of sample first + i.
torch::Tensor sample_noise_like(const torch::Tensor& like, uint64_t seed, int64_t first) {
  std::vector<torch::Tensor> noise;
  for (int64_t i = 0; i < like.size(0); ++i)
    noise.push_back(seeded_randn_like(like.narrow(0, i, 1), sample_seed(seed, first + i)));
  return torch::cat(noise, 0);
}

void check_dataset(const std::shared_ptr<const PairDataset>& d, const char* what) {
  UNROLL_CHECK(d != nullptr, "training: ", what, " dataset is null");
  UNROLL_CHECK(d->size() > 0, "training: ", what, " dataset is empty");
}

}  // namespace

// ------------------------------------------------------------------------------------------------

std::shared_ptr<const PairDataset> clean_image_dataset(const std::vector<torch::Tensor>& images) {
  UNROLL_CHECK(!images.empty(), "clean_image_dataset: no images");
  std::vector<ImagePair> pairs;
  for (size_t i = 0; i < images.size(); ++i) {
    torch::Tensor x = images[i];
    UNROLL_CHECK(x.defined() && (x.dim() == 3 || (x.dim() == 4 && x.size(0) == 1)),
                 "clean_image_dataset: image ", i, " must be [1,C,H,W] or [C,H,W], got ", x.sizes());
    if (x.dim() == 3) x = x.unsqueeze(0);
    UNROLL_CHECK(x.size(1) == images[0].size(images[0].dim() - 3), "clean_image_dataset: image ", i, " has ",
                 x.size(1), " channels, image 0 has ", images[0].size(images[0].dim() - 3));
    x = x.to(torch::kFloat32);
    pairs.push_back(ImagePair{x, x, torch::Tensor(), std::nullopt, "image" + std::to_string(i)});
  }
  return std::make_shared<TensorPairDataset>(std::move(pairs));
}

int64_t first_sample(const TrainerOptions& trainer) { return static_cast<int64_t>(dist_rank()) * trainer.batch; }

torch::Tensor sample_clean_batch(const PairDataset& dataset, const TrainerOptions& trainer, const CropSampling& sampling,
                                 int64_t step) {
  UNROLL_CHECK(dataset.size() > 0, "training: the training dataset is empty");
  LoaderOptions lo;
  lo.crop_size = trainer.crop;
  lo.flips = sampling.flips;
  lo.rot90 = sampling.rot90;
  const uint64_t seed = step_seed(trainer.seed, kImageStream, step);
  const int64_t first = first_sample(trainer);
  std::vector<torch::Tensor> crops;
  for (int64_t i = 0; i < trainer.batch; ++i) {
    SeededRng rng(sample_seed(seed, first + i));
    const int64_t index = rng.integer(0, dataset.size() - 1);
    ImagePair p = dataset.get(index);
    p.blurred = p.sharp;  // only the clean image is used
    p.kernel = torch::Tensor();
    torch::Tensor c = augment_pair(p, lo, rng.next_seed()).sharp.to(torch::kFloat32);
    if (!crops.empty())
      UNROLL_CHECK(c.size(1) == crops.front().size(1), "training: image '", p.name, "' has ", c.size(1),
                   " channels, the batch ", crops.front().size(1), " (convert the dataset's colours)");
    crops.push_back(c);
  }
  return torch::cat(crops, 0).contiguous();
}

// ------------------------------------------------------------------------------------------------
// (a) Denoiser

void DenoiserTrainingOptions::validate() const {
  trainer.validate();
  UNROLL_CHECK(std::isfinite(sigma_max) && sigma_max > 0, "denoiser training: sigma_max must be > 0, got ", sigma_max);
  UNROLL_CHECK(std::isfinite(val_sigma) && val_sigma >= 0, "denoiser training: val_sigma must be >= 0, got ", val_sigma);
  UNROLL_CHECK(val_crop >= 0, "denoiser training: val_crop must be >= 0 (0 = whole images), got ", val_crop);
  make_loss(loss);  // throws naming an unknown term
}

BatchLoss denoiser_batch_loss(std::shared_ptr<Prior> model, std::shared_ptr<const PairDataset> train_set,
                              const DenoiserTrainingOptions& options) {
  options.validate();
  UNROLL_CHECK(model != nullptr, "denoiser training: model is null");
  check_dataset(train_set, "training");
  auto loss_fn = make_loss(options.loss);
  return [model, train_set, options, loss_fn](int64_t step) {
    const auto opts = model_options(*model);
    const auto& t = options.trainer;
    auto clean = sample_clean_batch(*train_set, t, options.sampling, step).to(opts);
    UNROLL_CHECK(model->channels() == 0 || clean.size(1) == model->channels(), "denoiser training: images have ",
                 clean.size(1), " channels, the model expects ", model->channels());
    const int64_t n = clean.size(0), first = first_sample(t);
    auto sigma =
        draw_sigmas(n, options.sigma_max, step_seed(t.seed, kSigmaStream, step), first).to(opts).view({n, 1, 1, 1});
    auto noisy = clean + sigma * sample_noise_like(clean, step_seed(t.seed, kNoiseStream, step), first);
    return loss_fn(model->denoise(noisy, sigma), clean);
  };
}

Validator denoiser_validator(std::shared_ptr<Prior> model, std::shared_ptr<const PairDataset> val_set,
                             const DenoiserTrainingOptions& options) {
  options.validate();
  check_dataset(val_set, "validation");
  return [model, val_set, options]() {
    const auto opts = model_options(*model);
    double sum = 0;
    for (int64_t i = 0; i < val_set->size(); ++i) {
      auto clean = centre_crop(val_set->get(i).sharp, options.val_crop).to(opts);
      auto noisy = add_gaussian_noise(clean, options.val_sigma, step_seed(options.trainer.seed, kValStream, i));
      sum += psnr(model->denoise(noisy, options.val_sigma).clamp(0, 1), clean);
    }
    return sum / static_cast<double>(val_set->size());
  };
}

std::unique_ptr<Trainer> make_denoiser_trainer(std::shared_ptr<Prior> model,
                                               std::shared_ptr<const PairDataset> train_set,
                                               std::shared_ptr<const PairDataset> val_set,
                                               const DenoiserTrainingOptions& options) {
  auto loss = denoiser_batch_loss(model, train_set, options);
  Validator val = val_set ? denoiser_validator(model, val_set, options) : Validator();
  return std::make_unique<Trainer>(model, std::move(loss), options.trainer, std::move(val));
}

TrainResult train_denoiser(std::shared_ptr<Prior> model, std::shared_ptr<const PairDataset> train_set,
                           std::shared_ptr<const PairDataset> val_set, const DenoiserTrainingOptions& options,
                           bool resume) {
  auto trainer = make_denoiser_trainer(std::move(model), std::move(train_set), std::move(val_set), options);
  if (resume) trainer->resume();
  return trainer->run();
}

// ------------------------------------------------------------------------------------------------
// (b) Unrolled network

void UnrolledTrainingOptions::validate() const {
  trainer.validate();
  KernelSpec k = kernels;
  k.type = KernelType::Mixed;
  k.validate();
  UNROLL_CHECK(kernels.size <= trainer.crop, "unrolled training: kernels.size (", kernels.size,
               ") must be <= trainer.crop (", trainer.crop, ")");
  UNROLL_CHECK(motion_fraction >= 0 && motion_fraction <= 1, "unrolled training: motion_fraction must be in [0, 1], got ",
               motion_fraction);
  UNROLL_CHECK(std::isfinite(defocus_fraction) && defocus_fraction >= 0 && defocus_fraction <= 1 - motion_fraction + 1e-12,
               "unrolled training: defocus_fraction must be in [0, 1 - motion_fraction], got ", defocus_fraction);
  UNROLL_CHECK(std::isfinite(kernel_perturbation) && kernel_perturbation >= 0 && kernel_perturbation <= 1,
               "unrolled training: kernel_perturbation must be in [0, 1], got ", kernel_perturbation);
  UNROLL_CHECK(kernel_perturbation == 0 || kernels.size % 2 == 1,
               "unrolled training: kernel_perturbation needs an odd kernel size, got ", kernels.size);
  UNROLL_CHECK(std::isfinite(sigma_max) && sigma_max >= 0, "unrolled training: sigma_max must be >= 0, got ", sigma_max);
  UNROLL_CHECK(std::isfinite(val_sigma) && val_sigma >= 0, "unrolled training: val_sigma must be >= 0, got ", val_sigma);
  UNROLL_CHECK(val_crop >= 0, "unrolled training: val_crop must be >= 0 (0 = whole images), got ", val_crop);
  make_loss(loss);
}

torch::Tensor sample_kernels(const UnrolledTrainingOptions& options, int64_t n, uint64_t seed, int64_t first) {
  std::vector<torch::Tensor> ks;
  for (int64_t i = 0; i < n; ++i) {
    SeededRng rng(sample_seed(seed, first + i));
    KernelSpec spec = options.kernels;
    const double u = rng.uniform();
    spec.type = u < options.motion_fraction                              ? KernelType::Motion
                : u < options.motion_fraction + options.defocus_fraction ? KernelType::Defocus
                                                                         : KernelType::Gaussian;
    ks.push_back(random_kernel(spec, rng.next_seed()).unsqueeze(0).unsqueeze(0));
  }
  return torch::cat(ks, 0);
}

torch::Tensor perturb_kernels(const torch::Tensor& kernels, double max_level, uint64_t seed, int64_t first) {
  UNROLL_CHECK(kernels.dim() == 4 && kernels.size(1) == 1 && kernels.size(2) == kernels.size(3) &&
                   kernels.size(2) % 2 == 1,
               "perturb_kernels: expected odd square kernels [n,1,k,k], got shape ", kernels.sizes());
  if (max_level == 0) return kernels;
  const int64_t k = kernels.size(2);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < kernels.size(0); ++i) {
    SeededRng rng(sample_seed(seed, first + i));
    const double level = max_level * rng.uniform();
    auto p = perturb_kernel(kernels[i][0], level, rng.next_seed());
    const int64_t off = (p.size(0) - k) / 2;
    p = p.narrow(0, off, k).narrow(1, off, k);
    const double mass = p.sum().item<double>();
    out.push_back(mass > 0 ? (p / mass).unsqueeze(0).unsqueeze(0)
                           : kernels[i].to(torch::kCPU, torch::kFloat64).unsqueeze(0));  // all cropped away
  }
  return torch::cat(out, 0).to(kernels.options());
}

namespace {

// The synthetic pairs of step `step` shared by tasks (b) and (c): clean crops drawn with `sampling`
// (the crop size may differ from options.trainer's), kernels and noise from the step's seeds.
DegradedPair blurred_training_batch(const PairDataset& train_set, const TrainerOptions& sampling,
                                    const UnrolledTrainingOptions& options, int64_t step,
                                    const torch::TensorOptions& opts) {
  const auto& t = options.trainer;
  auto clean = sample_clean_batch(train_set, sampling, options.sampling, step).to(opts);
  const int64_t first = first_sample(sampling);
  auto kernels = sample_kernels(options, clean.size(0), step_seed(t.seed, kKernelStream, step), first).to(opts);
  DegradeOptions d;
  d.blur = options.blur;
  d.sigma_min = 0;
  d.sigma_max = options.sigma_max;
  // One sample at a time, each with its own seed, so a sample does not depend on its batch.
  const uint64_t noise_seed = step_seed(t.seed, kNoiseStream, step);
  std::vector<torch::Tensor> blurred, sharp, kernel, sigma;
  for (int64_t i = 0; i < clean.size(0); ++i) {
    DegradedPair p = degrade(clean.narrow(0, i, 1), kernels.narrow(0, i, 1), d, sample_seed(noise_seed, first + i));
    blurred.push_back(p.blurred);
    sharp.push_back(p.sharp);
    kernel.push_back(p.kernel);
    sigma.push_back(p.sigma);
  }
  return DegradedPair{torch::cat(blurred, 0), torch::cat(sharp, 0), torch::cat(kernel, 0), torch::cat(sigma, 0)};
}

// Mean PSNR of restore(blurred, kernel) over the validation images, each blurred deterministically
// (motion kernel for even i, Gaussian for odd i, noise val_sigma), for tasks (b) and (c).
double blurred_validation_psnr(const PairDataset& val_set, const UnrolledTrainingOptions& options,
                               const torch::TensorOptions& opts,
                               const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& restore) {
  DegradeOptions d;
  d.blur = options.blur;
  d.fixed_sigma(options.val_sigma);
  double sum = 0;
  for (int64_t i = 0; i < val_set.size(); ++i) {
    auto clean = centre_crop(val_set.get(i).sharp, options.val_crop).to(opts);
    KernelSpec spec = options.kernels;
    spec.type = i % 2 == 0 ? KernelType::Motion : KernelType::Gaussian;
    const uint64_t seed = step_seed(options.trainer.seed, kValStream, i);
    auto kernel = random_kernel(spec, seed).to(opts);
    auto pair = degrade(clean, kernel, d, mix_seed(seed));
    sum += psnr(restore(pair.blurred, kernel).clamp(0, 1), pair.sharp);
  }
  return sum / static_cast<double>(val_set.size());
}

// The validator of tasks (b), (c) and (d): blurred_validation_psnr of restore(y, k, sigma) with the
// model's dtype and device (read at each validation, so a model moved after this call is followed).
// `options` has been validated by the caller (its own type's checks).
Validator blurred_validator(std::shared_ptr<torch::nn::Module> model, std::shared_ptr<const PairDataset> val_set,
                            const UnrolledTrainingOptions& options,
                            std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&,
                                                        const torch::Tensor&)> restore) {
  check_dataset(val_set, "validation");
  return [model, val_set, options, restore]() {
    const auto opts = model_options(*model);
    auto sigma = torch::full({1, 1, 1, 1}, options.val_sigma, opts);
    return blurred_validation_psnr(*val_set, options, opts, [&](const torch::Tensor& y, const torch::Tensor& k) {
      return restore(y, k, sigma);
    });
  };
}

}  // namespace

BatchLoss unrolled_batch_loss(UnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                              const UnrolledTrainingOptions& options) {
  options.validate();
  UNROLL_CHECK(!model.is_empty(), "unrolled training: model is null");
  check_dataset(train_set, "training");
  auto loss_fn = make_loss(options.loss);
  return [model, train_set, options, loss_fn](int64_t step) mutable {
    const auto opts = model_options(*model);
    auto pair = blurred_training_batch(*train_set, options.trainer, options, step, opts);
    auto sigma = pair.sigma.to(opts).view({pair.blurred.size(0), 1, 1, 1});
    auto given = perturb_kernels(pair.kernel, options.kernel_perturbation,
                                 step_seed(options.trainer.seed, kPerturbStream, step), first_sample(options.trainer));
    return loss_fn(model->forward(pair.blurred, given, sigma), pair.sharp);
  };
}

Validator unrolled_validator(UnrolledNet model, std::shared_ptr<const PairDataset> val_set,
                             const UnrolledTrainingOptions& options) {
  options.validate();
  return blurred_validator(model.ptr(), std::move(val_set), options,
                           [model](const torch::Tensor& y, const torch::Tensor& k, const torch::Tensor& sigma) mutable {
                             return model->forward(y, k, sigma);
                           });
}

std::unique_ptr<Trainer> make_unrolled_trainer(UnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                                               std::shared_ptr<const PairDataset> val_set,
                                               const UnrolledTrainingOptions& options) {
  auto loss = unrolled_batch_loss(model, train_set, options);
  Validator val = val_set ? unrolled_validator(model, val_set, options) : Validator();
  return std::make_unique<Trainer>(model.ptr(), std::move(loss), options.trainer, std::move(val));
}

TrainResult train_unrolled(UnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                           std::shared_ptr<const PairDataset> val_set, const UnrolledTrainingOptions& options,
                           bool resume) {
  auto trainer = make_unrolled_trainer(std::move(model), std::move(train_set), std::move(val_set), options);
  if (resume) trainer->resume();
  return trainer->run();
}

// ------------------------------------------------------------------------------------------------
// (c) End-to-end deblurring network

void DeblurTrainingOptions::validate() const {
  UnrolledTrainingOptions::validate();  // the shared fields, with the same messages
  UNROLL_CHECK(std::isfinite(gradient_penalty) && gradient_penalty >= 0,
               "deblur training: gradient_penalty must be >= 0, got ", gradient_penalty);
}

BatchLoss deblur_batch_loss(DeblurNet model, std::shared_ptr<const PairDataset> train_set,
                            const DeblurTrainingOptions& options) {
  options.validate();
  UNROLL_CHECK(model.defined(), "deblur training: model is null");
  check_dataset(train_set, "training");
  // Valid blur trims kernel.size - 1 pixels: sample larger crops so the network sees crop x crop.
  TrainerOptions sampling = options.trainer;
  if (options.blur == BlurMode::Valid) sampling.crop += options.kernels.size - 1;
  model.check_size(options.trainer.crop, options.trainer.crop, "deblur training: train.crop");
  UNROLL_CHECK(options.trainer.batch >= model.min_train_batch(), "deblur training: train.batch must be >= ",
               model.min_train_batch(), " for ", model.family(), " (batch normalisation of pooled features), got ",
               options.trainer.batch);
  auto loss_fn = make_loss(options.loss);
  return [model, train_set, options, sampling, loss_fn](int64_t step) {
    const auto opts = model_options(*model.module());
    auto pair = blurred_training_batch(*train_set, sampling, options, step, opts);
    UNROLL_CHECK(pair.sharp.size(1) == 3, "deblur training: the networks take RGB images, got ", pair.sharp.size(1),
                 " channels");
    const bool penalty = options.gradient_penalty > 0;
    auto input = penalty ? pair.blurred.detach().requires_grad_(true) : pair.blurred;
    auto outputs = model.outputs(input);
    auto loss = options.multiscale && outputs.size() > 1 ? multiscale_loss(outputs, pair.sharp, loss_fn)
                                                         : loss_fn(outputs.back(), pair.sharp);
    if (!penalty) return loss;
    auto g = torch::autograd::grad({loss}, {input}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    const double per_sample = static_cast<double>(input[0].numel());
    return loss + options.gradient_penalty * (g * per_sample).square().mean();
  };
}

Validator deblur_validator(DeblurNet model, std::shared_ptr<const PairDataset> val_set,
                           const DeblurTrainingOptions& options) {
  options.validate();
  return blurred_validator(model.module(), std::move(val_set), options,
                           [model](const torch::Tensor& y, const torch::Tensor&, const torch::Tensor&) {
                             return model.deblur(y);
                           });
}

std::unique_ptr<Trainer> make_deblur_trainer(DeblurNet model, std::shared_ptr<const PairDataset> train_set,
                                             std::shared_ptr<const PairDataset> val_set,
                                             const DeblurTrainingOptions& options) {
  auto loss = deblur_batch_loss(model, train_set, options);
  Validator val = val_set ? deblur_validator(model, val_set, options) : Validator();
  return std::make_unique<Trainer>(model.module(), std::move(loss), options.trainer, std::move(val));
}

TrainResult train_deblur_net(DeblurNet model, std::shared_ptr<const PairDataset> train_set,
                             std::shared_ptr<const PairDataset> val_set, const DeblurTrainingOptions& options,
                             bool resume) {
  auto trainer = make_deblur_trainer(std::move(model), std::move(train_set), std::move(val_set), options);
  if (resume) trainer->resume();
  return trainer->run();
}

// ------------------------------------------------------------------------------------------------
// (d) Blind unrolled network
// ------------------------------------------------------------------------------------------------
void BlindUnrolledTrainingOptions::validate() const {
  UnrolledTrainingOptions::validate();
  UNROLL_CHECK(std::isfinite(kernel_loss) && kernel_loss >= 0, "blind unrolled training: kernel_loss must be >= 0, got ",
               kernel_loss);
  UNROLL_CHECK(std::isfinite(deep_supervision) && deep_supervision >= 0,
               "blind unrolled training: deep_supervision must be >= 0, got ", deep_supervision);
  UNROLL_CHECK(kernel_shift >= 0 && kernel_shift <= 8, "blind unrolled training: kernel_shift must be in 0..8, got ",
               kernel_shift);
}

torch::Tensor shift_tolerant_kernel_loss(const torch::Tensor& kernel, const torch::Tensor& truth, int64_t max_shift) {
  UNROLL_CHECK(kernel.dim() == 4 && truth.dim() == 4 && kernel.size(0) == truth.size(0) && kernel.size(1) == 1 &&
                   truth.size(1) == 1,
               "kernel loss: expected [N,1,k,k] kernels, got ", kernel.sizes(), " and ", truth.sizes());
  const int64_t k = kernel.size(-1), s = truth.size(-1);
  UNROLL_CHECK(kernel.size(-2) == k && truth.size(-2) == s && s <= k && (k - s) % 2 == 0,
               "kernel loss: the true kernel ", truth.sizes(), " must be square and fit the estimate ", kernel.sizes(),
               " about its centre");
  const int64_t p = (k - s) / 2 + max_shift, m = max_shift;
  auto t = torch::constant_pad_nd(truth.to(kernel.options()), {p, p, p, p});
  auto e = torch::constant_pad_nd(kernel, {m, m, m, m});
  std::vector<torch::Tensor> per_shift;
  for (int64_t dy = -m; dy <= m; ++dy)
    for (int64_t dx = -m; dx <= m; ++dx)
      per_shift.push_back((e - torch::roll(t, {dy, dx}, {2, 3})).abs().sum({1, 2, 3}));
  return std::get<0>(torch::stack(per_shift, 1).min(1)).mean();
}

BatchLoss blind_unrolled_batch_loss(BlindUnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                                    const BlindUnrolledTrainingOptions& options) {
  options.validate();
  UNROLL_CHECK(!model.is_empty(), "blind unrolled training: model is null");
  UNROLL_CHECK(options.kernels.size <= model->options().kernel_size, "blind unrolled training: training kernels (",
               options.kernels.size, ") larger than the network's ", model->options().kernel_size);
  check_dataset(train_set, "training");
  auto loss_fn = make_loss(options.loss);
  return [model, train_set, options, loss_fn](int64_t step) mutable {
    const auto opts = model_options(*model);
    auto pair = blurred_training_batch(*train_set, options.trainer, options, step, opts);
    auto sigma = pair.sigma.to(opts).view({pair.blurred.size(0), 1, 1, 1});
    // Odd true kernels for the loss (the sampled ones are kernels.size wide; an even size is padded).
    auto truth = pair.kernel;
    if (truth.size(-1) % 2 == 0) truth = torch::constant_pad_nd(truth, {0, 1, 0, 1});
    const bool deep = options.deep_supervision > 0 && model->options().unrolled.iterations > 1;
    auto out = model->forward(pair.blurred, sigma, deep);
    auto kernel_term = [&](const torch::Tensor& k) {
      return options.kernel_loss > 0 ? options.kernel_loss * shift_tolerant_kernel_loss(k, truth, options.kernel_shift)
                                     : torch::zeros({}, opts);
    };
    auto loss = loss_fn(out.image, pair.sharp) + kernel_term(out.kernel) + kernel_term(out.kernels.front());
    if (deep) {
      const int K = model->options().unrolled.iterations;
      torch::Tensor extra = torch::zeros({}, opts);
      for (int i = 0; i + 1 < K; ++i)
        extra = extra + loss_fn(out.prior_steps[i], pair.sharp) + kernel_term(out.kernels[i + 1]);
      loss = loss + options.deep_supervision * extra / static_cast<double>(K - 1);
    }
    return loss;
  };
}

Validator blind_unrolled_validator(BlindUnrolledNet model, std::shared_ptr<const PairDataset> val_set,
                                   const BlindUnrolledTrainingOptions& options) {
  options.validate();
  return blurred_validator(model.ptr(), std::move(val_set), options,
                           [model](const torch::Tensor& y, const torch::Tensor&, const torch::Tensor& sigma) mutable {
                             return model->forward(y, sigma).image;
                           });
}

TrainResult train_blind_unrolled(BlindUnrolledNet model, std::shared_ptr<const PairDataset> train_set,
                                 std::shared_ptr<const PairDataset> val_set, const BlindUnrolledTrainingOptions& options,
                                 bool resume) {
  auto loss = blind_unrolled_batch_loss(model, train_set, options);
  Validator val = val_set ? blind_unrolled_validator(model, val_set, options) : Validator();
  Trainer trainer(model.ptr(), std::move(loss), options.trainer, std::move(val));
  if (resume) trainer.resume();
  return trainer.run();
}

}  // namespace unroll
