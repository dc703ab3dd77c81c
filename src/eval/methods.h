// The method registry: the single place that knows every deblurring method. Each method declares its
// name, a summary, its parameters (name, type, default, valid range, help), what it needs (a kernel,
// weights), whether it is blind, which blur models it solves and which model families it runs, as named
// fields. `unroll deblur`, `unroll eval`, experiments, the demo, `--help` and the README's method list
// (`unroll methods --markdown`) all read it, so a method added here appears everywhere at once.
//
// Adding a method: one `Method` in method_table.cpp (its parameters, defaults and run function; the
// noise-to-parameter calibration belongs in the solver's header, beside default_tv_lambda).
//
// Noise rule: a method that needs the noise level reads effective_sigma(request): the given level
// (`--noise`), else the estimate of the image (core/noise.h estimate_noise_sigma). Wiener is the one
// method that, without a given level, estimates its whole noise-to-signal ratio from the image instead
// (classic/wiener.h default_wiener_nsr). The learned non-blind methods take `model_noise`: they are told
// that level raised by the model error their kernel leaves (classic/model_error.h; unrolled and pnp by
// default), measured against DeblurRequest::pixel_sigma where it is set.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "classic/model_error.h"
#include "core/boundary.h"
#include "core/solver.h"
#include "eval/tiling.h"
#include "hqs/rotational.h"

namespace unroll {

/// Named numeric parameters of a method ("iters" -> 30). Unknown names, values of the wrong type and
/// values outside the declared range are rejected by run_method() (check_method_params).
using MethodParams = std::map<std::string, double>;

struct DeblurRequest {
  torch::Tensor blurred;       ///< [N,C,H,W] in [0,1]
  torch::Tensor kernel;        ///< [kh,kw] / [N,1,kh,kw]; undefined for blind methods
  double sigma = -1.0;         ///< noise level on [0,1]; < 0: estimate from the image
  /// The noise actually in the pixels, where `sigma` was raised above it on purpose (the floor after an
  /// estimated kernel, eval/blind_deblur.h); < 0: `sigma` is the pixel noise. Only the model-error
  /// measurement reads it (model_noise, classic/model_error.h), which must compare the residual with
  /// the real noise, not with an allowance for the error it measures.
  double pixel_sigma = -1.0;
  /// The kernel was estimated from the image (eval/blind_deblur.h), not given: the hedge of the learned
  /// methods (classic/model_error.h hedge_share) is then off unless asked for (measured not to help).
  bool kernel_estimated = false;
  /// The model error of the whole image (without its fit), when a tiled run measured it once
  /// (eval/tiling.h): every tile is then told the same level and hedged by the same share.
  std::optional<ModelError> model_error;
  Boundary boundary = Boundary::Circular;
  std::string weights;         ///< checkpoint for learned methods (official .pth files load unchanged)
  std::string prior;           ///< pnp: denoiser prior ("tv" default, "drunet" with weights)
  /// Rotational motion blur (hqs/rotational.h) instead of a kernel: only methods with
  /// Method::rotational accept it; `kernel` and `boundary` are then unused.
  std::optional<RotationalBlurModel> rotation;
  /// Tiling (eval/tiling.h): automatic by default, when the method's memory estimate for the whole
  /// image exceeds the budget.
  TileOptions tiles;
  ProgressCallback progress;
};

enum class ParamType {
  Real,
  Integer,
  Switch,  ///< 0 or 1
};

/// One parameter of a method.
struct ParamInfo {
  std::string name;
  ParamType type = ParamType::Real;
  /// The value used when the parameter is not given; unset when the method derives it at run time
  /// (from the noise level, another parameter, ...), which `derived` then says in words.
  std::optional<double> default_value;
  std::string derived;
  std::string help;
  double min = -std::numeric_limits<double>::infinity();  ///< valid range, inclusive ...
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;  ///< ... unless exclusive (value > min)
  bool max_exclusive = false;
  /// Also `unroll deblur --NAME VALUE` (a dedicated flag, an alias of `--param NAME=VALUE`).
  bool flag = false;

  /// "default 30", "default: from the noise level", ...
  std::string default_text() const;
  /// "must be > 0", "must be an integer in [1, 1000]", "must be 0 or 1", or "" when any number goes.
  std::string range_text() const;
};

/// The declared parameters with their values: given ones, else the declared defaults. The run
/// functions read their parameters through it, so a default lives in one place (the declaration).
class MethodArgs {
 public:
  MethodArgs(const std::vector<ParamInfo>& declared, const MethodParams& given) : declared_(declared), given_(given) {}
  /// The given value, else the declared default; throws when neither exists (a derived parameter: use given()).
  double real(const std::string& name) const;
  int integer(const std::string& name) const;
  bool on(const std::string& name) const;  ///< a Switch
  /// The given value, if any.
  std::optional<double> given(const std::string& name) const;

