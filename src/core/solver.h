// Types shared by every iterative solver (classical and learned).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

namespace unroll {

/// Why a solver stopped.
enum class StopReason {
  MaxIterations,  ///< ran every iteration it was allowed
  Tolerance,      ///< the residual fell below the tolerance
  ScheduleEnd,    ///< a fixed continuation / noise schedule ran to its end (HQS-TV, PnP)
  ClosedForm,     ///< no iterations: one closed-form solve (Wiener, the polar Wiener filter)
  Network,        ///< one pass of a network (the unrolled and end-to-end networks)
};

/// The stop reason's name as printed and written in reports: "max_iterations", "tolerance",
/// "schedule_end", "closed_form", "network".
std::string stop_reason_name(StopReason reason);

/// What a solver returns.
struct SolverResult {
  torch::Tensor image;           ///< restored image, [N,C,H,W] like the input
  int iterations = 0;            ///< iterations actually run
  double residual = 0.0;         ///< final relative change (or the solver's own residual, documented there)
  StopReason stop_reason = StopReason::MaxIterations;
  std::string message;           ///< optional detail for the user (e.g. a fallback taken); empty when none
  torch::Tensor kernel;          ///< the [k,k] kernel a blind method estimated, when it does (else undefined)

  /// stop_reason_name(stop_reason), then ": message" when there is one.
  std::string stop_text() const;
};

/// Called after each iteration with (iterations done, iterations planned).
using ProgressCallback = std::function<void(int done, int total)>;

}  // namespace unroll
