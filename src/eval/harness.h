// The evaluation harness behind `unroll eval` and `unroll experiment`: every method of a list x every
// case of one or more datasets, each dataset scored under its own protocol (eval/protocol.h Metric),
// with per-image rows, per-method means, loading time kept apart from method time, optional restored
// images and comparison grids.
//
// Data sources (parse_eval_source; `PATH` may itself contain ':' only where no split follows):
//   gopro:PATH[:test|train]           GoPro, official or flattened layout (datasets/readers.h); default test,
//                                     metric full
//   reds:PATH[:val|reds4|train]       REDS blur/sharp; reds4 = clips 000, 011, 015, 020 of train;
//                                     default val, metric full
//   rsblur:PATH[:test|val|train|LIST] RSBlur list PATH/datalist/RSBlur/RSBlur_real_<split>.txt (or
//                                     PATH/RSBlur_real_<split>.txt, or a LIST file ending in .txt,
//                                     relative to PATH); default test, metric rsblur (ECC-aligned)
//   cifar10:PATH[:test|train]         CIFAR-10 binary batches, blurred on the fly by the seeds' Gaussian
//                                     protocol (sigma ~ U[0,3] per record); default test, metric full
//   folder:PATH                       blur/ + sharp/ pairs or an `unroll synth` manifest.csv (kernels and
//                                     noise levels used when listed); metric full
//   synthetic:DIR[,kernels=K][,noise=N][,size=S][,count=C][,seed=S][,blur=B][,crop=P]
//                                     sharp images of DIR degraded on the fly (datasets/readers.h
//                                     SyntheticPairDataset): K = motion (default) | gaussian | linear |
//                                     defocus | mixed | levin:KDIR | file:K.csv; N = noise sigma on the
//                                     0-255 scale (default: SourceOptions::noise255); S = kernel side
//                                     (default 25); C = pairs per image; B = circular | same | valid;
//                                     P = crop side (0 = whole image); metric full
//   dpir:IMAGES:KERNELS               the DPIR protocol (eval/protocol.h), noise SourceOptions::noise255;
//                                     metric full8 (8-bit PSNR, no border)
// Non-blind methods run with the true kernel where the source has one (synthetic, dpir, cifar10, kernel-
// carrying folders); elsewhere they are reported as "needs kernel", never silently skipped. The noise
// level handed to methods is the known one (synthetic, dpir, manifests with sigma), else -1 (methods
// estimate it).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datasets/pair_dataset.h"
#include "eval/methods.h"
#include "eval/protocol.h"

