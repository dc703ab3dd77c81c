#include "hqs/rotational.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

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

void RotationalHqsOptions::validate() const {
  pnp.validate();
  UNROLL_CHECK(pnp.kernel_error == 0, "rotational hqs: kernel_error (the error of a uniform kernel) does not apply to "
                                      "rotational blur, got ", pnp.kernel_error);
}

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

void CentreSearchOptions::validate() const {
  UNROLL_CHECK(std::isfinite(search_margin) && search_margin >= 0,
               "centre search: search_margin must be >= 0, got ", search_margin);
  UNROLL_CHECK(coarse_candidates >= 3, "centre search: coarse_candidates must be >= 3, got ", coarse_candidates);
  UNROLL_CHECK(starts >= 1, "centre search: starts must be >= 1, got ", starts);
  UNROLL_CHECK(block >= 1, "centre search: block must be >= 1, got ", block);
  UNROLL_CHECK(std::isfinite(tolerance) && tolerance > 0, "centre search: tolerance must be > 0 pixels, got ",
               tolerance);
  UNROLL_CHECK(std::isfinite(core_radius) && core_radius > 0, "centre search: core_radius must be > 0 pixels, got ",
               core_radius);
  UNROLL_CHECK(std::isfinite(min_contrast) && min_contrast >= 0 && min_contrast < 1,
               "centre search: min_contrast must be in [0,1), got ", min_contrast);
  angle.validate();
}

namespace {

/// Structure-tensor sums over blocks: positions (weighted centroids) and J = sum w g g^T, each [B].
struct TensorField {
  torch::Tensor px, py, jxx, jxy, jyy;
};

/// The structure tensor components gxx, gxy, gyy [H',W'] of the image interior (pixel (i, j) of it at
/// (x, y) = (j + 1, i + 1)) weighted by `w` and summed over `block` x `block` blocks, each placed at
/// its weighted centroid; blocks with no weight are dropped.
TensorField block_field(const torch::Tensor& gxx, const torch::Tensor& gxy, const torch::Tensor& gyy,
                        const torch::Tensor& w, int64_t block) {
  const int64_t h = gxx.size(0), wd = gxx.size(1);
  const int64_t hb = (h + block - 1) / block, wb = (wd + block - 1) / block;
  auto xs = (torch::arange(wd, gxx.options()) + 1.0).view({1, wd}).expand({h, wd});
  auto ys = (torch::arange(h, gxx.options()) + 1.0).view({h, 1}).expand({h, wd});
  auto sum_blocks = [&](const torch::Tensor& f) {
    auto p = torch::constant_pad_nd(f, {0, wb * block - wd, 0, hb * block - h});
    return p.reshape({hb, block, wb, block}).sum({1, 3}).flatten();
  };
  auto sw = sum_blocks(w);
  auto keep = sw.gt(0).nonzero().flatten();
  sw = sw.index_select(0, keep);
  TensorField f;
  f.px = sum_blocks(w * xs).index_select(0, keep) / sw;
  f.py = sum_blocks(w * ys).index_select(0, keep) / sw;
  f.jxx = sum_blocks(w * gxx).index_select(0, keep);
  f.jxy = sum_blocks(w * gxy).index_select(0, keep);
  f.jyy = sum_blocks(w * gyy).index_select(0, keep);
  return f;
}

/// Tangential and total gradient energy about each candidate centre (cx, cy: [K]), blended towards
/// half the total within `core` pixels of the centre; returns the tangential energies [K].
torch::Tensor tangential_energy(const TensorField& f, const torch::Tensor& cx, const torch::Tensor& cy, double core) {
  const int64_t k = cx.numel(), b = f.px.numel();
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 21) / std::max<int64_t>(b, 1));
  std::vector<torch::Tensor> out;
  const double c2 = core * core;
  auto half_trace = 0.5 * (f.jxx + f.jyy);
  for (int64_t s = 0; s < k; s += chunk) {
    const int64_t n = std::min(chunk, k - s);
    auto dx = f.px.view({1, b}) - cx.narrow(0, s, n).view({n, 1});
    auto dy = f.py.view({1, b}) - cy.narrow(0, s, n).view({n, 1});
    auto num = dy * dy * f.jxx - 2.0 * dx * dy * f.jxy + dx * dx * f.jyy + c2 * half_trace;
    out.push_back((num / (dx * dx + dy * dy + c2)).sum(1));
  }
  return torch::cat(out);
}

