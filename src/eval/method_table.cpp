// Every deblurring method, declared once (eval/methods.h): what it is, what it needs, its parameters
// with their defaults and ranges, and how it runs. Noise-dependent defaults come from the calibration
// functions in the solvers' headers (default_wiener_nsr, default_tv_lambda, default_hqs_lambda,
// default_rotational_wiener_nsr).
#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "classic/admm_tv.h"
#include "classic/hqs_tv.h"
#include "classic/model_error.h"
#include "classic/richardson_lucy.h"
#include "classic/wiener.h"
#include "core/error.h"
#include "core/tensor.h"
#include "eval/methods.h"
#include "hqs/blind_unrolled_net.h"
#include "hqs/pnp.h"
#include "hqs/unrolled_net.h"
#include "priors/model_family.h"
#include "priors/prior.h"
#include "priors/resunet.h"
#include "priors/tv_prox.h"

namespace unroll {
namespace {

// Learned models are loaded once per checkpoint path and reused (evaluation calls a method per image).
template <class T, class Load>
T cached(const std::string& key, Load load) {
  static std::mutex mutex;
  static std::map<std::string, T> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, load()).first;
  return it->second;
}

PriorPtr pnp_prior(const DeblurRequest& r) {
  // Default: the shipped denoiser (models/denoiser_small.pth) when present, else the TV prior.
  if (r.prior.empty() && r.weights.empty()) {
    const std::string shipped = shipped_model("denoiser_small.pth");
    if (!shipped.empty()) {
      return cached<PriorPtr>("shipped:" + shipped, [&] {
        auto p = load_resunet(shipped, ResUNetPadding::Replicate);
        p->eval();
        use_channels_last(*p);
        return PriorPtr(p);
      });
    }
  }
  const std::string name = r.prior.empty() ? (r.weights.empty() ? "tv" : "drunet") : r.prior;
  // Official DRUNet checkpoints run unpadded (as DPIR runs them); any Denoiser family of
  // priors/model_family.h by its name.
  const ModelFamily* family = name == "drunet" ? nullptr : lookup_model_family(name, ModelRole::Denoiser);
  if (name != "drunet" && family == nullptr) {
    std::string known = "drunet";
    for (const auto& f : model_family_names(ModelRole::Denoiser)) known += ", " + f;
    fail("pnp: unknown prior '", name, "' (", known, ")");
  }
  if (family != nullptr && !family->load_prior) {
    UNROLL_CHECK(r.weights.empty(), "pnp: the ", name, " prior takes no weights");
    return cached<PriorPtr>(name, [&] { return family->make_prior(ModelBuild{}); });
  }
  UNROLL_CHECK(!r.weights.empty(), "pnp: prior '", name, "' needs --weights (",
               family == nullptr ? "e.g. drunet_color.pth" : "a denoiser checkpoint", ")");
  return cached<PriorPtr>(name + ":" + r.weights, [&] {
    PriorPtr p =
        family == nullptr ? PriorPtr(load_resunet(r.weights, ResUNetPadding::None)) : family->load_prior(r.weights);
    p->eval();
    // NHWC convolutions for ResUNet priors (core/tensor.h); other priors reshape feature maps and stay NCHW.
    if (std::dynamic_pointer_cast<ResUNet>(p)) use_channels_last(*p);
    return p;
  });
}

// A network trained on `model_channels` image channels run on an image of another count: a grey image
// through an RGB model runs as three equal channels and is averaged back; an RGB image through a grey
// model runs channel by channel (the channels folded into the batch). 0 = the model takes any count.
// Equal channels carry the same noise: an RGB model, trained on independent noise of level sigma in each
// channel, sees sqrt(3) times the noise it expects in what the channels share, so it is given sigma *
// sqrt(C) (measured on Set12 x Levin at 2.55/255: +2.5 dB for pnp and unrolled; docs/reliability.md).
template <class Run>
SolverResult on_model_channels(const std::string& method, const DeblurRequest& r, int64_t model_channels, Run run) {
  const auto y = as_image_batch(r.blurred);
  const int64_t n = y.size(0), c = y.size(1), h = y.size(2), w = y.size(3);
  if (model_channels == 0 || c == model_channels) return run(r);
  DeblurRequest adapted = r;
  SolverResult res;
  if (c == 1) {
    adapted.blurred = y.expand({n, model_channels, h, w}).contiguous();
    adapted.sigma = effective_sigma(r) * std::sqrt(static_cast<double>(model_channels));
    res = run(adapted);
    res.image = as_image_batch(res.image).mean(1, true);
  } else if (model_channels == 1) {
    adapted.blurred = y.reshape({n * c, 1, h, w});
    if (r.kernel.defined() && r.kernel.dim() == 4 && r.kernel.size(0) > 1)
      adapted.kernel = r.kernel.repeat_interleave(c, 0);
    res = run(adapted);
    res.image = as_image_batch(res.image).reshape({n, c, h, w});
  } else {
    fail(method, ": the model takes ", model_channels, "-channel images, the input has ", c, " channels");
  }
  if (r.blurred.dim() == 3) res.image = res.image.squeeze(0);
  if (r.blurred.dim() == 2) res.image = res.image.squeeze(0).squeeze(0);
  return res;
}

UnrolledNet cached_unrolled_net(const std::string& path) {
  return cached<UnrolledNet>("unrolled:" + path, [&] {
    auto n = load_unrolled_net(path);
    n->eval();
    // NHWC convolutions for the ResUNet prior (core/tensor.h); other priors reshape feature maps and stay NCHW.
    if (std::dynamic_pointer_cast<ResUNet>(n->prior(0))) use_channels_last(*n);
    return n;
  });
}

// One pass of an unrolled network on the request's observation, extended for the request's boundary
// like every FFT solver (core/boundary.h) and cropped back. With `passes` > 1 (a self-ensemble), the mean
// of that many passes on the flipped / rotated observation and kernel (hqs/pnp.h augment), each
// transformed back: 2 = identity and the half turn, 4 = the four transforms that keep the image's
// orientation (identity, the two flips, the half turn), 8 = all of them. Kernels are zero-padded to odd
// sides first so that their centre maps onto itself. `alternate` switches the network's per-iteration
// transform alternation (UnrolledNetOptions::alternate_transforms) for this call.
SolverResult run_unrolled_on(UnrolledNet net, const DeblurRequest& r, int passes, bool alternate) {
  static const std::map<int, std::vector<int>> kModes = {
      {1, {0}}, {2, {0, 6}}, {4, {0, 2, 4, 6}}, {8, {0, 1, 2, 3, 4, 5, 6, 7}}};
  const auto modes = kModes.find(passes);
  UNROLL_CHECK(modes != kModes.end(), "unrolled: passes must be 1, 2, 4 or 8, got ", passes);
  net->to(r.blurred.device(), r.blurred.scalar_type());
  net->set_alternate_transforms(alternate);
  torch::NoGradGuard no_grad;
  if (r.rotation) {
    UNROLL_CHECK(passes == 1, "unrolled: a self-ensemble (passes > 1) is not available for rotational blur");
    return rotational_unrolled(net, r.blurred, *r.rotation, effective_sigma(r));
  }
  auto y = as_image_batch(r.blurred);
  auto k = as_kernel_batch(r.kernel).to(y.options());
  if (k.size(0) == 1 && y.size(0) > 1) k = k.expand({y.size(0), 1, k.size(2), k.size(3)});
  auto sigma = torch::full({y.size(0), 1, 1, 1}, effective_sigma(r), y.options());
  auto pass = [&](const torch::Tensor& yy, const torch::Tensor& kk) {
    const Extended ext = extend_for_deconvolution(yy, kk, r.boundary);
    return ext.crop(net->forward(ext.image, kk, sigma));
  };
  SolverResult res;
  if (passes == 1) {
    res.image = pass(y, k);
  } else {
    const auto odd = torch::nn::functional::pad(
        k, torch::nn::functional::PadFuncOptions({0, 1 - k.size(3) % 2, 0, 1 - k.size(2) % 2}));
    res.image = torch::zeros_like(y);
    for (int mode : modes->second)
      res.image += inverse_augment(pass(augment(y, mode), augment(odd, mode).contiguous()), mode);
    res.image /= static_cast<double>(passes);
  }
  if (r.blurred.dim() == 3) res.image = res.image.squeeze(0);
  if (r.blurred.dim() == 2) res.image = res.image.squeeze(0).squeeze(0);
  res.iterations = net->options().iterations;
  res.stop_reason = StopReason::Network;
  return res;
}

// How a learned non-blind method treats the model error its kernel leaves in the observation
// (classic/model_error.h). `scale` (model_noise) raises the noise level it is told, so a wrong or
// estimated kernel is regularised like extra noise and an exact one is left alone; `hedge` is the largest
// share of the measuring HQS-TV fit averaged into its result (hedge_share). 0 = off. Measured before the
// channel adaptation (on_model_channels scales the result for a grey image through an RGB model like any
// noise level), against the pixel noise (DeblurRequest::pixel_sigma). Rotational blur is not measured.
struct ModelErrorUse {
  double scale = 0.0;
  double hedge = 0.0;
};

bool measures_model_error(const DeblurRequest& r, const ModelErrorUse& use) {
  return (use.scale != 0.0 || use.hedge != 0.0) && !r.rotation && r.kernel.defined();
}

// `run` on one image (or a batch measured as one) under `use`: told the raised noise level, its result
// mixed with the fit.
template <class Run>
SolverResult run_with_model_error(const DeblurRequest& r, const ModelErrorUse& use, Run run) {
  if (!measures_model_error(r, use)) return run(r);
  const double told = effective_sigma(r), pixel = r.pixel_sigma >= 0.0 ? r.pixel_sigma : told;
  const auto error = r.model_error ? *r.model_error : measure_model_error(r.blurred, r.kernel, pixel, r.boundary);
  DeblurRequest q = r;
  q.sigma = model_error_sigma(told, error, use.scale);
  auto res = run(q);
  const double share = hedge_share(error, use.hedge);
  if (share > 0.0) {
    // The fit the hqs-tv method gives this image: the measuring one where it is that.
    auto fit = error.fit;
    if (!fit.defined() || error.windowed || pixel != told) {
      HqsTvOptions tv;
      tv.lambda = default_hqs_lambda(told);
      tv.boundary = r.boundary;
      fit = hqs_tv(r.blurred, r.kernel, tv).image;
    }
    res.image = (1.0 - share) * res.image + share * fit.reshape(res.image.sizes()).to(res.image.options());
  }
  return res;
}

// `run` under `use` (run_with_model_error). The model error is one figure per image, so a batch runs
// image by image when it is measured: each image is told its own noise level and gets the result it
// would get alone.
template <class Run>
SolverResult with_model_error_per_image(const DeblurRequest& r, const ModelErrorUse& use, Run run) {
  const auto y = as_image_batch(r.blurred);
  if (y.size(0) == 1 || !measures_model_error(r, use)) return run_with_model_error(r, use, run);
  const bool kernel_per_image = r.kernel.dim() == 4 && r.kernel.size(0) > 1;
  std::vector<torch::Tensor> images;
  SolverResult res;
  for (int64_t i = 0; i < y.size(0); ++i) {
    DeblurRequest one = r;
    one.blurred = y.narrow(0, i, 1);
    if (kernel_per_image) one.kernel = r.kernel.narrow(0, i, 1);
    res = run_with_model_error(one, use, run);
    images.push_back(as_image_batch(res.image));
  }
  res.image = torch::cat(images, 0);
  return res;
}

// An estimated kernel is not hedged unless asked for (DeblurRequest::kernel_estimated).
ModelErrorUse model_error_use(const MethodArgs& a, const DeblurRequest& r) {
  ModelErrorUse use;
  use.scale = a.real("model_noise");
  use.hedge = r.kernel_estimated ? a.given("hedge").value_or(0.0) : a.real("hedge");
  return use;
}

SolverResult run_unrolled(UnrolledNet net, const DeblurRequest& r, int passes, bool alternate,
                          const ModelErrorUse& use) {
  return with_model_error_per_image(r, use, [&](const DeblurRequest& m) {
    return on_model_channels("unrolled", m, net->channels(),
                             [&](const DeblurRequest& q) { return run_unrolled_on(net, q, passes, alternate); });
  });
}

// Parameter declarations, in the order help lists them.
ParamInfo real(std::string name, std::optional<double> fixed, std::string help) {
  ParamInfo p;
  p.name = std::move(name);
  p.default_value = fixed;
  p.help = std::move(help);
  return p;
}
ParamInfo derived(std::string name, std::string how, std::string help) {
  ParamInfo p = real(std::move(name), std::nullopt, std::move(help));
  p.derived = std::move(how);
  return p;
}
ParamInfo integer(std::string name, double fixed, std::string help) {
  ParamInfo p = real(std::move(name), fixed, std::move(help));
  p.type = ParamType::Integer;
  return p;
}
ParamInfo on_off(std::string name, bool fixed, std::string help) {
  ParamInfo p = real(std::move(name), fixed ? 1.0 : 0.0, std::move(help));
  p.type = ParamType::Switch;
  return p;
}
ParamInfo at_least(ParamInfo p, double min, bool exclusive = false) {
  p.min = min;
  p.min_exclusive = exclusive;
  return p;
}
ParamInfo within(ParamInfo p, double min, double max, bool min_exclusive = false, bool max_exclusive = false) {
  p = at_least(std::move(p), min, min_exclusive);
  p.max = max;
  p.max_exclusive = max_exclusive;
  return p;
}
ParamInfo flag(ParamInfo p) {
  p.flag = true;
  return p;
}

// A network method's checkpoint: --weights, else its shipped models/`shipped_file` (none when empty).
std::string weights_path(const DeblurRequest& r, const std::string& name, const std::string& shipped_file) {
  std::string path = r.weights;
  if (path.empty() && !shipped_file.empty()) path = shipped_model(shipped_file);
  UNROLL_CHECK(!path.empty(), name, ": no shipped model (models/", shipped_file, ") was found; pass --weights");
  return path;
}

// Whether the unrolled-network methods alternate transforms by default (UnrolledNetOptions::
// alternate_transforms): Unroll's network does; USRNet runs as published.
constexpr bool kUnrolledAlternates = true;
constexpr bool kUsrnetAlternates = false;
// The model-error handling (run_with_model_error) of the shipped unrolled network and of pnp, measured best
// on the perturbed-kernel protocol (docs/blind.md): noise scale 20 and hedge 0.8 for both; off for the
// published and the fine-tuned-on-wrong-kernels checkpoints.
constexpr ModelErrorUse kUnrolledModelError{20.0, 0.8};
constexpr ModelErrorUse kModelErrorOff{0.0, 0.0};

// Inference parameters shared by the unrolled-network methods.
// `off_note`: why the default is off, when it is.
// model_noise: the scale of the model-error noise, 0 = the pixel noise only; hedge: the largest share of
// the HQS-TV fit in the result (run_with_model_error).
std::vector<ParamInfo> model_error_params(const ModelErrorUse& defaults) {
  return {
      at_least(real("model_noise", defaults.scale,
                    "treat the model error the kernel leaves as noise: the method is told sqrt(sigma^2 + "
                    "(model_noise x e)^2), e = what an HQS-TV fit with the kernel leaves beyond an exact kernel's "
                    "residual (classic/model_error.h; 0 for an exact kernel); 0 = the pixel noise only"),
               0),
      within(real("hedge", defaults.hedge,
                  "average the HQS-TV fit that measured the model error into the result, with a share of up to "
                  "hedge where the kernel is slightly wrong (its fit residual just above an exact kernel's) and "
                  "half of that where it is far off (classic/model_error.h hedge_share); 0 where it fits like an exact "
                  "kernel; 0 = the network alone; default 0 after --kernel estimate (measured not to help there)"),
             0, 1)};
}

std::vector<ParamInfo> unrolled_params(bool alternate_default, const ModelErrorUse& model_error,
                                       const char* off_note = " (off: as published)") {
  std::vector<ParamInfo> params = {
      within(integer("passes", 1, "self-ensemble: mean of 1, 2, 4 or 8 flip/rotation passes, each costing one pass"), 1,
             8),
      on_off("ensemble", false, "1 = passes=8 (the x8 self-ensemble)"),
      on_off("alternate", alternate_default,
             std::string("1 = iteration k's prior works on the k mod 8-th flip/rotation of its input, at no extra "
                         "cost") +
                 (alternate_default ? "" : off_note))};
  for (auto& p : model_error_params(model_error)) params.push_back(std::move(p));
  return params;
}

int unrolled_passes(const MethodArgs& a) {
  if (!a.on("ensemble")) return a.integer("passes");
  const double passes = a.given("passes").value_or(8.0);
  UNROLL_CHECK(passes == 8.0, "unrolled: ensemble=1 means passes=8, got passes=", passes);
  return 8;
}

Method wiener_method() {
  Method m;
  m.name = "wiener";
  m.summary = "Wiener / regularised least squares, closed form (one FFT round trip)";
  m.rotational = true;
  m.params = {flag(at_least(derived("nsr",
                                    "from --noise (default_wiener_nsr), else by generalised cross-validation "
                                    "(gcv_wiener_nsr; identity regulariser: estimated from the image)",
                                    "noise-to-signal ratio (balance)"),
                            0)),
              on_off("laplacian", true, "1 = Laplacian regulariser like skimage, 0 = identity (classic Wiener)")};
  m.run = [](const DeblurRequest& r, const MethodArgs& a) {
    if (r.rotation) {
      return rotational_wiener(r.blurred, *r.rotation,
                               a.given("nsr").value_or(default_rotational_wiener_nsr(*r.rotation, effective_sigma(r))));
    }
    WienerOptions o;
    o.regularizer = a.on("laplacian") ? WienerOptions::Regularizer::Laplacian : WienerOptions::Regularizer::Identity;
    o.boundary = r.boundary;
    if (auto nsr = a.given("nsr")) {
      o.nsr = *nsr;
    } else if (r.sigma >= 0.0) {
      o.nsr = default_wiener_nsr(r.sigma, o.regularizer);
    } else if (o.regularizer == WienerOptions::Regularizer::Laplacian) {
      o.nsr = gcv_wiener_nsr(r.blurred, r.kernel, r.boundary);  // no noise level: cross-validated balance
    } else {
      o.auto_nsr = true;  // the noise and the signal variance both estimated from the image
    }
    SolverResult res;
    res.image = wiener(r.blurred, r.kernel, o);
    res.iterations = 1;
    res.stop_reason = StopReason::ClosedForm;
    return res;
  };
  return m;
}

Method rl_method() {
  Method m;
  m.name = "rl";
  m.summary = "Richardson-Lucy, boundary-normalised (Bertero-Boccacci), optional TV / damping / acceleration";
  m.params = {flag(at_least(integer("iters", 30, "iterations"), 1)),
              within(real("tv", 0.0, "RL-TV weight"), 0, 0.5, false, true),
              at_least(real("damping", 0.0, "damping threshold in intensity units"), 0),
              on_off("accelerate", false, "1 = Biggs-Andrews acceleration"),
              on_off("zero_boundary", false, "1 = zero boundary like skimage")};
  m.run = [](const DeblurRequest& r, const MethodArgs& a) {
    RichardsonLucyOptions o;
    o.iterations = a.integer("iters");
    o.tv_weight = a.real("tv");
    o.damping = a.real("damping");
    o.accelerate = a.on("accelerate");
    if (a.on("zero_boundary")) {
      o.boundary = RichardsonLucyOptions::BoundaryModel::Zero;
      o.initial_value = 0.5;
    } else if (r.boundary == Boundary::Circular) {
      o.boundary = RichardsonLucyOptions::BoundaryModel::Circular;
    }
    o.progress = r.progress;
    return richardson_lucy(r.blurred, r.kernel, o);
  };
  return m;
}

Method admm_method() {
  Method m;
  m.name = "admm";
  m.summary = "ADMM with total variation (isotropic), closed-form FFT x-step";
  m.params = {flag(at_least(derived("lambda", "from the noise level (default_tv_lambda)", "TV weight"), 0)),
              flag(at_least(derived("rho", "10 * lambda", "ADMM penalty"), 0, true)),
              flag(at_least(integer("iters", 100, "maximum iterations"), 1)),
              flag(at_least(real("tol", 1e-4, "relative residual tolerance"), 0)),
              on_off("anisotropic", false, "1 = anisotropic TV")};
  m.run = [](const DeblurRequest& r, const MethodArgs& a) {
    AdmmTvOptions o;
    o.lambda = a.given("lambda").value_or(default_tv_lambda(effective_sigma(r)));
    o.rho = a.given("rho").value_or(10.0 * o.lambda);
    o.iterations = a.integer("iters");
    o.tolerance = a.real("tol");
    o.isotropic = !a.on("anisotropic");
    o.boundary = r.boundary;
    o.progress = r.progress;
    return admm_tv(r.blurred, r.kernel, o);
  };
  return m;
}

Method hqs_tv_method() {
  Method m;
  m.name = "hqs-tv";
  m.summary = "Half-quadratic splitting, TV or hyper-Laplacian prior (Krishnan-Fergus continuation)";
  m.rotational = true;
  m.params = {
      flag(at_least(derived("lambda", "from the noise level (default_hqs_lambda); rotational blur: 0.1", "data weight"),
                    0, true)),
      flag(within(real("alpha", 1.0, "prior exponent (1 = TV, 0.667 / 0.5 = hyper-Laplacian)"), 0, 1, true)),
      at_least(real("beta_max", HqsTvOptions().beta_max, "end of the beta continuation"), HqsTvOptions().beta0),
      at_least(integer("inner", 3, "w/x alternations per beta"), 1),
      flag(at_least(
          integer("iters", kRotationalTvIterations, "rotational blur: HQS iterations with the TV proximal step"), 1))};
  m.run = [](const DeblurRequest& r, const MethodArgs& a) {
    if (r.rotation) {
      // Rotational blur: HQS with the polar data step and the TV proximal operator as the z-step.
      RotationalHqsOptions o;
      o.pnp.iterations = a.integer("iters");
      o.pnp.lambda = a.given("lambda").value_or(kRotationalTvLambda);
      o.pnp.progress = r.progress;
      TvPrior tv;
      return rotational_hqs(r.blurred, *r.rotation, effective_sigma(r), tv, o);
    }
    HqsTvOptions o;
    o.alpha = a.real("alpha");
    o.lambda = a.given("lambda").value_or(default_hqs_lambda(effective_sigma(r), o.alpha));
    o.beta_max = a.real("beta_max");
    o.inner_iterations = a.integer("inner");
    o.boundary = r.boundary;
    o.progress = r.progress;
    return hqs_tv(r.blurred, r.kernel, o);
  };
  return m;
}

Method pnp_method() {
  Method m;
  m.name = "pnp";
  m.summary =
      "Plug-and-play HQS, DPIR schedule (8 iterations, 49/255 -> sigma); prior: the shipped denoiser, "
      "tv (--prior tv), or DRUNet / ResUNet / attention U-Net / ConvIR-S denoisers from --weights";
  m.kind = MethodKind::Learned;
  m.rotational = true;
  m.families = model_family_names(ModelRole::Denoiser);
  m.families.insert(m.families.begin(), "drunet");
  m.shipped_model = "denoiser_small.pth";
  m.params = {flag(at_least(integer("iters", PnpHqsOptions().iterations, "iterations"), 1)),
              flag(at_least(real("lambda", PnpHqsOptions().lambda, "a_k = lambda sigma^2 / sigma_k^2"), 0, true)),
              on_off("alternate", true,
                     "1 = iteration k denoises the k mod 8-th flip/rotation of its input, DPIR's x8, at no extra cost"),
              at_least(real("kernel_error", 0.0,
                            "relative L2 error assumed in the kernel (0 = exact): the data step trusts y less where "
                            "that error outweighs the signal (core/data_step.h solve_uncertain); 1 suits a kernel "
                            "35-60% wrong (docs/blind.md) and costs about 6 dB on an exact one"),
                       0)};
  for (auto& p : model_error_params(kUnrolledModelError)) m.params.push_back(std::move(p));
  m.run = [](const DeblurRequest& r, const MethodArgs& a) {
    PnpHqsOptions o;
    o.iterations = a.integer("iters");
    o.lambda = a.real("lambda");
    o.alternate_transforms = a.on("alternate");
    o.kernel_error = a.real("kernel_error");
    o.boundary = r.boundary;
    o.progress = r.progress;
    auto prior = pnp_prior(r);
    prior->to(r.blurred.device(), r.blurred.scalar_type());
    torch::NoGradGuard no_grad;
    return with_model_error_per_image(r, model_error_use(a, r), [&](const DeblurRequest& m) {
      return on_model_channels("pnp", m, prior->channels(), [&](const DeblurRequest& q) {
        const double sigma = effective_sigma(q);  // q's: scaled for a grey image through an RGB prior
        if (q.rotation) {
          RotationalHqsOptions ro;
          ro.pnp = o;
          return rotational_hqs(q.blurred, *q.rotation, sigma, *prior, ro);
        }
        return pnp_hqs(q.blurred, q.kernel, sigma, *prior, o);
      });
    });
  };
  m.load = [](const DeblurRequest& r) { pnp_prior(r); };
  return m;
}

// The non-blind unrolled network under `name`, by default with models/`shipped_file`.
Method unrolled_method(const std::string& name, const std::string& shipped_file, const std::string& summary,
                       bool alternate_default, const ModelErrorUse& model_error, const char* off_note = "") {
  Method m;
  m.name = name;
  m.summary = summary;
  m.kind = MethodKind::Learned;
  m.rotational = true;
  m.families = model_family_names(ModelRole::Denoiser, /*trainable_only=*/true);
  m.shipped_model = shipped_file;
  m.params = unrolled_params(alternate_default, model_error, off_note);
  m.run = [name, shipped_file](const DeblurRequest& r, const MethodArgs& a) {
    return run_unrolled(cached_unrolled_net(weights_path(r, name, shipped_file)), r, unrolled_passes(a),
                        a.on("alternate"), model_error_use(a, r));
  };
  m.load = [name, shipped_file](const DeblurRequest& r) { cached_unrolled_net(weights_path(r, name, shipped_file)); };
  return m;
}

Method unrolled_method() {
  return unrolled_method("unrolled", "unrolled_small.pth",
                         "Deep-unfolding HQS network (HyPaNet -> FFT data step -> prior, K iterations): the shipped "
                         "models/unrolled_small.pth, or any USRNet-style checkpoint from --weights",
                         kUnrolledAlternates, kUnrolledModelError);
}

// The same network fine-tuned on deliberately wrong kernels (experiments/unrolled_small_robust.ini).
// No transform alternation by default: the fine-tuned priors are no longer equivariant enough for it
// (with it, a 2-px checkerboard appears on real photos: docs/blind.md).
Method unrolled_robust_method() {
  return unrolled_method("unrolled-robust", "unrolled_robust_small.pth",
                         "The unrolled network fine-tuned on deliberately wrong kernels (models/"
                         "unrolled_robust_small.pth): for a kernel known to be rough; far below unrolled on exact "
                         "kernels",
                         /*alternate_default=*/false, kModelErrorOff,
                         " (off: the fine-tuned priors are not equivariant enough)");
}

// The blind unrolled network (hqs/blind_unrolled_net.h): --weights, else the shipped model.
std::string unrolled_blind_path(const DeblurRequest& r) {
  return weights_path(r, "unrolled-blind", "unrolled_blind_small.pth");
}

BlindUnrolledNet cached_blind_unrolled_net(const std::string& path) {
  return cached<BlindUnrolledNet>("unrolled-blind:" + path, [&] {
    auto n = load_blind_unrolled_net(path);
    n->eval();
    return n;
  });
}

// One pass on the request's observation, extended for its boundary (the extension is sized for the
// network's largest kernel; `taper` blends towards a box blur of that size) and cropped back.
SolverResult run_unrolled_blind_on(BlindUnrolledNet net, const DeblurRequest& r, const MethodArgs& a) {
  net->to(r.blurred.device(), r.blurred.scalar_type());
  net->set_alternate_transforms(a.on("alternate"));
  net->set_kernel_init(a.on("classical_init") ? KernelInit::Classical : KernelInit::Head);
  const auto steps = a.given("kernel_steps");
  net->set_kernel_steps(steps ? static_cast<int>(*steps) : net->recorded_kernel_steps());
  torch::NoGradGuard no_grad;
  auto y = as_image_batch(r.blurred);
  const int64_t k = net->options().kernel_size;
  const Extended ext = extend_for_deconvolution(y, torch::full({k, k}, 1.0 / double(k * k), y.options()), r.boundary);
  auto sigma = torch::full({y.size(0), 1, 1, 1}, effective_sigma(r), y.options());
  BlindUnrolledOutput out;
  if (r.kernel.defined()) {  // the oracle run (Method::oracle_kernel): the given kernel, no kernel steps
    net->set_kernel_steps(0);
    out = net->forward_with_kernel(ext.image, r.kernel, sigma);
  } else {
    out = net->forward(ext.image, sigma);
  }
  SolverResult res;
  res.image = ext.crop(out.image);
  res.kernel = out.kernel[0][0];
  if (r.blurred.dim() == 3) res.image = res.image.squeeze(0);
  if (r.blurred.dim() == 2) res.image = res.image.squeeze(0).squeeze(0);
  res.iterations = net->options().unrolled.iterations;
  res.stop_reason = StopReason::Network;
  return res;
}

Method unrolled_blind_method() {
  Method m;
  m.name = "unrolled-blind";
  m.summary =
      "Blind deep-unfolding HQS network (kernel head -> per iteration: kernel step, FFT data step, prior): "
      "needs no kernel; the shipped models/unrolled_blind_small.pth, or a checkpoint from --weights";
  m.kind = MethodKind::Blind;
  m.needs_kernel = false;
  m.oracle_kernel = true;
  // No `families`: they name Deblur model families for blind methods (method_for_family), and this
  // network's ResUNet priors are Denoiser ones; its checkpoints carry their own architecture.
  m.shipped_model = "unrolled_blind_small.pth";
  m.params = {
      on_off("alternate", kUnrolledAlternates,
             "1 = iteration k's prior works on the k mod 8-th flip/rotation of its input, at no extra cost"),
      within(integer("kernel_steps", -1, "iterations after the first that refine the kernel (-1 = all)"), -1, 63),
      on_off("classical_init", false,
             "1 = start from the classical estimator's kernel (blind/estimate_kernel.h) instead of the "
             "kernel head (slower)")};
  m.params[1].default_value.reset();
  m.params[1].derived = "the checkpoint's (all iterations after the first for the shipped model)";
  m.run = [](const DeblurRequest& r, const MethodArgs& a) {
    auto net = cached_blind_unrolled_net(unrolled_blind_path(r));
    return on_model_channels("unrolled-blind", r, net->channels(),
                             [&](const DeblurRequest& q) { return run_unrolled_blind_on(net, q, a); });
  };
  m.load = [](const DeblurRequest& r) { cached_blind_unrolled_net(unrolled_blind_path(r)); };
  return m;
}

Method usrnet_method() {
  Method m;
  m.name = "usrnet";
  m.summary = "Unrolled HQS network (USRNet topology) from a checkpoint (--weights usrnet_tiny.pth / usrnet.pth)";
  m.kind = MethodKind::Learned;
  m.rotational = true;
  m.families = {"resunet"};
  m.weights_required = true;
  m.params = unrolled_params(kUsrnetAlternates, kModelErrorOff);
  m.run = [](const DeblurRequest& r, const MethodArgs& a) {
    return run_unrolled(cached_unrolled_net(r.weights), r, unrolled_passes(a), a.on("alternate"),
                        model_error_use(a, r));
  };
  m.load = [](const DeblurRequest& r) { cached_unrolled_net(r.weights); };
  return m;
}

// End-to-end blind networks (nets/deblur_net.h): no kernel. One method per architecture of the
// model-family table (priors/model_family.h), running the checkpoints of every family of that
// architecture (`convir`: any ConvIR variant, read from the file); convir and atrous default to their
// shipped models (models/README.md) when present.
Method blind_network(const std::string& name, const std::string& summary, const std::string& shipped_file) {
  Method m;
  m.name = name;
  m.summary = summary;
  m.kind = MethodKind::Blind;
  m.needs_kernel = false;
  m.shipped_model = shipped_file;
  // --weights, else the shipped model; loaded once per path.
  auto network = [name, shipped_file](const DeblurRequest& r) {
    const std::string path = weights_path(r, name, shipped_file);
    return cached<DeblurNet>(name + ":" + path, [&] { return load_deblur_net(name, path); });
  };
  m.load = [network](const DeblurRequest& r) { network(r); };
  m.run = [network](const DeblurRequest& r, const MethodArgs&) {
    auto net = network(r);
    net.module()->to(r.blurred.device(), r.blurred.scalar_type());
    SolverResult res;
    res.image = net.deblur(r.blurred);
    res.iterations = 1;
    res.stop_reason = StopReason::Network;
    return res;
  };
  return m;
}

void add_blind_networks(std::vector<Method>& m) {
  struct Known {
    const char* summary;
    const char* shipped;
  };
  const std::map<std::string, Known> known = {
      {"convir",
       {"ConvIR end-to-end blind deblurring: the shipped models/convir_small.pth, or a checkpoint from --weights "
        "(official *.pkl / *.pth or `unroll train` task deblur)",
        "convir_small.pth"}},
      {"atrous",
       {"ATROUS_NET (seed 001) end-to-end blind deblurring: the shipped models/atrous_small.pth, or a checkpoint "
        "from --weights (unroll train, family atrous[-reds])",
        "atrous_small.pth"}},
      {"kaist", {"KAIST_NET (seed 001) end-to-end blind deblurring from --weights", ""}},
      {"carlo", {"CARLO_NET (seed 001) end-to-end blind deblurring from --weights", ""}},
      {"unet-resnet", {"U-Net + ResNet (seed 002) end-to-end blind deblurring from --weights", ""}},
      {"unet-ae", {"U-Net autoencoder (seed 003) end-to-end blind deblurring from --weights", ""}},
  };
  for (const auto& family : model_families()) {
    if (family.role != ModelRole::Deblur) continue;
    const std::string& name = family.architecture;
    auto it = std::find_if(m.begin(), m.end(), [&](const Method& x) { return x.name == name; });
    if (it == m.end()) {  // the first family of an architecture makes its method
      const auto k = known.find(name);
      m.push_back(blind_network(
          name,
          k != known.end() ? k->second.summary : family.description + ": end-to-end blind deblurring from --weights",
          k != known.end() ? k->second.shipped : ""));
      it = m.end() - 1;
    }
    it->families.push_back(family.name);
  }
}

}  // namespace

