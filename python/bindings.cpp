// The compiled half of the Python module `unroll` (unroll._C): thin bindings over the same libraries
// the CLI runs (the method registry, the harness, the data step, image I/O), so Python and the CLI give
// the same numbers. python/unroll/__init__.py wraps these in the documented API; docs/python.md.
//
// Tensors cross without copies through LibTorch's own pybind11 caster (torch/csrc/utils/pybind.h):
// a Python torch.Tensor *is* an at::Tensor here. Inputs are checked (image_arg, kernel_arg) and
// turned contiguous only when they are not; a contiguous float32/float64 tensor on the CPU or a CUDA
// device is used as it is. Errors: unroll::Error -> ValueError (bad input, the CLI's message without
// its "error: " prefix), c10::Error -> RuntimeError (LibTorch's message without its C++ backtrace).
// Long calls release the GIL; Ctrl-C interrupts them at the next progress report.
#include <pybind11/stl.h>
#include <torch/csrc/utils/pybind.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include "core/data_step.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "core/tensor.h"
#include "datasets/degrade.h"
#include "datasets/rotational.h"
#include "core/kernel.h"
#include "eval/blind_deblur.h"
#include "eval/methods.h"
#ifdef UNROLL_WITH_OPENCV
#include "eval/harness.h"
#include "io/image_io.h"
#endif

namespace py = pybind11;

