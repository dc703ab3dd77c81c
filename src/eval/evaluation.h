// The evaluation loop of the harness (eval/harness.h): every method of a list x every case of one or
// more datasets (eval/sources.h), each dataset scored under its own protocol (eval/protocol.h Metric),
// with per-image rows, per-method means, loading time kept apart from method time, optional restored
// images and comparison grids.
//
// Non-blind methods run with the true kernel where the source has one (synthetic, dpir, blind, cifar10,
// kernel-carrying folders); elsewhere they are reported as "needs kernel", never silently skipped --
// unless EvalOptions::kernel asks for estimated kernels (`unroll eval --kernel estimate`). The noise
// level handed to methods is the known one (synthetic, dpir, manifests with sigma), else -1 (methods
// estimate it).
#pragma once

#include <torch/torch.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/boundary.h"
#include "eval/blind_deblur.h"
#include "eval/methods.h"
#include "eval/sources.h"

namespace unroll {

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
  std::optional<Boundary> boundary;       ///< unset: each dataset's own (EvalSet::boundary)
  int64_t limit = 0;                       ///< cases per dataset (0 = all)
  std::string out_dir;                     ///< where grids and images go ("" = none are written)
  bool save_images = false;                ///< out_dir/images/<dataset>/<method>/<case>.png (8-bit)
  int64_t grids = 3;                       ///< comparison grids for the first N cases of each dataset
  bool progress = true;                    ///< a ProgressLine over cases x methods (stderr)
  bool prefetch = true;                    ///< load case i+1 on a second thread while case i runs
  /// Kernels of the non-blind methods: the source's own (Given: "needs kernel" where it has none), or
  /// estimated from each blurred image (Estimate / EstimateLocal, eval/blind_deblur.h) once per case,
  /// shared by every non-blind method, its time kept apart (EvalRow::kernel_seconds). Where the source
  /// also knows the true kernel (synthetic, dpir, blind), each non-blind method runs with it as well, for
  /// Levin et al.'s error ratio (EvalRow::error_ratio).
  /// Perturbed: the true kernel made wrong on purpose (perturbed_kernels, level `perturbation`, seed from
  /// the case index, so every level perturbs a case in the same direction), for the robustness protocol;
  /// the error ratio then compares each method with itself given the true kernel. Cases without a true
  /// kernel are "needs kernel".
  KernelSource kernel = KernelSource::Given;
  double perturbation = 0.1;               ///< level of KernelSource::Perturbed, in [0, 1]
  /// > 0: a Given or Perturbed kernel is refined against each blurred image (eval/blind_deblur.h
  /// refine_kernels, this many alternations) once per case before the non-blind methods use it; the
  /// error ratio then measures the refined kernel against the true one.
  int refine_kernel = 0;
  BlindEstimateOptions estimate;
  LocalKernelOptions local;
  void validate() const;
};

/// One (case, method) result. status: "ok", "failed" (error says why) or "needs kernel".
struct EvalRow {
  std::string dataset, name, method, status, error;
  double psnr = 0, ssim = 0, score = 0;
  double seconds = 0;         ///< the method's wall time on this image (no loading, no scoring)
  double metric_seconds = 0;  ///< time spent scoring (ECC alignment for rsblur/realblur)
  double kernel_seconds = 0;  ///< the case's kernel estimate (non-blind methods with an estimated kernel)
  /// Shift-aligned SSD of the result with the estimated kernel over that with the true kernel
  /// (core/metrics.h shift_aligned_error_ratio); NaN unless both were computed.
  double error_ratio = std::numeric_limits<double>::quiet_NaN();
};

struct MethodSummary {
  std::string method;
  int64_t ok = 0, failed = 0, needs_kernel = 0;
  double psnr = 0, ssim = 0, score = 0;  ///< means over the ok images (NaN when none)
  double seconds_per_image = 0;          ///< mean method time over the ok images (NaN when none)
  double seconds_total = 0;              ///< method time summed over all attempts
  int64_t ratios = 0;                    ///< rows with an error ratio
  double error_ratio_median = 0;         ///< NaN when none
  double error_ratio_success = 0;        ///< share of ratios <= 3 (Levin et al.'s success); NaN when none
};

struct DatasetSummary {
  std::string label, source, metric, protocol;
  std::string boundary;       ///< the solvers' boundary handling on this dataset
  int64_t cases = 0;          ///< cases evaluated (after --limit)
  int64_t available = 0;      ///< cases the source holds
  int64_t load_failures = 0;  ///< cases that could not be read (every method row says "failed: load: ...")
  double load_seconds = 0;    ///< reading / synthesising the cases (on the prefetch thread when enabled)
  double metric_seconds = 0;
  int64_t kernel_estimates = 0;  ///< cases whose kernel was estimated (EvalOptions::kernel)
  int64_t kernel_failures = 0;   ///< of which failed (every non-blind row says "failed: kernel estimate: ...")
  double kernel_seconds = 0;     ///< time spent estimating kernels
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

/// A file-name-safe form of a case or dataset name ("GOPR0384/000001.png" -> "GOPR0384_000001").
std::string safe_file_name(const std::string& name);

}  // namespace unroll
