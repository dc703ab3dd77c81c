// An experiment plan: what `unroll experiment X.ini` trains and evaluates. The INI file (core/ini.h
// syntax) is read once, every entry with its line, and its layers are resolved into typed values: a
// TrainConfig per trained variant (train/train_config.h, checked as a whole before anything runs),
// the evaluation's methods, sources and options.
//
// The keys of an experiment config:
//   [experiment]  name (required: letters, digits, '_', '-'), description, size (default size: quick |
//                 full), out (default runs/experiments/<name>/<size>), task (default task of trained
//                 variants)
//   [model] [data] [train]   the base training config of `unroll train` (train/train_config.h);
//                 data.train / data.val are the training images; train.out is chosen by the experiment
//   [data]        test (repeatable: eval/sources.h data strings), noise (0-255, DPIR / synthetic)
//   [eval]        methods (baselines, comma-separated), params (method.key=value,...), weights
//                 (method=FILE,...), prior, metric, limit, grids, boundary, device, save_images
//   [variant.NAME] one per variant, in order: label, method, params (key=value,...), weights, prior,
//                 task, and any training key (model.iterations = 4, train.loss = l1+0.1*fft, ...)
//                 overriding the base config. A variant with `method` and no `task` is evaluated as
//                 is; every other variant is trained (task from the variant or [experiment]) and
//                 evaluated with its checkpoint (unrolled -> `unrolled`, denoiser -> `pnp` with the
//                 trained denoiser as its prior, deblur -> the family's method: `convir`, `atrous`, ...;
//                 unless `method` says otherwise).
//   [size.quick] [size.full]  keys (any of the above except variant keys) overriding the rest for
//                 that size; applied last. `variant.NAME.KEY = value` inside a size section sets a
//                 training key of one variant at that size.
// A trained variant's config is, in this order: the base training keys, the variant's, the size's, the
// size's keys for that variant, then experiment.task (the variant's task), experiment.name
// (<name>_<variant>) and train.out (<out>/<variant>). A key takes the value of the last layer that sets
// it; data.test takes the values of the last layer that sets it. Values may use ${VAR} for environment
// variables (an unset variable is an error naming it). Unknown keys, a key set twice in one layer and
// bad values are errors naming FILE:LINE: key.
//
// A new experiment key is one line of the key table in plan.cpp (visit_experiment_keys) and its use in
// plan_experiment; a new training key is one line of visit_train_config and is at once a key of every
// layer here.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "eval/evaluation.h"
#include "eval/sources.h"
#include "train/train_config.h"

namespace unroll {

struct ExperimentVariant {
  std::string name;   ///< [variant.NAME]; also the folder name
  std::string label;  ///< shown in tables and the plot (default: name)
  bool trained = false;
  TrainConfig train;  ///< trained: the complete training config (train.out = dir), finished and checked
  std::string dir;    ///< trained: <out>/<name>
  EvalMethod method;  ///< how it is evaluated (trained: weights = dir/model.pth)
  std::vector<std::pair<std::string, std::string>> settings;  ///< the keys the variant sets, for the report
};

struct ExperimentPlan {
  std::string name, description, size;
  std::string config_path;  ///< the INI file (for the report's commands)
  std::string out_dir;
  std::vector<ExperimentVariant> variants;
  std::vector<EvalMethod> baselines;     ///< eval.methods: evaluated next to the variants
  std::vector<EvalSource> test_sources;  ///< data.test, parsed (opened by run_experiment)
  SourceOptions sources;
  EvalOptions eval;        ///< out_dir is set to <out>/eval by run_experiment
  std::string command;     ///< the `unroll experiment` command line used
  std::string reproduce;   ///< the command that redoes it all (default: `command`)
  std::string eval_flags;  ///< extra `unroll eval` flags reproducing `eval` (--limit, --metric, ...)
};

/// Reads the experiment config at `path` and resolves it for `size` ("" = experiment.size, else full)
/// with output folder `out` ("" = experiment.out, else runs/experiments/<name>/<size>). Checks every
/// key, value, method name and parameter, data-string syntax and trained variant's config; opens no
/// data and no checkpoint (run_experiment does). Throws unroll::Error naming FILE:LINE: key where an
/// entry is at fault. `command` and `reproduce` are left for the caller.
ExperimentPlan plan_experiment(const std::string& path, const std::string& size = "", const std::string& out = "");

}  // namespace unroll