/// Candidate centres of a grid: columns xs [nx], rows ys [ny] -> flattened (cx, cy), row-major.
std::pair<torch::Tensor, torch::Tensor> grid_points(const torch::Tensor& xs, const torch::Tensor& ys) {
  auto cx = xs.view({1, -1}).expand({ys.numel(), xs.numel()}).flatten();
  auto cy = ys.view({-1, 1}).expand({ys.numel(), xs.numel()}).flatten();
  return {cx.contiguous(), cy.contiguous()};
}

}  // namespace

CentreEstimate estimate_rotation_centre(const torch::Tensor& blurred, const RotationalBlurModel& model, double sigma,
                                        const CentreSearchOptions& options) {
  options.validate();
  RotationalBlurModel probe = model;
  if (options.estimate_angle) probe.angle = 0.0;
  probe.validate();
  UNROLL_CHECK(options.estimate_angle || model.angle > 0,
               "centre search: a known sweep (estimate_angle = false) must be > 0, got ", model.angle);
  auto y = as_image_batch(blurred);
  check_image(y, "centre search input");
  const int64_t h = y.size(2), w = y.size(3);
  UNROLL_CHECK(h >= 16 && w >= 16, "centre search: the image must be at least 16x16 pixels, got ", w, "x", h);
  // Luminance in float64 on the input's device; gradients by central differences on the interior.
  auto lum = y.to(torch::kFloat64).mean(1, true);  // [N,1,H,W]
  if (sigma < 0) sigma = estimate_noise_sigma(y.to(torch::kFloat64)).mean().item<double>();
  UNROLL_CHECK(std::isfinite(sigma), "centre search: sigma must be finite, got ", sigma);
  const double lum_sigma2 = sigma * sigma / y.size(1);
  // Shading (ramps, vignetting) is coherent and untouched by the blur, so it would vote for its own
  // direction: the gradients are taken of the high-pass lum - box5(lum) (edge-replicated), whose
  // noise gain per gradient component (`noise_gain`, times sigma_lum^2) is measured on an impulse.
  auto high_pass = [](const torch::Tensor& v) {
    auto padded = torch::replication_pad2d(v, {2, 2, 2, 2});
    return v - torch::avg_pool2d(padded, {5, 5}, {1, 1});
  };
  auto grad_x = [](const torch::Tensor& v) {
    const int64_t hh = v.size(2), ww = v.size(3);
    return 0.5 * (v.narrow(3, 2, ww - 2) - v.narrow(3, 0, ww - 2)).narrow(2, 1, hh - 2);
  };
  auto grad_y = [](const torch::Tensor& v) {
    const int64_t hh = v.size(2), ww = v.size(3);
    return 0.5 * (v.narrow(2, 2, hh - 2) - v.narrow(2, 0, hh - 2)).narrow(3, 1, ww - 2);
  };
  auto impulse = torch::zeros({1, 1, 15, 15}, lum.options());
  impulse.index_put_({0, 0, 7, 7}, 1.0);
  const double noise_gain = grad_x(high_pass(impulse)).pow(2).sum().item<double>();
  const auto hp = high_pass(lum);
  auto gx = grad_x(hp), gy = grad_y(hp);
  torch::Tensor weight = torch::ones({h - 2, w - 2}, lum.options());
  if (model.mask.defined()) {
    auto m = prepared_mask(model, y).to(torch::kFloat64);
    // Pixels well inside the part: the mask's minimum over 5x5 (the gradient stencil and a margin).
    auto eroded = -torch::max_pool2d(-m, {5, 5}, {1, 1}, {2, 2});
    weight = eroded.gt(0.999).to(torch::kFloat64).amin(0).squeeze(0).narrow(0, 1, h - 2).narrow(1, 1, w - 2);
    UNROLL_CHECK(weight.sum().item<double>() > 0, "centre search: no pixel lies well inside the mask");
  }
  // Several images of one centre: their tensors add up.
  auto gxx = (gx * gx).sum(0).squeeze(0), gxy = (gx * gy).sum(0).squeeze(0), gyy = (gy * gy).sum(0).squeeze(0);
  const double pixels = weight.sum().item<double>() * y.size(0);
  // Structure check: noise alone gives E|g|^2 = 2 noise_gain sigma_lum^2.
  const double energy = ((gxx + gyy) * weight).sum().item<double>();
  UNROLL_CHECK(energy > 1.3 * noise_gain * pixels * lum_sigma2 + 1e-10 * pixels,
               "centre search: the image has no structure above the noise to locate a centre (flat image?)");

  TensorField coarse = block_field(gxx, gxy, gyy, weight, options.block);
  {
    // Every textured block votes with its direction alone: J_b / tr J_b (strong edges of the scene
    // would otherwise outvote the blur); blocks at the noise level carry no direction.
    auto tr = coarse.jxx + coarse.jyy;
    auto floor_b = 4.0 * noise_gain * lum_sigma2 * y.size(0) * options.block * options.block + 1e-12;
    auto keep = tr.gt(floor_b).nonzero().flatten();
    UNROLL_CHECK(keep.numel() >= 8, "centre search: too few textured blocks (", keep.numel(), ") to locate a centre");
    tr = tr.index_select(0, keep);
    coarse.px = coarse.px.index_select(0, keep), coarse.py = coarse.py.index_select(0, keep);
    coarse.jxx = coarse.jxx.index_select(0, keep) / tr, coarse.jxy = coarse.jxy.index_select(0, keep) / tr;
    coarse.jyy = coarse.jyy.index_select(0, keep) / tr;
  }
  const double votes = static_cast<double>(coarse.px.numel());

  CentreEstimate est;
  const double mx = options.search_margin * w, my = options.search_margin * h;
  const int g = options.coarse_candidates;
  auto xs = torch::linspace(-mx, w - 1 + mx, g, lum.options());
  auto ys = torch::linspace(-my, h - 1 + my, g, lum.options());
  const double step_x = (w - 1 + 2 * mx) / (g - 1), step_y = (h - 1 + 2 * my) / (g - 1);
  auto [cx, cy] = grid_points(xs, ys);
  auto scores = (tangential_energy(coarse, cx, cy, options.core_radius) / votes).cpu();
  est.grid_x = std::vector<double>(xs.cpu().data_ptr<double>(), xs.cpu().data_ptr<double>() + g);
  auto ys_cpu = ys.cpu();
  est.grid_y = std::vector<double>(ys_cpu.data_ptr<double>(), ys_cpu.data_ptr<double>() + g);
  est.grid_scores = std::vector<double>(scores.data_ptr<double>(), scores.data_ptr<double>() + g * g);

  // Starts: the best local minima of the coarse grid (8-neighbourhood), best first; ties by index.
  std::vector<int> minima;
  for (int i = 0; i < g; ++i) {
    for (int j = 0; j < g; ++j) {
      const double v = est.grid_scores[i * g + j];
      bool is_min = true;
      for (int di = -1; di <= 1 && is_min; ++di)
        for (int dj = -1; dj <= 1 && is_min; ++dj) {
          const int a = i + di, b = j + dj;
          if ((di || dj) && a >= 0 && a < g && b >= 0 && b < g && est.grid_scores[a * g + b] < v) is_min = false;
        }
      if (is_min) minima.push_back(i * g + j);
    }
  }
  std::stable_sort(minima.begin(), minima.end(),
                   [&](int a, int b) { return est.grid_scores[a] < est.grid_scores[b]; });
  if (static_cast<int>(minima.size()) > options.starts) minima.resize(options.starts);

  double best_score = std::numeric_limits<double>::infinity(), best_x = 0, best_y = 0;
  auto offsets = torch::arange(-2, 3, lum.options());
  for (int start : minima) {
    double bx = est.grid_x[start % g], by = est.grid_y[start / g];
    double sx = step_x, sy = step_y, score = est.grid_scores[start];
    while (std::max(sx, sy) > options.tolerance) {
      sx /= 2, sy /= 2;
      auto [kx, ky] = grid_points(bx + sx * offsets, by + sy * offsets);
      auto e = (tangential_energy(coarse, kx, ky, options.core_radius) / votes).cpu();
      const int64_t i = e.argmin().item<int64_t>();
      score = e[i].item<double>();
      bx = kx[i].item<double>(), by = ky[i].item<double>();
    }
    if (score < best_score) best_score = score, best_x = bx, best_y = by;
  }
  est.centre_x = best_x;
  est.centre_y = best_y;
  est.tangential_fraction = best_score;
  est.contrast = std::max(0.0, 1.0 - 2.0 * best_score);
  est.reliable = est.contrast >= options.min_contrast;
  if (!est.reliable) {
    warn(detail::concat("centre search: no clear rotational blur (contrast ", est.contrast, " < ",
                        options.min_contrast, "); the centre (", est.centre_x, ", ", est.centre_y,
                        ") is unreliable"));
  }
  if (options.estimate_angle) {
    RotationalBlurModel at = model;
    at.centre_x = est.centre_x;
    at.centre_y = est.centre_y;
    est.angle_search = estimate_rotation_angle(blurred, at, sigma, options.angle);
    est.angle = est.angle_search.angle;
  } else {
    est.angle = model.angle;
  }
  return est;
}

}  // namespace unroll
