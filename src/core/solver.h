// Types shared by every iterative solver (classical and learned).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

namespace unroll {

/// What an iterative solver returns.
struct SolverResult {
  torch::Tensor image;           ///< restored image, [N,C,H,W] like the input
  int iterations = 0;            ///< iterations actually run
  double residual = 0.0;         ///< final relative change (or the solver's own residual, documented there)
  std::string stop_reason;       ///< "max_iterations", "tolerance", "schedule_end", ...
};

/// Called after each iteration with (iterations done, iterations planned).
using ProgressCallback = std::function<void(int done, int total)>;

}  // namespace unroll
