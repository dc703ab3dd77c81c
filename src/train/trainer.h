// A small, deterministic, resumable training loop for any torch::nn::Module.
//
// The Trainer owns an Adam optimiser (Kingma & Ba, ICLR 2015) over a model and runs steps
//   lr = lr_at(options, step); loss = batch_loss(step); loss.backward();
//   clip the global gradient norm to grad_clip; Adam step,
// with a linear warm-up followed by cosine decay (Loshchilov & Hutter, "SGDR", ICLR 2017) down to
// min_lr, periodic validation, a CSV log, a progress line, and atomic checkpoints from which a killed
// run continues with IDENTICAL state.
//
// Determinism contract. `batch_loss(index)` must compute the loss of the batch `index` as a pure
// function of (step, the task's seed, the model's current parameters): draw crops, kernels and noise
// from seeds derived from the step (datasets/kernels.h mix_seed, SeededRng), never from a stream that
// advances with the run. Then "train N steps" and "train M < N steps, stop, resume, train N - M" give
// bit-identical parameters on the same machine. The trainer additionally saves and restores the
// default CPU generator of LibTorch, so callbacks that do draw from torch's global RNG (dropout) stay
// reproducible too.
//
// Files in out_dir (nothing is written when out_dir is empty):
//   model.pth      the model's state dict (core/checkpoint.h save_state_dict: torch.load-compatible,
//                  PyTorch parameter names), rewritten at every checkpoint;
//   resume.pt      everything a resume needs in ONE archive (model parameters and buffers through
//                  nn::Module::save, Adam's moments and step counts, the next step, the CPU RNG state,
//                  the elapsed seconds, the last validation), so a crash can never pair weights of one
//                  step with optimiser state of another;
//   train_log.csv  step,lr,loss,val_psnr,seconds (val_psnr empty when not validated at that step);
//                  rows are appended with one write each; on resume the rows after the checkpoint's
//                  step are dropped (the file is rewritten atomically) so no step appears twice.
// Both checkpoint files are written to a temporary file beside the target and renamed
// (core/atomic_file.h), so each is always either the previous or the new complete file.
//
// Several processes (core/distributed.h: a group made by init_distributed before the Trainer). Data
// parallel, as PyTorch's DistributedDataParallel: every rank runs batch_loss on its own share of each
// step's samples (the tasks of train/training_tasks.h draw samples rank * batch .. rank * batch + batch - 1
// of the step's stream, so R ranks of batch B see exactly the samples of one process of batch R * B),
// and after the backward passes of an optimiser step the gradients are averaged over the ranks
// (Distributed::average_gradients: all-reduce in buckets), so every rank takes the same Adam step and
// the weights stay identical without being sent again. The clipping norm is that of the averaged
// gradient, i.e. the global one. Rank 0's initial weights (and buffers, before every step: BatchNorm
// statistics) are broadcast to the others. Rank 0 alone validates, logs, shows progress and writes the
// checkpoints; resume() on rank 0 reads resume.pt and sends its bytes to the others (which need not see
// rank 0's disk). A checkpoint records the world size and is refused by a run of another (the global
// batch, hence the training, would differ). Torch's global RNG is seeded from (seed, rank) on ranks > 0
// and only rank 0's is checkpointed: callbacks drawing from it (dropout) are not bit-reproducible
// across a resume with several ranks; the built-in tasks do not draw from it.
#pragma once
#include <torch/torch.h>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace unroll {

class Distributed;

struct TrainerOptions {
  int64_t steps = 1000;           ///< total optimiser steps of the run (> 0); the schedule spans them
  int64_t batch = 16;             ///< samples per step (>= 1); used by the task builders
  int64_t crop = 96;              ///< square training crop side (>= 8); used by the task builders
  double lr = 1e-4;               ///< peak learning rate (> 0)
  int64_t warmup_steps = 0;       ///< linear warm-up length, 0 <= warmup_steps < steps
  double min_lr = 1e-6;           ///< learning rate at the last step of the cosine decay, 0 <= min_lr <= lr
  double grad_clip = 0;           ///< maximum global L2 norm of the gradients; 0 disables clipping
  /// Gradient accumulation: each optimiser step sums the gradients of `accumulate` batches, those of
  /// batch_loss(step * accumulate + j) for j = 0..accumulate-1, each loss scaled by 1/accumulate (the
  /// logged loss is their mean); >= 1. An effective batch of batch * accumulate at the memory of one.
  int64_t accumulate = 1;
  /// bf16 autocast around batch_loss on CUDA (at::autocast, gpu dtype bfloat16). LibTorch's CPU has
  /// no useful mixed precision: on a CPU model the trainer says so once on stderr and trains in the
  /// model's dtype.
  bool mixed_precision = false;
  double adam_beta1 = 0.9, adam_beta2 = 0.999;  ///< Adam's decay rates, in [0,1)
  double weight_decay = 0;        ///< Adam's (L2) weight decay, >= 0
  uint64_t seed = 0;              ///< seed of every random draw of the tasks; the Trainer's constructor
                                  ///< also calls torch::manual_seed(seed) for callbacks using torch's RNG
  int64_t checkpoint_every = 0;   ///< steps between checkpoints (>= 0; 0 = only at the end)
  int64_t validate_every = 0;     ///< steps between validations (>= 0; 0 = only at the end)
  int64_t log_every = 10;         ///< steps between CSV rows (>= 1); validation steps and the last one always log
  std::string out_dir;            ///< checkpoint and log folder; "" = keep nothing on disk
  bool progress = true;           ///< print a ProgressLine (core/progress.h) to stderr
  void validate() const;          ///< throws unroll::Error naming the field and the bad value
};