namespace unroll::python {
namespace {

// An image argument as Unroll's functions take it: a finite float32/float64 [H,W], [C,H,W] or [N,C,H,W]
// tensor on the CPU or a CUDA device, detached. A contiguous tensor is returned as it is (same
// storage); a strided or channels-last one as a contiguous copy.
torch::Tensor image_arg(const torch::Tensor& t, const std::string& name) {
  UNROLL_CHECK(t.defined(), name, ": expected a tensor, got an undefined one");
  UNROLL_CHECK(t.device().is_cpu() || t.device().is_cuda(), name, ": a tensor on ", t.device().str(),
               "; Unroll runs on cpu and cuda tensors (use .cpu() or .cuda())");
  const auto type = t.scalar_type();
  if (type != torch::kFloat32 && type != torch::kFloat64) {
    fail(name, ": expected a float32 or float64 tensor in [0, 1], got ", c10::toString(type),
         c10::isIntegralType(type, /*includeBool=*/true) ? " (8-bit pixels: use x.float() / 255)" : " (use x.float())");
  }
  UNROLL_CHECK(t.dim() >= 2 && t.dim() <= 4, name, ": expected shape [H,W], [C,H,W] or [N,C,H,W], got ", t.sizes());
  UNROLL_CHECK(t.numel() > 0, name, ": the tensor is empty (shape ", t.sizes(), ")");
  UNROLL_CHECK(t.size(-1) >= 2 && t.size(-2) >= 2, name, ": an image needs at least 2x2 pixels, got shape ", t.sizes());
  torch::Tensor x = t.detach();
  if (!x.is_contiguous()) x = x.contiguous();
  check_finite(x, name);
  return x;
}

// A kernel argument: float [kh,kw] or [N,1,kh,kw], on the image's device, in the image's dtype.
torch::Tensor kernel_arg(const torch::Tensor& k, const torch::Tensor& like, const std::string& name) {
  UNROLL_CHECK(k.defined(), name, ": expected a tensor, got an undefined one");
  UNROLL_CHECK(k.is_floating_point(), name, ": expected a floating kernel, got ", c10::toString(k.scalar_type()));
  UNROLL_CHECK(k.dim() == 2 || (k.dim() == 4 && k.size(1) == 1), name, ": expected shape [kh,kw] or [N,1,kh,kw], got ",
               k.sizes());
  UNROLL_CHECK(k.device() == like.device(), name, ": the kernel is on ", k.device().str(), ", the image on ",
               like.device().str(), " (move one of them)");
  torch::Tensor out = k.detach().to(like.scalar_type()).contiguous();
  check_finite(out, name);
  UNROLL_CHECK(out.min().item<double>() >= 0 && out.sum().item<double>() > 0, name,
               ": a kernel must be non-negative with a positive sum");
  return out;
}

// The one [kh,kw] kernel that refinement starts from (a kernel_arg): [1,1,kh,kw] as a plane; a batch of
// kernels is refused rather than refined from its first.
torch::Tensor single_kernel(const torch::Tensor& k, const std::string& name) {
  UNROLL_CHECK(k.dim() == 2 || k.size(0) == 1, name, ": refinement starts from one kernel, got ", k.size(0));
  return k.dim() == 4 ? k[0][0] : k;
}

// sigma on the [0,1] scale from the 0-255 `noise` (None: estimated, -1).
double sigma_arg(const std::optional<double>& noise) {
  if (!noise) return -1.0;
  UNROLL_CHECK(std::isfinite(*noise) && *noise >= 0.0 && *noise <= 255.0,
               "noise must be a noise sigma in [0, 255] (0-255 scale, as the CLI's --noise), got ", *noise);
  return *noise / 255.0;
}

// The result in the input's layout ([H,W] in, [H,W] out).
torch::Tensor like_input(torch::Tensor out, const torch::Tensor& in) {
  if (out.dim() != in.dim() && out.numel() == in.numel()) out = out.reshape(in.sizes());
  return out.contiguous();
}

// A progress callback that lets Ctrl-C through: with the GIL taken back, a pending KeyboardInterrupt
// becomes an exception that unwinds the C++ call.
ProgressCallback interruptible() {
  return [](int, int) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  };
}

MethodParams params_arg(const py::dict& params) {
  MethodParams out;
  for (const auto& [key, value] : params) {
    const std::string name = py::str(key);
    if (py::isinstance<py::bool_>(value)) {
      out[name] = value.cast<bool>() ? 1.0 : 0.0;
    } else if (!py::isinstance<py::str>(value) && py::hasattr(value, "__float__")) {
      out[name] =
          py::float_(py::reinterpret_borrow<py::object>(value)).cast<double>();  // int, float, numpy, 0-dim tensors
    } else {
      fail("parameter ", name, ": expected a number, got ", std::string(py::str(py::type::of(value).attr("__name__"))));
    }
  }
  return out;
}

std::optional<RotationalBlurModel> rotation_arg(const py::object& rotation, const torch::Tensor& y) {
  if (rotation.is_none()) return std::nullopt;
  UNROLL_CHECK(py::isinstance<py::dict>(rotation), "rotation: expected a dict (angle or rpm+exposure, centre)");
  const auto d = rotation.cast<py::dict>();
  RotationalBlurModel model;
  const auto batch = as_image_batch(y);
  model.centre_x = (batch.size(3) - 1) / 2.0;
  model.centre_y = (batch.size(2) - 1) / 2.0;
  bool have_angle = false;
  double rpm = -1, exposure = -1;
  for (const auto& [key, value] : d) {
    const std::string name = py::str(key);
    if (name == "angle") {
      model.angle = value.cast<double>() * M_PI / 180.0;
      have_angle = true;
    } else if (name == "rpm") {
      rpm = value.cast<double>();
    } else if (name == "exposure") {
      exposure = value.cast<double>();
    } else if (name == "centre" || name == "center") {
      const auto c = value.cast<std::pair<double, double>>();
      model.centre_x = c.first;
      model.centre_y = c.second;
    } else if (name == "span") {
      const std::string span = py::str(value);
      UNROLL_CHECK(span == "centred" || span == "forward", "rotation: span must be 'centred' or 'forward', got '", span,
                   "'");
      model.span = span == "forward" ? SweepSpan::Forward : SweepSpan::Centred;
    } else if (name == "mask") {
      model.mask = image_arg(value.cast<torch::Tensor>(), "rotation mask").to(y.options());
    } else {
      fail("rotation: unknown key '", name, "' (angle, rpm, exposure, centre, span, mask)");
    }
  }
  UNROLL_CHECK((rpm >= 0) == (exposure >= 0), "rotation: rpm and exposure go together");
  UNROLL_CHECK(have_angle != (rpm >= 0),
               "rotation: give the sweep as angle (degrees) or as rpm and exposure (seconds)");
  if (rpm >= 0) model.angle = rpm_exposure_to_angle(rpm, exposure);
  model.validate();
  return model;
}

struct DeblurArgs {
  torch::Tensor y;
  py::object kernel;
  std::string method;
  std::optional<double> noise;
  std::string boundary;
  std::string weights, prior;
  py::dict params;
  py::object rotation;
  int64_t kernel_size = 0;
  std::optional<std::pair<int64_t, int64_t>> grid;
  int64_t tile = 0, tile_overlap = -1;
  double max_memory = 0;
  int refine_kernel = 0;
};

/// The restored image (like y) and the kernel the method deconvolved with: the estimate (kernel='estimate':
/// [k,k]; 'estimate-local': the tile grid [rows, cols, k, k]), a blind method's own estimate (the blind
/// unrolled network), the given kernel, or None (end-to-end networks, rotational blur).
std::pair<torch::Tensor, py::object> deblur(const DeblurArgs& a) {
  const Method& m = find_method(a.method);
  DeblurRequest req;
  req.blurred = image_arg(a.y, "y");
  req.sigma = sigma_arg(a.noise);
  req.boundary = parse_boundary(a.boundary);
  req.weights = a.weights;
  req.prior = a.prior;
  req.tiles.tile = a.tile;
  req.tiles.overlap = a.tile_overlap;
  req.tiles.max_memory = a.max_memory;
  req.tiles.validate();
  req.rotation = rotation_arg(a.rotation, req.blurred);
  const MethodParams params = params_arg(a.params);
  std::optional<KernelSource> estimate;
  if (py::isinstance<py::str>(a.kernel)) {
    const std::string source = py::str(a.kernel);
    UNROLL_CHECK(source == "estimate" || source == "estimate-local",
                 "kernel: a tensor, None, 'estimate' or "
                 "'estimate-local', got '",
                 source, "'");
    UNROLL_CHECK(m.needs_kernel, "kernel='", source, "' estimates a kernel for a non-blind method; '", m.name,
                 "' is blind and takes none");
    estimate = parse_kernel_source(source);
  } else if (!a.kernel.is_none()) {
    UNROLL_CHECK(m.needs_kernel, "'", m.name, "' is blind: it finds the kernel itself and takes no kernel");
    req.kernel = kernel_arg(a.kernel.cast<torch::Tensor>(), req.blurred, "kernel");
  }
  UNROLL_CHECK(estimate || a.kernel_size == 0, "kernel_size needs kernel='estimate' or 'estimate-local'");
  UNROLL_CHECK(a.refine_kernel >= 0 && a.refine_kernel <= 1000, "refine_kernel must be in [0, 1000] (0 = off), got ",
               a.refine_kernel);
  UNROLL_CHECK(a.refine_kernel == 0 || req.kernel.defined(),
               "refine_kernel needs a kernel tensor (an estimated kernel is refined already)");
  UNROLL_CHECK(!a.grid || estimate == KernelSource::EstimateLocal, "grid needs kernel='estimate-local'");
  UNROLL_CHECK(a.kernel_size == 0 || (a.kernel_size >= 3 && a.kernel_size % 2 == 1),
               "kernel_size must be odd and >= 3 (or 0 = automatic), got ", a.kernel_size);
  if (req.rotation)
    UNROLL_CHECK(a.kernel.is_none(), "kernel does not apply to rotational blur (the blur is the rotation)");
  req.progress = interruptible();
  SolverResult result;
  torch::Tensor used_kernel = req.kernel;
  {
    py::gil_scoped_release release;
    if (estimate || a.refine_kernel > 0) {
      check_method_params(m, params);
      BlindEstimateOptions o;
      o.kernel_size = a.kernel_size;
      o.noise_sigma = req.sigma;
      o.progress = req.progress;
      LocalKernelOptions local;
      if (a.grid) std::tie(local.rows, local.cols) = *a.grid;
      const EstimatedKernels k =
          estimate ? estimate_kernels(req.blurred, *estimate, o, local)
                   : refine_kernels(req.blurred, single_kernel(req.kernel, "kernel"),
                                    KernelSource::Given, a.refine_kernel, o);
      for (const auto& w : k.warnings) warn(w);
      result = deblur_with_kernels(m.name, req, params, k);
      used_kernel = k.grid ? k.grid->kernels.reshape({k.grid->rows, k.grid->cols, k.grid->kernels.size(2),
                                                       k.grid->kernels.size(3)})
                           : k.kernel;
    } else {
      result = run_method(m.name, req, params);
      if (result.kernel.defined()) used_kernel = result.kernel;
    }
  }
  py::object kernel = py::none();
  if (used_kernel.defined()) kernel = py::cast(used_kernel.contiguous());
  return {like_input(result.image, a.y), kernel};
}

torch::Tensor estimate_kernel_py(const torch::Tensor& y, int64_t kernel_size, const std::optional<double>& noise,
                                 bool dark_channel, const std::optional<torch::Tensor>& init, int refine) {
  const torch::Tensor x = image_arg(y, "y");
  UNROLL_CHECK(kernel_size == 0 || (kernel_size >= 3 && kernel_size % 2 == 1),
               "kernel_size must be odd and >= 3 (or 0 = automatic), got ", kernel_size);
  UNROLL_CHECK(refine >= 1 && refine <= 1000, "refine must be in [1, 1000], got ", refine);
  UNROLL_CHECK(!init || (kernel_size == 0 && !dark_channel),
               "init refines one given kernel at its own size: it takes no kernel_size or dark_channel");
  torch::Tensor given;
  if (init) given = kernel_arg(*init, x, "init");
  BlindEstimateOptions o;
  o.kernel_size = kernel_size;
  o.noise_sigma = sigma_arg(noise);
  o.dark_channel = dark_channel;
  o.progress = interruptible();
  py::gil_scoped_release release;
  const EstimatedKernels k =
      init ? refine_kernels(x, single_kernel(given, "init"), KernelSource::Given, refine, o)
           : estimate_kernels(x, KernelSource::Estimate, o);
  for (const auto& w : k.warnings) warn(w);
  return k.kernel.contiguous();
}

py::dict param_info(const ParamInfo& p) {
  py::dict d;
  d["name"] = p.name;
  d["type"] = p.type == ParamType::Real ? "real" : p.type == ParamType::Integer ? "integer" : "switch";
  d["default"] = p.default_value ? py::object(py::float_(*p.default_value)) : py::object(py::none());
  d["derived"] = p.derived;
  d["help"] = p.help;
  d["min"] = p.min;
  d["max"] = p.max;
  d["range"] = p.range_text();
  return d;
}

py::list methods() {
  py::list out;
  for (const Method& m : all_methods()) {
    py::dict d;
    d["name"] = m.name;
    d["summary"] = m.summary;
    d["kind"] = m.kind == MethodKind::Classical ? "classical" : m.kind == MethodKind::Learned ? "learned" : "blind";
    d["needs_kernel"] = m.needs_kernel;
    d["rotational"] = m.rotational;
    d["families"] = m.families;
    d["shipped_model"] = m.shipped_model.empty() ? py::object(py::none()) : py::object(py::str(m.shipped_model));
    d["needs_weights"] = m.needs_weights();
    py::list params;
    for (const auto& p : m.params) params.append(param_info(p));
    d["params"] = params;
    out.append(d);
  }
  return out;
}

torch::Tensor data_step(const torch::Tensor& y, const torch::Tensor& kernel, const torch::Tensor& z,
                        const torch::Tensor& alpha) {
  // Autograd flows through: no detach here (image_arg detaches, so the checks are done by hand).
  UNROLL_CHECK(
      y.is_floating_point() && z.is_floating_point() && kernel.is_floating_point() && alpha.is_floating_point(),
      "data_step: y, kernel, z and alpha must be floating tensors");
  UNROLL_CHECK(y.dim() == 4 && z.sizes() == y.sizes(), "data_step: y and z must be [N,C,H,W] of one shape, got ",
               y.sizes(), " and ", z.sizes());
  UNROLL_CHECK(kernel.dim() == 2 || kernel.dim() == 4, "data_step: kernel must be [kh,kw] or [N,1,kh,kw], got ",
               kernel.sizes());
  UNROLL_CHECK(kernel.size(-1) <= y.size(3) && kernel.size(-2) <= y.size(2), "data_step: the kernel ", kernel.sizes(),
               " is larger than the image ", y.sizes());
  UNROLL_CHECK(y.device() == z.device() && y.device() == kernel.device() && y.device() == alpha.device(),
               "data_step: y, kernel, z and alpha must be on one device");
  const FourierDataStep step(y, kernel.to(y.scalar_type()));
  return step.solve(z.to(y.scalar_type()), alpha.to(y.scalar_type()));
}

torch::Tensor blur(const torch::Tensor& x, const torch::Tensor& k, const std::string& boundary, double noise,
                   uint64_t seed) {
  const torch::Tensor sharp = image_arg(x, "x");
  DegradeOptions o;
  o.blur = parse_blur_mode(boundary);
  o.fixed_sigma(sigma_arg(noise));
  return like_input(degrade(sharp, kernel_arg(k, sharp, "kernel"), o, seed).blurred, x);
}

torch::Tensor rotational_blur_py(const torch::Tensor& x, double angle_deg,
                                 const std::optional<std::pair<double, double>>& centre, const std::string& span,
                                 const std::optional<torch::Tensor>& mask) {
  const torch::Tensor sharp = image_arg(x, "x");
  RotationalBlurOptions o;
  o.angle = angle_deg * M_PI / 180.0;
  const auto b = as_image_batch(sharp);
  o.centre_x = centre ? centre->first : (b.size(3) - 1) / 2.0;
  o.centre_y = centre ? centre->second : (b.size(2) - 1) / 2.0;
  UNROLL_CHECK(span == "centred" || span == "forward", "span must be 'centred' or 'forward', got '", span, "'");
  o.span = span == "forward" ? MotionSpan::Forward : MotionSpan::Centred;
  o.validate();
  py::gil_scoped_release release;
  const torch::Tensor out =
      mask ? rotational_blur(sharp, image_arg(*mask, "mask").to(sharp.options()), o) : rotational_blur(sharp, o);
  return like_input(out, x);
}

// PsnrOptions / SsimOptions from the Python keywords, after checking the pair of images.
template <class Options>
Options metric_options(const torch::Tensor& x, const torch::Tensor& ref, int64_t border, bool y_channel,
                       bool round_8bit, double data_range) {
  UNROLL_CHECK(x.sizes() == ref.sizes(), "x and ref differ in shape: ", x.sizes(), " vs ", ref.sizes());
  UNROLL_CHECK(x.is_floating_point() && ref.is_floating_point(), "x and ref must be floating tensors");
  UNROLL_CHECK(x.device() == ref.device(), "x and ref are on different devices");
  UNROLL_CHECK(border >= 0, "border must be >= 0, got ", border);
  Options o;
  o.border = border;
  o.y_channel = y_channel;
  o.round_8bit = round_8bit;
  o.data_range = data_range;
  return o;
}

double psnr_py(const torch::Tensor& x, const torch::Tensor& ref, int64_t border, bool y_channel, bool round_8bit,
               double data_range) {
  const auto o = metric_options<PsnrOptions>(x, ref, border, y_channel, round_8bit, data_range);
  return psnr(x.detach().to(torch::kFloat64), ref.detach().to(torch::kFloat64), o);
}

torch::Tensor ssim_py(const torch::Tensor& x, const torch::Tensor& ref, int64_t border, bool y_channel, bool round_8bit,
                      double data_range) {
  return ssim(x, ref, metric_options<SsimOptions>(x, ref, border, y_channel, round_8bit, data_range));  // differentiable in x
}

#ifdef UNROLL_WITH_OPENCV
struct EvalArgs {
  std::vector<std::string> data, methods;
  std::map<std::string, py::dict> params;
  std::map<std::string, std::string> weights;
  std::string prior;
  double noise = 2.55;
  int64_t limit = 0;
  std::string out, kernel = "given", boundary, metric, device = "cpu";
  bool save_images = false;
  int64_t grids = 3;
  bool progress = false;
};

// summary.json and results.csv of the run, as text.
std::pair<std::string, std::string> evaluate(const EvalArgs& a) {
  EvalOptions eo;
  eo.device = parse_device(a.device);
  if (!a.boundary.empty()) eo.boundary = parse_boundary(a.boundary);
  UNROLL_CHECK(a.limit >= 0, "limit must be >= 0 (0 = all), got ", a.limit);
  UNROLL_CHECK(a.grids >= 0, "grids must be >= 0, got ", a.grids);
  UNROLL_CHECK(!a.save_images || !a.out.empty(), "save_images needs out");
  eo.limit = a.limit;
  eo.out_dir = a.out;
  eo.grids = a.out.empty() ? 0 : a.grids;
  eo.save_images = a.save_images;
  eo.progress = a.progress;
  eo.kernel = parse_kernel_source(a.kernel);
  UNROLL_CHECK(!a.methods.empty(), "methods: no method given");
  std::vector<EvalMethod> methods;
  for (const auto& n : a.methods) {
    EvalMethod m;
    m.method = find_method(n).name;
    m.label = n;
    if (auto it = a.params.find(n); it != a.params.end()) m.params = params_arg(it->second);
    if (auto it = a.weights.find(n); it != a.weights.end())
      m.weights = it->second;
    else if (auto all = a.weights.find(""); all != a.weights.end())
      m.weights = all->second;
    m.prior = a.prior;
    methods.push_back(m);
  }
  for (const auto& [name, _] : a.params)
    UNROLL_CHECK(std::find(a.methods.begin(), a.methods.end(), name) != a.methods.end(), "params['", name,
                 "']: method '", name, "' is not in methods");
  SourceOptions so;
  so.noise255 = a.noise;
  UNROLL_CHECK(std::isfinite(a.noise) && a.noise >= 0 && a.noise <= 255, "noise must be in [0, 255], got ", a.noise);
  if (!a.metric.empty()) so.metric = parse_metric(a.metric);
  UNROLL_CHECK(!a.data.empty(), "data: no dataset given");
  std::vector<EvalSet> sets;
  for (const auto& d : a.data) sets.push_back(open_eval_source(parse_eval_source(d), so));
  py::gil_scoped_release release;
  const EvalReport report = run_evaluation(sets, methods, eo);
  if (!a.out.empty()) write_eval_outputs(report, a.out, "unroll.eval (Python)");
  return {summary_json(report, "unroll.eval (Python)"), results_csv(report)};
}

#endif  // UNROLL_WITH_OPENCV

// Seconds per call of the C++ registry call itself, timed in C++ (the binding's overhead is the
// Python-side time minus this): the benchmark of docs/python.md.
double time_method_cpp(const torch::Tensor& y, const torch::Tensor& k, const std::string& method, int64_t repeats) {
  DeblurRequest req;
  req.blurred = image_arg(y, "y");
  req.kernel = kernel_arg(k, req.blurred, "kernel");
  req.sigma = 0.01;
  req.boundary = Boundary::Circular;
  UNROLL_CHECK(repeats >= 1, "repeats must be >= 1");
  py::gil_scoped_release release;
  run_method(method, req);  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < repeats; ++i) run_method(method, req);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / static_cast<double>(repeats);
}

}  // namespace
}  // namespace unroll::python

