// Experiments: several variants (models trained from one config with a few keys changed, or methods
// with chosen settings) evaluated side by side through the harness (eval/harness.h) and summarised in
// report.md with a PSNR-per-variant plot and the commands that reproduce every number.
//
// The plan (what to train, what to evaluate) comes from experiment/plan.h; this layer runs it -- trains
// each variant with the library's trainer (train/train_config.h run_train_config) on the images its
// config names (experiment/training_data.h), then evaluates -- and owns the on-disk contract:
//   <out>/<variant>/train.ini   the variant's complete `unroll train` config (train.out = that folder,
//                               train/train_config_ini.h write_train_config); `unroll train --config
//                               <out>/<variant>/train.ini` reproduces the run
//   <out>/<variant>/model.pth, resume.pt, train_log.csv   the trainer's files (train/trainer.h)
//   <out>/<variant>/done.json   written when its training finished: steps, seconds, validation PSNR
//   <out>/eval/                 results.csv, summary.md, summary.json, grids/ of the harness
//   <out>/report.md, <out>/psnr.png
// Reuse: a variant whose done.json exists and whose train.ini, read back, is the same config as the
// plan's (same_train_config: same keys, same values, however the file spells them -- so a train.ini
// written by an earlier version is reused too) is not trained again. A different (or unreadable)
// train.ini is an error (delete the folder to retrain), as is an unfinished run (resume.pt without
// done.json) unless `resume` is set, which continues it from its checkpoint.
#pragma once

#include <map>
#include <string>

#include "eval/evaluation.h"
#include "experiment/plan.h"

namespace unroll {

/// What one training produced.
struct TrainingOutcome {
  int64_t first_step = 0, steps = 0;
  double seconds = 0;   ///< accumulated training wall time (train/trainer.h)
  double val_psnr = 0;  ///< last validation PSNR (NaN when none)
  bool reused = false;  ///< finished earlier; not trained by this run
};

struct ExperimentRunOptions {
  bool only_eval = false;  ///< never train: every trained variant must be finished already
  bool resume = false;     ///< continue unfinished training runs
};

struct ExperimentResult {
  EvalReport eval;
  std::map<std::string, TrainingOutcome> training;  ///< by variant name
  double train_seconds = 0;                         ///< wall time spent training in this run
};

/// Trains (or reuses) every trained variant, then evaluates baselines and variants on every test
/// source in one harness run. Validates the whole plan (sources open, methods exist, finished variants
/// match, the training images and start checkpoints exist) before the first training.
ExperimentResult run_experiment(const ExperimentPlan& plan, const ExperimentRunOptions& options = {});

/// The text of <dir>/train.ini for trained variant `v`: a comment saying where it came from and how
/// to rerun it, then write_train_config(v.train).
std::string variant_train_ini(const ExperimentPlan& plan, const ExperimentVariant& v);

/// report.md: description, one table per dataset (blurred input, baselines, variants: PSNR, SSIM,
/// score, s / image, training steps / time / validation PSNR), the plot, the variants' settings, the
/// commands that reproduce it (the experiment, and each training and evaluation alone) and timing.
std::string experiment_report_markdown(const ExperimentPlan& plan, const ExperimentResult& result);

/// Writes <out>/report.md, <out>/psnr.png (PSNR per variant -- or per baseline when there are no
/// variants -- one line per dataset) and the harness outputs in <out>/eval/.
void write_experiment_report(const ExperimentPlan& plan, const ExperimentResult& result);

}  // namespace unroll