/// Learning rate of the 0-based `step`:
///   step < warmup_steps:  lr * (step + 1) / warmup_steps            (reaches lr at the last warm-up step)
///   otherwise:            min_lr + (lr - min_lr) * (1 + cos(pi * t)) / 2,
///                         t = (step - warmup_steps) / (steps - 1 - warmup_steps)  (t = 0 if the
///                         denominator is 0), clamped to [0, 1];
/// so the first step after warm-up uses lr and the last step (steps - 1) uses min_lr exactly.
double lr_at(const TrainerOptions& options, int64_t step);

/// Loss of one batch (a 0-dim floating tensor attached to the model's graph). The argument is the
/// batch index: the step, or step * accumulate + j with gradient accumulation.
using BatchLoss = std::function<torch::Tensor(int64_t step)>;
/// Validation score, higher is better (mean PSNR in dB for the built-in tasks). The trainer calls it
/// with the model in eval() mode under torch::NoGradGuard and restores train() mode afterwards.
using Validator = std::function<double()>;

/// One row of the training log.
struct TrainLogRow {
  int64_t step = 0;      ///< 1-based: the number of optimiser steps done
  double lr = 0;
  double loss = 0;
  double val_psnr = std::numeric_limits<double>::quiet_NaN();  ///< NaN when not validated at this step
  double seconds = 0;    ///< training wall time since the run first started (accumulated over resumes)
};

struct TrainResult {
  int64_t first_step = 0;           ///< the step this run() started from (> 0 after a resume)
  int64_t step = 0;                 ///< steps done after run() (== options.steps when finished)
  std::vector<double> losses;       ///< loss of every step run by this call
  double last_val_psnr = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;               ///< accumulated training time, as in the log
};

class Trainer {
 public:
  /// `model` must have at least one parameter requiring a gradient; `validator` may be empty.
  /// The optimiser is built over model->parameters() here.
  Trainer(std::shared_ptr<torch::nn::Module> model, BatchLoss batch_loss, TrainerOptions options,
          Validator validator = nullptr);

  /// Loads out_dir/resume.pt when it exists and returns true (false, state untouched, when there is
  /// none). Throws unroll::Error naming the file when it is corrupt, belongs to a different model
  /// (missing or mis-shaped parameters) or was written by a run with more steps than options.steps
  /// allows.
  bool resume();

  /// Runs from the current step (0 unless resume() found a checkpoint: run() without resume() starts
  /// afresh and replaces an older train_log.csv) until `stop_at` steps are done (-1 = options.steps), validating,
  /// logging and checkpointing as configured; a checkpoint is always written when the loop stops
  /// (also when stop_at < steps). Throws unroll::Error naming the step when the loss is not finite.
  TrainResult run(int64_t stop_at = -1);

  /// Writes model.pth and resume.pt now (no-op when out_dir is empty).
  void save_checkpoint();

  int64_t step() const { return step_; }
  const TrainerOptions& options() const { return options_; }
  torch::optim::Adam& optimizer() { return *optimizer_; }
  std::shared_ptr<torch::nn::Module> model() const { return model_; }
  std::string model_path() const;   ///< out_dir/model.pth
  std::string resume_path() const;  ///< out_dir/resume.pt
  std::string log_path() const;     ///< out_dir/train_log.csv

 private:
  void append_log(const TrainLogRow& row);
  void truncate_log_after(int64_t step);
  double run_validation();

  std::shared_ptr<torch::nn::Module> model_;
  BatchLoss batch_loss_;
  TrainerOptions options_;
  Validator validator_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  int64_t step_ = 0;
  double seconds_ = 0;
  double last_val_psnr_ = std::numeric_limits<double>::quiet_NaN();
  bool autocast_ = false;  ///< mixed_precision requested and the model is on CUDA
  bool log_started_ = false;
  Distributed* dist_ = nullptr;  ///< the process group (core/distributed.h), null in a single process
  bool writer_ = true;           ///< this process logs, validates and checkpoints (rank 0)
  bool synced_ = false;          ///< rank 0's weights have been broadcast
};

/// The global L2 norm of the gradients of `parameters` (those with a defined grad), as clip_grad_norm_
/// measures it; for logging and tests.
double gradient_norm(const std::vector<torch::Tensor>& parameters);

}  // namespace unroll
