// Experiments: several variants (models trained from one config with a few keys changed, or methods
// with chosen settings) evaluated side by side through the harness (eval/harness.h) and summarised in
// report.md with a PSNR-per-variant plot and the commands that reproduce every number.
//
// The plan (what to train, what to evaluate) comes from an INI file parsed by `unroll experiment`
// (apps/unroll/cmd_experiment.cpp); this layer runs it and owns the on-disk contract:
//   <out>/<variant>/train.ini   the variant's complete `unroll train` config (train.out = that folder);
//                               `unroll train --config <out>/<variant>/train.ini` reproduces the run
//   <out>/<variant>/model.pth, resume.pt, train_log.csv   the trainer's files (train/trainer.h)
//   <out>/<variant>/done.json   written when its training finished: steps, seconds, validation PSNR
//   <out>/eval/                 results.csv, summary.md, summary.json, grids/ of the harness
//   <out>/report.md, <out>/psnr.png
// Reuse: a variant whose done.json exists and whose train.ini equals the plan's config is not trained
// again. A different train.ini is an error (delete the folder to retrain), as is an unfinished run
// (resume.pt without done.json) unless `resume` is set, which continues it from its checkpoint.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "eval/harness.h"

namespace unroll {

struct ExperimentVariant {
  std::string name;   ///< [variant.NAME]; also the folder name
  std::string label;  ///< shown in tables and the plot (default: name)
  bool trained = false;
  std::string task;          ///< trained: "denoiser" or "unrolled"
  std::string train_config;  ///< trained: the complete `unroll train` INI text
  std::string dir;           ///< trained: <out>/<name>
  EvalMethod method;         ///< how it is evaluated (trained: weights = dir/model.pth)
  std::vector<std::pair<std::string, std::string>> settings;  ///< the keys the variant sets, for the report
};

struct ExperimentPlan {
  std::string name, description, size;
  std::string config_path;  ///< the INI file (for the report's commands)
  std::string out_dir;
  std::vector<ExperimentVariant> variants;
  std::vector<EvalMethod> baselines;      ///< eval.methods: evaluated next to the variants
  std::vector<std::string> test_sources;  ///< --data strings (eval/harness.h)
  SourceOptions sources;
  EvalOptions eval;        ///< out_dir is set to <out>/eval by run_experiment
  std::string command;     ///< the `unroll experiment` command line used
  std::string reproduce;   ///< the command that redoes it all (default: `command`)
  std::string eval_flags;  ///< extra `unroll eval` flags reproducing `eval` (--limit, --metric, ...)
};

/// What one training produced.
struct TrainingOutcome {
  int64_t first_step = 0, steps = 0;
  double seconds = 0;   ///< accumulated training wall time (train/trainer.h)
  double val_psnr = 0;  ///< last validation PSNR (NaN when none)
  bool reused = false;  ///< finished earlier; not trained by this run
};

/// Trains one variant into variant.dir (which holds train.ini) and returns the outcome; `resume`
/// continues from an existing checkpoint.
using TrainVariantFn = std::function<TrainingOutcome(const ExperimentVariant& variant, bool resume)>;

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
/// source in one harness run. Validates the whole plan (sources open, methods exist) before training.
ExperimentResult run_experiment(const ExperimentPlan& plan, const TrainVariantFn& train,
                                const ExperimentRunOptions& options = {});

/// report.md: description, one table per dataset (blurred input, baselines, variants: PSNR, SSIM,
/// score, s / image, training steps / time / validation PSNR), the plot, the variants' settings, the
/// commands that reproduce it (the experiment, and each training and evaluation alone) and timing.
std::string experiment_report_markdown(const ExperimentPlan& plan, const ExperimentResult& result);

/// Writes <out>/report.md, <out>/psnr.png (PSNR per variant -- or per baseline when there are no
/// variants -- one line per dataset) and the harness outputs in <out>/eval/.
void write_experiment_report(const ExperimentPlan& plan, const ExperimentResult& result);

}  // namespace unroll