 private:
  const ParamInfo& info(const std::string& name) const;
  const std::vector<ParamInfo>& declared_;
  const MethodParams& given_;
};

enum class MethodKind {
  Classical,  ///< model-based, no weights
  Learned,    ///< non-blind, learned prior or unrolled network (needs a kernel)
  Blind,      ///< end-to-end network: no kernel
};

struct Method {
  std::string name;
  std::string summary;
  MethodKind kind = MethodKind::Classical;
  bool needs_kernel = true;       ///< uniform blur needs `kernel` (false: blind)
  bool rotational = false;        ///< also solves DeblurRequest::rotation (the polar data step)
  /// A blind method that estimates a kernel and, given DeblurRequest::kernel, runs with it as an oracle
  /// instead (unrolled-blind: the true kernel, no kernel steps). The harness uses that run for Levin's
  /// error ratio of the method's own kernel; every other blind method ignores a request's kernel.
  bool oracle_kernel = false;
  /// Model families it runs (priors/model_family.h names: Denoiser families for pnp / unrolled, Deblur
  /// families for the blind networks).
  std::vector<std::string> families;
  std::string shipped_model;      ///< models/<file> used when --weights is absent ("" = none)
  bool weights_required = false;  ///< needs --weights even when the shipped model exists
  std::vector<ParamInfo> params;  ///< the parameters it accepts, in help order
  /// Memory model for tiling (eval/tiling.h): peak resident bytes = memory_base + bytes_per_pixel x
  /// pixels of an RGB image, measured (method_table.cpp says how).
  double memory_base = 0;
  double bytes_per_pixel = 0;
  std::function<SolverResult(const DeblurRequest&, const MethodArgs&)> run;
  /// Loads (into the registry's cache) the model `run` would use for a request with these weights /
  /// prior, so a missing or corrupt checkpoint fails at load time; unset for methods without a model.
  std::function<void(const DeblurRequest&)> load;

  /// True when it cannot run without --weights here: weights_required, or a learned method whose
  /// shipped model is absent.
  bool needs_weights() const;
  /// The parameter called `name`, or null.
  const ParamInfo* param(const std::string& name) const;
};

/// Every registered method, in display order.
const std::vector<Method>& all_methods();

/// The method called `name`; throws unroll::Error listing the known names otherwise.
const Method& find_method(const std::string& name);

/// The method that runs checkpoints of Deblur model family `family` (priors/model_family.h): the one
/// whose Method::families lists it ("convir-b" -> "convir", "atrous-reds" -> "atrous"). Throws
/// unroll::Error when no blind method does.
std::string method_for_family(const std::string& family);

/// Names of the registered methods of `kind`, in display order.
std::vector<std::string> method_names(MethodKind kind);
/// Names of the classical (model-based, weight-free) methods: wiener, rl, admm, hqs-tv.
std::vector<std::string> classical_method_names();

/// Checks `params` against the method's declaration: known names (the error lists the accepted ones),
/// finite values of the declared type within the declared range. `what` prefixes messages (default:
/// the method's name).
void check_method_params(const Method& method, const MethodParams& params, const std::string& what = "");

/// Validates the request and parameters (kernel present when needed, check_method_params) and runs.
SolverResult run_method(const std::string& name, const DeblurRequest& request, const MethodParams& params = {});

/// Loads and caches the model that method `name` runs for `request` (request.weights, request.prior;
/// the image and kernel are not used), so the first image does not pay for it and a bad checkpoint
/// fails here with the loader's message. Methods without a model only check the request's weights.
/// The Python module's load_model() is this.
void load_method_model(const std::string& name, const DeblurRequest& request);

/// Path of a model shipped with Unroll (models/<file>): $UNROLL_MODELS/<file>, else the source tree's
/// models/ folder, else ./models/; "" when none exists.
std::string shipped_model(const std::string& file);

/// The noise level a method uses: request.sigma if >= 0, else the Immerkaer estimate of the image.
double effective_sigma(const DeblurRequest& request);
/// The noise actually in the pixels: DeblurRequest::pixel_sigma where it is set, else effective_sigma.
/// What the model-error measurement (classic/model_error.h) compares the residual with.
double pixel_noise_sigma(const DeblurRequest& request);

/// Text generated from the registry. method_help(): the methods and their parameters for `--help`
/// (one block per method: name, summary, needs, each parameter with its default, range and help).
/// methods_markdown(): the same as a Markdown list (the README's method list, between its
/// `<!-- methods -->` markers). flag_help(name): the help of a dedicated flag (`--iters`), naming the
/// methods that take it.
std::string method_help();
std::string methods_markdown();
std::string flag_help(const std::string& param_name);
/// The parameter names that are also dedicated `unroll deblur` flags (ParamInfo::flag), sorted.
std::vector<std::string> flag_param_names();

}  // namespace unroll
