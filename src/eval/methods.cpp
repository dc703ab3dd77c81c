#include "eval/methods.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "classic/admm_tv.h"
#include "classic/hqs_tv.h"
#include "classic/richardson_lucy.h"
#include "classic/wiener.h"
#include "core/error.h"
#include "core/noise.h"
#include "core/tensor.h"
#include "hqs/pnp.h"
#include "hqs/unrolled_net.h"
#include "priors/model_family.h"
#include "priors/prior.h"
#include "priors/resunet.h"
#include "priors/tv_prox.h"

namespace unroll {
namespace {

double get(const MethodParams& p, const std::string& name, double fallback) {
  auto it = p.find(name);
  return it == p.end() ? fallback : it->second;
}

int get_int(const MethodParams& p, const std::string& name, int fallback) {
  const double v = get(p, name, fallback);
  UNROLL_CHECK(v == static_cast<double>(static_cast<int>(v)), name, " must be an integer, got ", v);
  return static_cast<int>(v);
}

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

// Rotational blur: defaults calibrated on Set3C (docs/experiments/rotational).
constexpr int kRotationalTvIterations = 16;
constexpr double kRotationalTvLambda = 0.1;  // a_k = lambda sigma^2 / sigma_k^2
double rotational_default_nsr(const RotationalBlurModel& m, double sigma) {
  return 400.0 * std::pow(m.effective_sigma(sigma), 2);
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
SolverResult run_unrolled(UnrolledNet net, const DeblurRequest& r, int passes, bool alternate) {
  static const std::map<int, std::vector<int>> kModes = {{1, {0}}, {2, {0, 6}}, {4, {0, 2, 4, 6}},
                                                         {8, {0, 1, 2, 3, 4, 5, 6, 7}}};
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
  res.stop_reason = "network";
  return res;
}

// Whether the unrolled-network methods alternate transforms by default (UnrolledNetOptions::
// alternate_transforms): Unroll's network does; USRNet runs as published.
constexpr bool kUnrolledAlternates = true;
constexpr bool kUsrnetAlternates = false;

// Inference parameters shared by the unrolled-network methods.
std::vector<ParamInfo> unrolled_params(bool alternate_default) {
  return {{"passes", "self-ensemble: mean of 1, 2, 4 or 8 flip/rotation passes, each costing one pass (default 1)"},
          {"ensemble", "1 = passes=8 (the x8 self-ensemble; default 0)"},
          {"alternate", std::string("1 = iteration k's prior works on the k mod 8-th flip/rotation of its input, at no "
                                    "extra cost (default ") + (alternate_default ? "1)" : "0, as published)")}};
}

int unrolled_passes(const MethodParams& p) {
  if (get(p, "ensemble", 0.0) == 0.0) return get_int(p, "passes", 1);
  UNROLL_CHECK(get_int(p, "passes", 8) == 8, "unrolled: ensemble=1 means passes=8, got passes=", get(p, "passes", 8));
  return 8;
}

std::vector<Method> build_registry() {
  std::vector<Method> m;
  m.push_back(Method{
      "wiener",
      "Wiener / regularised least squares, closed form (one FFT round trip)",
      true,
      false,
      {{"nsr", "noise-to-signal ratio (balance); default: estimated from the image"},
       {"laplacian", "1 = Laplacian regulariser like skimage (default), 0 = identity (classic Wiener)"}},
      [](const DeblurRequest& r, const MethodParams& p) {
        if (r.rotation) {
          return rotational_wiener(r.blurred, *r.rotation,
                                   get(p, "nsr", rotational_default_nsr(*r.rotation, effective_sigma(r))));
        }
        WienerOptions o;
        o.regularizer = get(p, "laplacian", 1.0) != 0.0 ? WienerOptions::Regularizer::Laplacian
                                                        : WienerOptions::Regularizer::Identity;
        o.boundary = r.boundary;
        if (p.count("nsr")) {
          o.nsr = p.at("nsr");
        } else if (r.sigma >= 0.0) {
          // Laplacian-regularised: balance ~ 0.4 * sigma^2-ish calibrated on the DPIR protocol.
          const double s = std::max(r.sigma, 1e-3);
          o.nsr = o.regularizer == WienerOptions::Regularizer::Laplacian ? 30.0 * s * s : 400.0 * s * s;
        } else {
          o.auto_nsr = true;
        }
        SolverResult res;
        res.image = wiener(r.blurred, r.kernel, o);
        res.iterations = 1;
        res.stop_reason = "closed_form";
        return res;
      },
      /*rotational=*/true});
  m.push_back(Method{
      "rl",
      "Richardson-Lucy, boundary-normalised (Bertero-Boccacci), optional TV / damping / acceleration",
      true,
      false,
      {{"iters", "iterations (default 30)"},
       {"tv", "RL-TV weight (default 0)"},
       {"damping", "damping threshold in intensity units (default 0)"},
       {"accelerate", "1 = Biggs-Andrews acceleration (default 0)"},
       {"zero_boundary", "1 = zero boundary like skimage (default 0)"}},
      [](const DeblurRequest& r, const MethodParams& p) {
        RichardsonLucyOptions o;
        o.iterations = get_int(p, "iters", 30);
        o.tv_weight = get(p, "tv", 0.0);
        o.damping = get(p, "damping", 0.0);
        o.accelerate = get(p, "accelerate", 0.0) != 0.0;
        if (get(p, "zero_boundary", 0.0) != 0.0) {
          o.boundary = RichardsonLucyOptions::BoundaryModel::Zero;
          o.initial_value = 0.5;
        } else if (r.boundary == Boundary::Circular) {
          o.boundary = RichardsonLucyOptions::BoundaryModel::Circular;
        }
        o.progress = r.progress;
        return richardson_lucy(r.blurred, r.kernel, o);
      }});
  m.push_back(Method{
      "admm",
      "ADMM with total variation (isotropic), closed-form FFT x-step",
      true,
      false,
      {{"lambda", "TV weight; default from the noise level"},
       {"rho", "ADMM penalty (default 10 * lambda)"},
       {"iters", "maximum iterations (default 100)"},
       {"tol", "relative residual tolerance (default 1e-4)"},
       {"anisotropic", "1 = anisotropic TV (default 0)"}},
      [](const DeblurRequest& r, const MethodParams& p) {
        AdmmTvOptions o;
        const double sigma = effective_sigma(r);
        o.lambda = get(p, "lambda", default_tv_lambda(sigma));
        o.rho = get(p, "rho", 10.0 * o.lambda);
        o.iterations = get_int(p, "iters", 100);
        o.tolerance = get(p, "tol", 1e-4);
        o.isotropic = get(p, "anisotropic", 0.0) == 0.0;
        o.boundary = r.boundary;
        o.progress = r.progress;
        return admm_tv(r.blurred, r.kernel, o);
      }});
  m.push_back(Method{
      "hqs-tv",
      "Half-quadratic splitting, TV or hyper-Laplacian prior (Krishnan-Fergus continuation)",
      true,
      false,
      {{"lambda", "data weight; default from the noise level"},
       {"alpha", "prior exponent (1 = TV default, 0.667 / 0.5 = hyper-Laplacian)"},
       {"beta_max", "end of the beta continuation (default 256)"},
       {"inner", "w/x alternations per beta (default 3)"},
       {"iters", "rotational blur: HQS iterations with the TV proximal step (default 16)"}},
      [](const DeblurRequest& r, const MethodParams& p) {
        if (r.rotation) {
          // Rotational blur: HQS with the polar data step and the TV proximal operator as the z-step.
          RotationalHqsOptions o;
          o.pnp.iterations = get_int(p, "iters", kRotationalTvIterations);
          o.pnp.lambda = get(p, "lambda", kRotationalTvLambda);
          o.pnp.progress = r.progress;
          TvPrior tv;
          return rotational_hqs(r.blurred, *r.rotation, effective_sigma(r), tv, o);
        }
        HqsTvOptions o;
        o.alpha = get(p, "alpha", 1.0);
        o.lambda = get(p, "lambda", default_hqs_lambda(effective_sigma(r), o.alpha));
        o.beta_max = get(p, "beta_max", o.beta_max);
        o.inner_iterations = get_int(p, "inner", 3);
        o.boundary = r.boundary;
        o.progress = r.progress;
        return hqs_tv(r.blurred, r.kernel, o);
      },
      /*rotational=*/true});
  m.push_back(Method{
      "pnp",
      "Plug-and-play HQS, DPIR schedule (8 iterations, 49/255 -> sigma); prior: the shipped denoiser, tv, or DRUNet (--weights)",
      true,
      false,
      {{"iters", "iterations (default 8)"},
       {"lambda", "a_k = lambda sigma^2 / sigma_k^2 (default 0.23)"},
       {"alternate", "1 = iteration k denoises the k mod 8-th flip/rotation of its input, DPIR's x8, at no extra "
                     "cost (default 1)"}},
      [](const DeblurRequest& r, const MethodParams& p) {
        PnpHqsOptions o;
        o.iterations = get_int(p, "iters", o.iterations);
        o.lambda = get(p, "lambda", o.lambda);
        o.alternate_transforms = get(p, "alternate", 1.0) != 0.0;
        o.boundary = r.boundary;
        o.progress = r.progress;
        auto prior = pnp_prior(r);
        prior->to(r.blurred.device(), r.blurred.scalar_type());
        torch::NoGradGuard no_grad;
        if (r.rotation) {
          RotationalHqsOptions ro;
          ro.pnp = o;
          return rotational_hqs(r.blurred, *r.rotation, effective_sigma(r), *prior, ro);
        }
        return pnp_hqs(r.blurred, r.kernel, effective_sigma(r), *prior, o);
      },
      /*rotational=*/true});
  m.push_back(Method{
      "unrolled",
      "Deep-unfolding HQS network (HyPaNet -> FFT data step -> prior, K iterations): the shipped "
      "models/unrolled_small.pth, or any USRNet-style checkpoint from --weights",
      true,
      false,
      unrolled_params(kUnrolledAlternates),
      [](const DeblurRequest& r, const MethodParams& p) {
        std::string path = r.weights;
        if (path.empty()) path = shipped_model("unrolled_small.pth");
        UNROLL_CHECK(!path.empty(), "unrolled: no shipped model (models/unrolled_small.pth) was found; pass --weights");
        return run_unrolled(cached_unrolled_net(path), r, unrolled_passes(p),
                            get(p, "alternate", kUnrolledAlternates) != 0.0);
      },
      /*rotational=*/true});
  m.push_back(Method{
      "usrnet",
      "Unrolled HQS network (USRNet topology) from a checkpoint (--weights usrnet_tiny.pth / usrnet.pth)",
      true,
      true,
      unrolled_params(kUsrnetAlternates),
      [](const DeblurRequest& r, const MethodParams& p) {
        return run_unrolled(cached_unrolled_net(r.weights), r, unrolled_passes(p),
                            get(p, "alternate", kUsrnetAlternates) != 0.0);
      },
      /*rotational=*/true});
  // End-to-end blind networks: one method per architecture of the model-family table
  // (priors/model_family.h), running the checkpoints of every family of that architecture (`convir`: any
  // ConvIR variant, read from the file). Below, the methods' descriptions and shipped models
  // (models/README.md; used when present).
  struct EndToEnd {
    const char* description;
    const char* shipped;
  };
  const std::map<std::string, EndToEnd> e2e = {
      {"convir",
       {"ConvIR end-to-end blind deblurring (no kernel): the shipped models/convir_small.pth, or a checkpoint "
        "from --weights (official *.pkl / *.pth or `unroll train` task deblur)",
        "convir_small.pth"}},
      {"atrous",
       {"ATROUS_NET (seed 001) end-to-end blind deblurring (no kernel): the shipped models/atrous_small.pth, "
        "or a checkpoint from --weights (unroll train, family atrous[-reds])",
        "atrous_small.pth"}},
      {"kaist", {"KAIST_NET (seed 001) end-to-end blind deblurring from --weights (unroll train, family kaist)", ""}},
      {"carlo", {"CARLO_NET (seed 001) end-to-end blind deblurring from --weights (unroll train, family carlo)", ""}},
      {"unet-resnet", {"U-Net + ResNet (seed 002) end-to-end blind deblurring from --weights", ""}},
      {"unet-ae", {"U-Net autoencoder (seed 003) end-to-end blind deblurring from --weights", ""}},
  };
  for (const auto& family : model_families()) {
    if (family.role != ModelRole::Deblur) continue;
    const std::string name = family.architecture;
    auto known =
        std::find_if(m.begin(), m.end(), [&](const Method& x) { return x.name == name && !x.families.empty(); });
    if (known != m.end()) {  // a further family of an architecture that has its method
      known->families.push_back(family.name);
      continue;
    }
    const auto it = e2e.find(name);
    const std::string description =
        it != e2e.end() ? it->second.description : family.description + ": end-to-end blind deblurring from --weights";
    const std::string shipped_file = it != e2e.end() ? it->second.shipped : "";
    Method method{
        // Needs --weights unless its shipped model is present.
        name,
        description,
        false,
        shipped_file.empty() || shipped_model(shipped_file).empty(),
        {},
        [name, shipped_file](const DeblurRequest& r, const MethodParams&) {
          std::string path = r.weights;
          if (path.empty() && !shipped_file.empty()) path = shipped_model(shipped_file);
          UNROLL_CHECK(!path.empty(), name, ": no shipped model (models/", shipped_file, ") was found; pass --weights");
          auto net = cached<DeblurNet>(name + ":" + path, [&] { return load_deblur_net(name, path); });
          net.module()->to(r.blurred.device(), r.blurred.scalar_type());
          SolverResult res;
          res.image = net.deblur(r.blurred);
          res.iterations = 1;
          res.stop_reason = "network";
          return res;
        }};
    method.families = {family.name};
    m.push_back(method);
  }
  return m;
}

}  // namespace

const std::vector<Method>& all_methods() {
  static const std::vector<Method> registry = build_registry();
  return registry;
}

const Method& find_method(const std::string& name) {
  for (const auto& m : all_methods()) {
    if (m.name == name) return m;
  }
  std::ostringstream known;
  for (const auto& m : all_methods()) known << (known.tellp() > 0 ? ", " : "") << m.name;
  fail("unknown method '", name, "' (known: ", known.str(), ")");
}

std::string method_for_family(const std::string& family) {
  for (const auto& m : all_methods()) {
    if (std::find(m.families.begin(), m.families.end(), family) != m.families.end()) return m.name;
  }
  std::string known;
  for (const auto& f : model_family_names(ModelRole::Deblur)) known += (known.empty() ? "" : ", ") + f;
  fail("no evaluation method runs model family '", family, "' (deblur families: ", known, ")");
}

std::vector<std::string> classical_method_names() { return {"wiener", "rl", "admm", "hqs-tv"}; }

std::string shipped_model(const std::string& file) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("UNROLL_MODELS")) dirs.push_back(env);
#ifdef UNROLL_MODELS_DIR
  dirs.push_back(UNROLL_MODELS_DIR);
#endif
  dirs.push_back("models");
  for (const auto& d : dirs) {
    const std::string p = d + "/" + file;
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

double effective_sigma(const DeblurRequest& request) {
  if (request.sigma >= 0.0) return request.sigma;
  return estimate_noise_sigma(as_image_batch(request.blurred).to(torch::kFloat64)).mean().item<double>();
}

SolverResult run_method(const std::string& name, const DeblurRequest& request, const MethodParams& params) {
  const Method& m = find_method(name);
  for (const auto& [key, value] : params) {
    const bool known = std::any_of(m.params.begin(), m.params.end(), [&](const ParamInfo& p) { return p.name == key; });
    if (!known) {
      std::string accepted;
      for (const auto& p : m.params) accepted += (accepted.empty() ? "" : ", ") + p.name;
      fail(name, ": unknown parameter '", key, "' (accepted: ", accepted.empty() ? "none" : accepted, ")");
    }
    UNROLL_CHECK(std::isfinite(value), name, ": parameter '", key, "' is not finite");
  }
  if (request.rotation) {
    std::ostringstream supported;
    for (const auto& x : all_methods()) {
      if (x.rotational) supported << (supported.tellp() > 0 ? ", " : "") << x.name;
    }
    UNROLL_CHECK(m.rotational, name, " does not solve rotational blur (methods that do: ", supported.str(), ")");
  } else {
    UNROLL_CHECK(!m.needs_kernel || request.kernel.defined(), name, " is non-blind and needs a kernel (--kernel)");
  }
  UNROLL_CHECK(request.blurred.defined(), name, ": no input image");
  UNROLL_CHECK(!m.needs_weights || !request.weights.empty(), name, " needs a checkpoint (--weights FILE)");
  return m.run(request, params);
}

}  // namespace unroll
