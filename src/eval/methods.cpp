#include "eval/methods.h"

#include <algorithm>
#include <sstream>

#include "classic/admm_tv.h"
#include "classic/hqs_tv.h"
#include "classic/richardson_lucy.h"
#include "classic/wiener.h"
#include "core/error.h"
#include "core/noise.h"
#include "core/tensor.h"

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

std::vector<Method> build_registry() {
  std::vector<Method> m;
  m.push_back(Method{
      "wiener",
      "Wiener / regularised least squares, closed form (one FFT round trip)",
      true,
      {{"nsr", "noise-to-signal ratio (balance); default: estimated from the image"},
       {"laplacian", "1 = Laplacian regulariser like skimage (default), 0 = identity (classic Wiener)"}},
      [](const DeblurRequest& r, const MethodParams& p) {
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
      }});
  m.push_back(Method{
      "rl",
      "Richardson-Lucy, boundary-normalised (Bertero-Boccacci), optional TV / damping / acceleration",
      true,
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
      {{"lambda", "data weight; default from the noise level"},
       {"alpha", "prior exponent (1 = TV default, 0.667 / 0.5 = hyper-Laplacian)"},
       {"beta_max", "end of the beta continuation (default 256)"},
       {"inner", "w/x alternations per beta (default 3)"}},
      [](const DeblurRequest& r, const MethodParams& p) {
        HqsTvOptions o;
        o.alpha = get(p, "alpha", 1.0);
        o.lambda = get(p, "lambda", default_hqs_lambda(effective_sigma(r), o.alpha));
        o.beta_max = get(p, "beta_max", o.beta_max);
        o.inner_iterations = get_int(p, "inner", 3);
        o.boundary = r.boundary;
        o.progress = r.progress;
        return hqs_tv(r.blurred, r.kernel, o);
      }});
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

std::vector<std::string> classical_method_names() { return {"wiener", "rl", "admm", "hqs-tv"}; }

double effective_sigma(const DeblurRequest& request) {
  if (request.sigma >= 0.0) return request.sigma;
  return estimate_noise_sigma(as_image_batch(request.blurred).to(torch::kFloat64)).mean().item<double>();
}

SolverResult run_method(const std::string& name, const DeblurRequest& request, const MethodParams& params) {
  const Method& m = find_method(name);
  for (const auto& [key, value] : params) {
    const bool known = std::any_of(m.params.begin(), m.params.end(), [&](const ParamInfo& p) { return p.name == key; });
    UNROLL_CHECK(known, name, ": unknown parameter '", key, "'");
    UNROLL_CHECK(std::isfinite(value), name, ": parameter '", key, "' is not finite");
  }
  UNROLL_CHECK(!m.needs_kernel || request.kernel.defined(), name, " is non-blind and needs a kernel (--kernel)");
  UNROLL_CHECK(request.blurred.defined(), name, ": no input image");
  return m.run(request, params);
}

}  // namespace unroll
