#include "hqs/rotational.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/noise.h"
#include "core/tensor.h"

namespace unroll {
namespace {

/// The observation, the part's mask (or undefined) and the data step of one solve.
struct Setup {
  torch::Tensor y;         ///< [N,C,H,W]
  torch::Tensor mask;      ///< [N,1,H,W] or undefined
  RotationalDataStep step; ///< on y; with a mask, only the pixels the part covers all exposure long are data

  torch::Tensor solve(const torch::Tensor& z, const torch::Tensor& a) const { return step.solve(z, a); }
  /// The part from `estimate`, the static background from the observation.
  torch::Tensor compose(const torch::Tensor& estimate) const {
    return mask.defined() ? mask * estimate + (1.0 - mask) * y : estimate;
  }
};

torch::Tensor prepared_mask(const RotationalBlurModel& model, const torch::Tensor& y) {
  if (!model.mask.defined()) return {};
  auto m = as_image_batch(model.mask);
  UNROLL_CHECK(m.dim() == 4 && m.size(1) == 1 && (m.size(0) == 1 || m.size(0) == y.size(0)) && m.size(2) == y.size(2) &&
                   m.size(3) == y.size(3),
               "rotational model: mask must be [H,W], [1,1,H,W] or [N,1,H,W] matching the image ", y.sizes(), ", got ",
               model.mask.sizes());
  return m.to(y.options()).expand({y.size(0), 1, y.size(2), y.size(3)});
}

Setup make_setup(const torch::Tensor& blurred, const RotationalBlurModel& model, const std::string& who,
                 bool masked_boundary = true) {
  model.validate();
  Setup s;
  s.y = as_image_batch(blurred);
  check_image(s.y, who + " input");
  s.mask = prepared_mask(model, s.y);
  torch::Tensor observed;
  if (s.mask.defined() && masked_boundary) {
    // y = B(m x) + (1 - B(m)) b follows y = B(x) exactly where the part covers the pixel during the
    // whole exposure, B(m) = 1; elsewhere the pixel mixes in the unknown background.
    const PolarGrid grid(s.y.size(2), s.y.size(3), model.grid_options(), s.y.options());
    observed = (polar_rotational_blur(s.mask, grid, model.angle, model.span) > 0.99).to(s.y.scalar_type());
  }
  RotationalBoundaryOptions boundary = model.boundary;
  boundary.masked = boundary.masked && masked_boundary;
  s.step = RotationalDataStep(s.y, model.angle, model.span, model.grid_options(), boundary, observed);
  return s;
}

}  // namespace

void RotationalBlurModel::validate() const {
  UNROLL_CHECK(std::isfinite(angle) && angle >= 0, "rotational model: angle must be finite and >= 0 radians, got ",
               angle);
  UNROLL_CHECK(std::isfinite(centre_x) && std::isfinite(centre_y), "rotational model: centre must be finite, got (",
               centre_x, ", ", centre_y, ")");
  if (mask.defined()) {
    check_finite(mask, "rotational model mask");
    UNROLL_CHECK(mask.min().item<double>() >= 0.0 && mask.max().item<double>() <= 1.0,
                 "rotational model: mask values must be in [0,1]");
  }
  UNROLL_CHECK(std::isfinite(model_sigma) && model_sigma >= 0, "rotational model: model_sigma must be >= 0, got ",
               model_sigma);
  grid_options().validate();
  boundary.validate();
}

double RotationalBlurModel::effective_sigma(double sigma) const { return std::hypot(sigma, model_sigma); }

PolarGridOptions RotationalBlurModel::grid_options() const {
  PolarGridOptions g = grid;
  g.centre_x = centre_x;
  g.centre_y = centre_y;
  return g;
}

torch::Tensor apply_rotational_model(const torch::Tensor& x, const RotationalBlurModel& model) {
  model.validate();
  auto xb = as_image_batch(x);
  check_image(xb, "rotational model input");
  const PolarGrid grid(xb.size(2), xb.size(3), model.grid_options(), xb.options());
  auto m = prepared_mask(model, xb);
  if (!m.defined()) return polar_rotational_blur(xb, grid, model.angle, model.span);
  auto both = polar_rotational_blur(torch::cat({xb * m, m}, 1), grid, model.angle, model.span);
  return both.narrow(1, 0, xb.size(1)) + (1.0 - both.narrow(1, xb.size(1), 1)) * xb;
}

SolverResult rotational_wiener(const torch::Tensor& blurred, const RotationalBlurModel& model, double nsr) {
  const Setup s = make_setup(blurred, model, "rotational wiener", /*masked_boundary=*/false);
  SolverResult r;
  r.image = s.compose(s.step.wiener(nsr));
  r.iterations = 1;
  r.stop_reason = StopReason::ClosedForm;
  return r;
}

void RotationalHqsOptions::validate() const { pnp.validate(); }

SolverResult rotational_hqs(const torch::Tensor& blurred, const RotationalBlurModel& model, double sigma, Prior& prior,
                            const RotationalHqsOptions& options) {
  options.validate();
  const Setup s = make_setup(blurred, model, "rotational hqs");
  SolverResult r = pnp_hqs_with([&](const torch::Tensor& z, const torch::Tensor& a) { return s.solve(z, a); }, s.y,
                                model.effective_sigma(sigma), prior, options.pnp);
  r.image = s.compose(r.image);
  return r;
}

SolverResult rotational_unrolled(UnrolledNet net, const torch::Tensor& blurred, const RotationalBlurModel& model,
                                 double sigma) {
  UNROLL_CHECK(std::isfinite(sigma) && sigma >= 0, "rotational unrolled: sigma must be >= 0, got ", sigma);
  const Setup s = make_setup(blurred, model, "rotational unrolled");
  auto level = torch::full({s.y.size(0), 1, 1, 1}, model.effective_sigma(sigma), s.y.options());
  auto out = net->forward_with([&](const torch::Tensor& z, const torch::Tensor& a) { return s.solve(z, a); }, s.y,
                               level);
  SolverResult r;
  r.image = s.compose(out.image);
  r.iterations = net->options().iterations;
  r.stop_reason = StopReason::Network;
  return r;
}

void AngleSearchOptions::validate() const {
  UNROLL_CHECK(std::isfinite(min_angle) && min_angle > 0, "angle search: min_angle must be > 0 radians, got ",
               min_angle);
  UNROLL_CHECK(std::isfinite(max_angle) && max_angle > min_angle, "angle search: max_angle must be > min_angle (",
               min_angle, "), got ", max_angle);
  UNROLL_CHECK(candidates >= 3, "angle search: candidates must be >= 3, got ", candidates);
}

namespace {

/// Residuals of weighted least-squares fits of each row of `y` [n,F] by the columns of `basis` [F,k]
/// with weights `w` [n,F] (rows fitted independently).
torch::Tensor fit_residuals(const torch::Tensor& y, const torch::Tensor& basis, const torch::Tensor& w) {
  auto xw = basis.unsqueeze(0) * w.unsqueeze(-1);                                  // [n,F,k]
  auto gram = torch::matmul(xw.transpose(1, 2), basis.unsqueeze(0));               // [n,k,k]
  gram = gram + 1e-9 * torch::eye(basis.size(1), basis.options()).unsqueeze(0);
  auto rhs = torch::matmul(xw.transpose(1, 2), y.unsqueeze(-1));                   // [n,k,1]
  auto coef = torch::linalg_solve(gram, rhs);
  return y - torch::matmul(basis.unsqueeze(0), coef).squeeze(-1);
}

}  // namespace

AngleEstimate estimate_rotation_angle(const torch::Tensor& blurred, const RotationalBlurModel& model, double sigma,
                                      const AngleSearchOptions& options) {
  options.validate();
  RotationalBlurModel probe = model;
  probe.angle = 0.0;
  probe.mask = torch::Tensor();
  const Setup s = make_setup(blurred, probe, "angle search", /*masked_boundary=*/false);
  const PolarGrid& grid = s.step.grid();
  const int64_t A = grid.angles(), R = grid.rings(), F = A / 2 + 1;
  if (sigma < 0) sigma = estimate_noise_sigma(s.y.to(torch::kFloat64)).mean().item<double>();

  // Rings wholly on the image (and on the part, with a mask), from r = 4 px.
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto keep = grid.inside().to(f64);
  if (model.mask.defined()) keep = keep * grid.to_polar(prepared_mask(model, s.y).to(f64)).amin(0).squeeze(0).gt(0.999);
  auto radius = grid.r_min() + torch::arange(R, f64) * grid.radial_step();
  auto full = (std::get<0>(keep.min(1)) > 0.5) & (radius >= 4.0);
  auto rings = full.nonzero().flatten();
  UNROLL_CHECK(rings.numel() > 0, "angle search: no ring about the centre (", model.centre_x, ", ", model.centre_y,
               ") lies wholly on the image and the part");
  auto r_used = radius.index_select(0, rings);
  auto u = s.step.y_polar().cpu().to(torch::kFloat64).mean(1).index_select(1, rings);  // [N,n,A]
  auto spectrum = torch::fft::rfft(u - u.mean(-1, true), A, -1);
  // Noise floor: white noise of std sigma has expected power A sigma^2 per harmonic (luminance: / C).
  const double floor = std::max(1e-12, A * sigma * sigma / s.y.size(1));
  auto logp = torch::log(spectrum.abs().pow(2).mean(0) + floor);  // [n,F]
  // Each ring up to its pixel resolution: arc wavelength 2 pi r / m >= 2 / 0.7 px.
  auto m = torch::arange(F, f64);
  auto valid = ((m.view({1, F}) <= 0.7 * M_PI * r_used.view({-1, 1})) & (m.view({1, F}) >= 1)).to(f64);
  // The smooth trend of natural spectra (a quadratic in log m per ring) is removed; the notches stay.
  auto lm = torch::log(m.clamp_min(1.0));
  auto basis = torch::stack({torch::ones_like(lm), lm, lm * lm}, 1);  // [F,3]
  auto count = valid.sum(0);
  auto profile = (fit_residuals(logp, basis, valid) * valid).sum(0) / count.clamp_min(1.0);
  auto weight = count / count.sum();
  UNROLL_CHECK(count.gt(0).sum().item<int64_t>() >= 8, "angle search: too few usable harmonics (image too small?)");

  auto score = [&](double angle) {
    auto t = torch::log(torch::sinc(m * (angle / 2.0) / M_PI).pow(2) + 1e-4);
    auto td = fit_residuals(t.view({1, F}), basis, weight.view({1, F})).view({F});
    auto pd = fit_residuals(profile.view({1, F}), basis, weight.view({1, F})).view({F});
    auto cov = (td * pd * weight).sum();
    auto var = (td.pow(2) * weight).sum() * (pd.pow(2) * weight).sum();
    return (cov / var.sqrt().clamp_min(1e-30)).item<double>();
  };
  AngleEstimate est;
  const double lo = std::log(options.min_angle), hi = std::log(options.max_angle);
  int best = 0;
  for (int i = 0; i < options.candidates; ++i) {
    est.candidates.push_back(std::exp(lo + (hi - lo) * i / (options.candidates - 1)));
    est.scores.push_back(score(est.candidates.back()));
    if (est.scores[i] > est.scores[best]) best = i;
  }
  // Golden section between the best grid point's neighbours (log scale).
  double a = std::log(est.candidates[std::max(0, best - 1)]);
  double b = std::log(est.candidates[std::min(options.candidates - 1, best + 1)]);
  const double g = (std::sqrt(5.0) - 1.0) / 2.0;
  double c = b - g * (b - a), e = a + g * (b - a), fc = score(std::exp(c)), fe = score(std::exp(e));
  for (int i = 0; i < 20; ++i) {
    if (fc > fe) {
      b = e, e = c, fe = fc, c = b - g * (b - a), fc = score(std::exp(c));
    } else {
      a = c, c = e, fc = fe, e = a + g * (b - a), fe = score(std::exp(e));
    }
  }
  est.angle = est.candidates[best];
  double best_score = est.scores[best];
  if (fc > best_score) best_score = fc, est.angle = std::exp(c);
  if (fe > best_score) est.angle = std::exp(e);
  return est;
}

double default_rotational_wiener_nsr(const RotationalBlurModel& model, double sigma) {
  return 400.0 * std::pow(model.effective_sigma(sigma), 2);
}

}  // namespace unroll