PYBIND11_MODULE(_C, m) {
  using namespace unroll;
  using namespace unroll::python;
  m.doc() = "Unroll's compiled core (use the `unroll` package, not this module)";
  // Not keep_freed_tensor_memory() (core/tensor.h): a library does not retune the malloc of the
  // interpreter it is loaded into.
  // Warnings go to Python's warnings module (UserWarning), not stderr, so notebooks show them.
  set_warning_handler([](const std::string& message) {
    py::gil_scoped_acquire gil;
    if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), 2) < 0) throw py::error_already_set();  // -W error
  });
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what_without_backtrace());
    }
  });

  m.def("methods", &methods);
#ifdef UNROLL_WITH_OPENCV
  m.attr("has_opencv") = true;
#else
  m.attr("has_opencv") = false;
#endif
  m.def(
      "deblur",
      [](const torch::Tensor& y, py::object kernel, const std::string& method, std::optional<double> noise,
         const std::string& boundary, const std::string& weights, const std::string& prior, py::dict params,
         py::object rotation, int64_t kernel_size, std::optional<std::pair<int64_t, int64_t>> grid, int64_t tile,
         int64_t tile_overlap, double max_memory, int refine_kernel) {
        DeblurArgs a{y,
                     std::move(kernel),
                     method,
                     noise,
                     boundary,
                     weights,
                     prior,
                     std::move(params),
                     std::move(rotation),
                     kernel_size,
                     grid,
                     tile,
                     tile_overlap,
                     max_memory,
                     refine_kernel};
        return deblur(a);
      },
      py::arg("y"), py::arg("kernel"), py::arg("method"), py::arg("noise"), py::arg("boundary"), py::arg("weights"),
      py::arg("prior"), py::arg("params"), py::arg("rotation"), py::arg("kernel_size"), py::arg("grid"),
      py::arg("tile"), py::arg("tile_overlap"), py::arg("max_memory"), py::arg("refine_kernel"));
  m.def("estimate_kernel", &estimate_kernel_py, py::arg("y"), py::arg("kernel_size"), py::arg("noise"),
        py::arg("dark_channel"), py::arg("init"), py::arg("refine"));
  m.def(
      "load_model",
      [](const std::string& method, const std::string& weights, const std::string& prior) {
        DeblurRequest req;
        req.weights = weights;
        req.prior = prior;
        py::gil_scoped_release release;
        load_method_model(method, req);
      },
      py::arg("method"), py::arg("weights"), py::arg("prior"));
  m.def("data_step", &data_step, py::arg("y"), py::arg("kernel"), py::arg("z"), py::arg("alpha"));
  m.def("blur", &blur, py::arg("x"), py::arg("kernel"), py::arg("boundary"), py::arg("noise"), py::arg("seed"));
  m.def("rotational_blur", &rotational_blur_py, py::arg("x"), py::arg("angle"), py::arg("centre"), py::arg("span"),
        py::arg("mask"));
  m.def("psnr", &psnr_py, py::arg("x"), py::arg("ref"), py::arg("border"), py::arg("y_channel"), py::arg("round_8bit"),
        py::arg("data_range"));
  m.def("ssim", &ssim_py, py::arg("x"), py::arg("ref"), py::arg("border"), py::arg("y_channel"), py::arg("round_8bit"),
        py::arg("data_range"));
  m.def("estimate_noise", [](const torch::Tensor& y) {
    return estimate_noise_sigma(as_image_batch(image_arg(y, "y"))).mean().item<double>() * 255.0;
  });
  m.def("as_image", [](const torch::Tensor& t) { return image_arg(t, "x"); });
