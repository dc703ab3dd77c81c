// The method registry: the single place that knows every deblurring method by name. `unroll deblur`,
// `unroll demo`, `unroll eval` and experiments all go through it, so a method added here appears
// everywhere at once.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/boundary.h"
#include "core/solver.h"
#include "hqs/rotational.h"

namespace unroll {

/// Named numeric parameters of a method ("iters" -> 30). Unknown names are rejected by run_method().
using MethodParams = std::map<std::string, double>;

struct DeblurRequest {
  torch::Tensor blurred;       ///< [N,C,H,W] in [0,1]
  torch::Tensor kernel;        ///< [kh,kw] / [N,1,kh,kw]; undefined for blind methods
  double sigma = -1.0;         ///< noise level on [0,1]; < 0: estimate from the image
  Boundary boundary = Boundary::Circular;
  std::string weights;         ///< checkpoint for learned methods (official .pth files load unchanged)
  std::string prior;           ///< pnp: denoiser prior ("tv" default, "drunet" with weights)
  /// Rotational motion blur (hqs/rotational.h) instead of a kernel: only methods with
  /// Method::rotational accept it; `kernel` and `boundary` are then unused.
  std::optional<RotationalBlurModel> rotation;
  ProgressCallback progress;
};

struct ParamInfo {
  std::string name;
  std::string help;
};

struct Method {
  std::string name;
  std::string description;
  bool needs_kernel = true;
  bool needs_weights = false;
  std::vector<ParamInfo> params;  ///< the parameters it accepts (with defaults explained in help)
  std::function<SolverResult(const DeblurRequest&, const MethodParams&)> run;
  bool rotational = false;        ///< also solves DeblurRequest::rotation (the polar data step)
  /// End-to-end methods: the Deblur model families (priors/model_family.h) whose checkpoints it runs.
  std::vector<std::string> families;
};

/// Every registered method, in display order.
const std::vector<Method>& all_methods();

/// The method called `name`; throws unroll::Error listing the known names otherwise.
const Method& find_method(const std::string& name);

/// The method that runs checkpoints of Deblur model family `family` (priors/model_family.h): the one
/// whose Method::families lists it ("convir-b" -> "convir", "atrous-reds" -> "atrous"). Throws
/// unroll::Error when no method does.
std::string method_for_family(const std::string& family);

/// Names of the classical (model-based, weight-free) methods: wiener, rl, admm, hqs-tv.
std::vector<std::string> classical_method_names();

/// Validates the request and parameters (kernel present when needed, known parameter names) and runs.
SolverResult run_method(const std::string& name, const DeblurRequest& request, const MethodParams& params = {});

/// Path of a model shipped with Unroll (models/<file>): $UNROLL_MODELS/<file>, else the source tree's
/// models/ folder, else ./models/; "" when none exists.
std::string shipped_model(const std::string& file);

/// The noise level a method uses: request.sigma if >= 0, else the Immerkaer estimate of the image.
double effective_sigma(const DeblurRequest& request);

}  // namespace unroll