std::vector<Method> build_method_table() {
  std::vector<Method> m = {wiener_method(),          rl_method(),     admm_method(),
                           hqs_tv_method(),          pnp_method(),    unrolled_method(),
                           unrolled_robust_method(), usrnet_method(), unrolled_blind_method()};
  add_blind_networks(m);
  // Memory models for tiling (eval/tiling.h): peak resident memory of `unroll deblur` on 384^2 and
  // 768^2 RGB images, measured by `bash bench/measure_memory.sh` (CPU, float32, the shipped models;
  // 2026-12-06; unrolled-blind 2026-12-07): base = the intercept (LibTorch, weights), bytes per pixel =
  // the slope.
  struct Memory {
    double base_mb, bytes_per_pixel;
  };
  const std::map<std::string, Memory> measured = {
      {"wiener", {196, 186}},          {"rl", {197, 180}},      {"admm", {218, 215}},
      {"hqs-tv", {222, 268}},          {"pnp", {250, 569}},     {"unrolled", {239, 697}},
      {"convir", {210, 825}},          {"atrous", {229, 1331}}, {"unrolled-blind", {241, 886}},
      {"unrolled-robust", {239, 697}},  // unrolled's network, other weights
  };
  for (auto& method : m) {
    const auto it = measured.find(method.name);
    // Not measured (usrnet and the blind networks without shipped weights): an assumption, twice the
    // largest measured slope (their checkpoints come from --weights and can be large).
    const Memory mem = it != measured.end() ? it->second : Memory{300, 2700};
    method.memory_base = mem.base_mb * 1e6;
    method.bytes_per_pixel = mem.bytes_per_pixel;
  }
  return m;
}

}  // namespace unroll