#ifdef UNROLL_WITH_OPENCV
  m.def(
      "read_image",
      [](const std::string& path, bool grey, bool rgb) {
        ImageReadOptions o;
        o.grey = grey;
        o.rgb = rgb;
        return read_image(path, o);
      },
      py::arg("path"), py::arg("grey"), py::arg("rgb"));
  m.def(
      "write_image",
      [](const std::string& path, const torch::Tensor& x, int bits) {
        write_image(path, image_arg(x, "x").cpu(), bits);
      },
      py::arg("path"), py::arg("x"), py::arg("bits"));
  m.def(
      "read_kernel", [](const std::string& path) { return read_kernel(path); }, py::arg("path"));
  m.def(
      "evaluate",
      [](std::vector<std::string> data, std::vector<std::string> methods, std::map<std::string, py::dict> params,
         std::map<std::string, std::string> weights, std::string prior, double noise, int64_t limit, std::string out,
         std::string kernel, std::string boundary, std::string metric, std::string device, bool save_images,
         int64_t grids, bool progress) {
        EvalArgs a{std::move(data),
                   std::move(methods),
                   std::move(params),
                   std::move(weights),
                   std::move(prior),
                   noise,
                   limit,
                   std::move(out),
                   std::move(kernel),
                   std::move(boundary),
                   std::move(metric),
                   std::move(device),
                   save_images,
                   grids,
                   progress};
        return evaluate(a);
      },
      py::arg("data"), py::arg("methods"), py::arg("params"), py::arg("weights"), py::arg("prior"), py::arg("noise"),
      py::arg("limit"), py::arg("out"), py::arg("kernel"), py::arg("boundary"), py::arg("metric"), py::arg("device"),
      py::arg("save_images"), py::arg("grids"), py::arg("progress"));
#else
  // Built without OpenCV (a machine with a pip torch only): no image files and no harness; kernels as
  // text (CSV) still load. Each missing function says why, as a ValueError.
  auto without_opencv = [](const char* what) {
    return [what](py::args, py::kwargs) -> py::object {
      throw unroll::Error(std::string(what) +
                          " needs OpenCV, which this build of unroll was made without (image files and the "
                          "evaluation harness); rebuild with OpenCV's development files");
    };
  };
  m.def("read_image", without_opencv("read_image"));
  m.def("write_image", without_opencv("write_image"));
  m.def("evaluate", without_opencv("eval"));
  m.def(
      "read_kernel", [](const std::string& path) { return read_kernel_text(path); }, py::arg("path"));
#endif
  m.def("_time_method_cpp", &time_method_cpp, py::arg("y"), py::arg("kernel"), py::arg("method"), py::arg("repeats"));
}