namespace unroll {

/// A parsed --data string (syntax only; nothing is read until open_eval_source).
struct EvalSource {
  enum class Kind { Gopro, Reds, Rsblur, Cifar10, Folder, Synthetic, Dpir };
  Kind kind = Kind::Folder;
  std::string text;   ///< the string as given
  std::string path;   ///< dataset root / folder / sharp-image folder / DPIR images
  std::string split;  ///< gopro test|train, reds val|reds4|train, rsblur test|val|train|LIST.txt, cifar10 test|train
  std::string kernels_dir;  ///< dpir: the kernel folder
  // synthetic only
  std::string kernels = "motion";
  std::optional<double> noise255;  ///< unset: SourceOptions::noise255
  int64_t kernel_size = 25;
  int64_t count = 1;
  int64_t crop = 0;
  uint64_t seed = 0;
  std::string blur = "circular";
};

/// Parses a --data string; throws unroll::Error quoting it and naming the bad part.
EvalSource parse_eval_source(const std::string& text);

/// The kind's name as written in --data ("gopro", ...).
std::string source_kind_name(EvalSource::Kind kind);

/// One dataset ready to evaluate.
struct EvalSet {
  std::string label;   ///< short unique name used in reports and file names ("gopro:test")
  std::string source;  ///< the --data string
  Metric metric = Metric::Full;
  std::shared_ptr<const PairDataset> pairs;
  std::string protocol;  ///< one line describing degradation and scoring, for summary.md
};

struct SourceOptions {
  double noise255 = 2.55;        ///< noise of the DPIR protocol and default of synthetic sources (0-255 scale)
  std::optional<Metric> metric;  ///< overrides every source's default metric
};

/// Lists the files of a source (errors: missing folders, unpaired files, bad list lines, ...) and
/// wraps them in a lazily reading PairDataset.
EvalSet open_eval_source(const EvalSource& source, const SourceOptions& options = {});

/// A method as evaluated: a registry name plus its settings, shown under `label`.
struct EvalMethod {
  std::string label;   ///< column name in reports; defaults to `method`
  std::string method;  ///< eval/methods.h registry name
  MethodParams params;
  std::string weights;  ///< checkpoint for learned methods
  std::string prior;    ///< pnp prior
};

struct EvalOptions {
  torch::Device device = torch::kCPU;
  Boundary boundary = Boundary::Circular;  ///< protocol data is circular; linear-blur folders want liu-jia
  int64_t limit = 0;                       ///< cases per dataset (0 = all)
  std::string out_dir;                     ///< where grids and images go ("" = none are written)
  bool save_images = false;                ///< out_dir/images/<dataset>/<method>/<case>.png (8-bit)
  int64_t grids = 3;                       ///< comparison grids for the first N cases of each dataset
  bool progress = true;                    ///< a ProgressLine over cases x methods (stderr)
  bool prefetch = true;                    ///< load case i+1 on a second thread while case i runs
  void validate() const;
};

/// One (case, method) result. status: "ok", "failed" (error says why) or "needs kernel".
struct EvalRow {
  std::string dataset, name, method, status, error;
  double psnr = 0, ssim = 0, score = 0;
  double seconds = 0;         ///< the method's wall time on this image (no loading, no scoring)
  double metric_seconds = 0;  ///< time spent scoring (ECC alignment for rsblur/realblur)
};

struct MethodSummary {
  std::string method;
  int64_t ok = 0, failed = 0, needs_kernel = 0;
  double psnr = 0, ssim = 0, score = 0;  ///< means over the ok images (NaN when none)
  double seconds_per_image = 0;          ///< mean method time over the ok images (NaN when none)
  double seconds_total = 0;              ///< method time summed over all attempts
};

struct DatasetSummary {
  std::string label, source, metric, protocol;
  int64_t cases = 0;          ///< cases evaluated (after --limit)
  int64_t available = 0;      ///< cases the source holds
  int64_t load_failures = 0;  ///< cases that could not be read (every method row says "failed: load: ...")
  double load_seconds = 0;    ///< reading / synthesising the cases (on the prefetch thread when enabled)
  double metric_seconds = 0;
  ImageScores input;  ///< mean scores of the blurred inputs (unaligned "full" metric for rsblur/realblur,
                      ///< as RealBlur's script reports its blur PSNR)
  std::vector<MethodSummary> methods;
  std::vector<std::string> grids;  ///< paths of the comparison grids written, relative to out_dir
};

struct EvalReport {
  std::vector<EvalRow> rows;
  std::vector<DatasetSummary> datasets;
  double wall_seconds = 0;
};

/// Runs every method on every case (a failure is recorded in its row and the run continues).
/// Validates methods (names, weights needed) before the first case.
EvalReport run_evaluation(const std::vector<EvalSet>& sets, const std::vector<EvalMethod>& methods,
                          const EvalOptions& options = {});

/// results.csv: header `dataset,case,method,status,psnr,ssim,score,seconds,metric_seconds,error`,
/// one row per (case, method); numbers empty unless status is ok; fields with commas or quotes quoted.
std::string results_csv(const EvalReport& report);

/// summary.md: per dataset the protocol line, a table (method, PSNR, SSIM, score, s / image, ok, failed,
/// needs kernel; first row the blurred input), timing (loading vs methods vs scoring) and the grids.
std::string summary_markdown(const EvalReport& report, const std::string& command = "");

/// summary.json: {"command", "wall_seconds", "datasets": [{"label", "source", "metric", "protocol",
/// "cases", "available", "load_failures", "load_seconds", "method_seconds", "metric_seconds",
/// "input": {"psnr","ssim","score"}, "methods": [{"method","ok","failed","needs_kernel","psnr","ssim",
/// "score","seconds_per_image","seconds_total"}], "grids": [...]}]}; undefined means are null.
std::string summary_json(const EvalReport& report, const std::string& command = "");

/// Writes results.csv, summary.md and summary.json into `dir` atomically.
void write_eval_outputs(const EvalReport& report, const std::string& dir, const std::string& command = "");

/// A file-name-safe form of a case or dataset name ("GOPR0384/000001.png" -> "GOPR0384_000001").
std::string safe_file_name(const std::string& name);

}  // namespace unroll
