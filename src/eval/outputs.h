// The files of an evaluation (eval/evaluation.h EvalReport): results.csv, summary.md, summary.json.
// Comparison grids and restored images are written by the loop as it goes.
#pragma once

#include <string>

#include "eval/evaluation.h"

namespace unroll {

/// results.csv: header `dataset,case,method,status,psnr,ssim,score,seconds,metric_seconds,kernel_seconds,error_ratio,error`,
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

}  // namespace unroll
