// Behaviour of the classical solvers on small synthetic problems.
#include <gtest/gtest.h>

#include "classic/admm_tv.h"
#include "classic/hqs_tv.h"
#include "classic/richardson_lucy.h"
#include "classic/wiener.h"
#include "core/data_step.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "core/shrink.h"
#include "test_util.h"

namespace unroll {
namespace {

struct Problem {
  torch::Tensor sharp, kernel, blurred;
  double input_psnr;
};

Problem make_problem(int64_t channels = 3, double sigma = 0.01) {
  Problem p;
  p.sharp = test::test_image(channels, 48, 56, 11);
  p.kernel = test::test_kernel(9, 3);
  p.blurred = add_gaussian_noise(conv_circular(p.sharp, p.kernel), sigma, 0);
  p.input_psnr = psnr(p.blurred, p.sharp);
  return p;
}

TEST(AdmmTv, RestoresAndStopsOnTolerance) {
  auto p = make_problem();
  AdmmTvOptions o;
  o.lambda = default_tv_lambda(0.01);
  o.rho = 10 * o.lambda;
  o.iterations = 500;
  o.tolerance = 1e-3;
  auto r = admm_tv(p.blurred, p.kernel, o);
  EXPECT_GT(psnr(r.image, p.sharp), p.input_psnr + 5.0);
  EXPECT_EQ(r.stop_reason, StopReason::Tolerance);
  EXPECT_LT(r.iterations, 500);
  o.tolerance = 0;
  o.iterations = 7;
  int calls = 0;
  o.progress = [&](int done, int total) { ++calls; EXPECT_EQ(total, 7); };
  auto r2 = admm_tv(p.blurred, p.kernel, o);
  EXPECT_EQ(r2.iterations, 7);
  EXPECT_EQ(calls, 7);
  EXPECT_EQ(r2.stop_reason, StopReason::MaxIterations);
  o.isotropic = false;
  EXPECT_GT(psnr(admm_tv(p.blurred, p.kernel, o).image, p.sharp), p.input_psnr + 3.0);
}

// The textbook scaled-form ADMM-TV iteration (Boyd et al. 2011), kept here as the reference for the
// solver's fused, in-place implementation.
SolverResult reference_admm_tv(const torch::Tensor& y, const torch::Tensor& k, const AdmmTvOptions& o) {
  FourierDataStep step(y, k);
  auto reg = grad_power_spectrum(y.size(2), y.size(3), y.options());
  auto rho = torch::scalar_tensor(o.rho, y.options());
  auto x = y;
  auto z = grad_circular(x);
  auto u = torch::zeros_like(z);
  SolverResult r;
  r.stop_reason = StopReason::MaxIterations;
  for (int it = 0; it < o.iterations; ++it) {
    x = step.solve_spectral(torch::fft::rfft2(grad_circular_adjoint(z - u)), rho, reg);
    auto dx = grad_circular(x);
    auto z_prev = z;
    z = o.isotropic ? group_soft_threshold(dx + u, o.lambda / o.rho) : soft_threshold(dx + u, o.lambda / o.rho);
    u = u + dx - z;
    r.iterations = it + 1;
    if (o.tolerance > 0.0) {
      const double scale = std::max(dx.norm().item<double>(), 1e-12);
      const double primal = (dx - z).norm().item<double>() / scale;
      const double dual = (z - z_prev).norm().item<double>() / scale;
      r.residual = std::max(primal, dual);
      if (primal < o.tolerance && dual < o.tolerance) {
        r.stop_reason = StopReason::Tolerance;
        break;
      }
    }
  }
  r.image = x;
  return r;
}

TEST(AdmmTv, FusedIterationEqualsTheTextbookFormulas) {
  auto p = make_problem();
  auto y = p.blurred.to(torch::kFloat64);
  auto k = p.kernel.to(torch::kFloat64);
  for (bool isotropic : {true, false}) {
    for (double tolerance : {0.0, 1e-3}) {
      AdmmTvOptions o;
      o.lambda = default_tv_lambda(0.01);
      o.rho = 10 * o.lambda;
      o.iterations = 60;
      o.tolerance = tolerance;
      o.isotropic = isotropic;
      auto fused = admm_tv(y, k, o);
      auto ref = reference_admm_tv(y, k, o);
      EXPECT_EQ(fused.iterations, ref.iterations) << "isotropic " << isotropic << " tol " << tolerance;
      EXPECT_EQ(fused.stop_reason, ref.stop_reason);
      EXPECT_NEAR(fused.residual, ref.residual, 1e-9);
      EXPECT_LT(test::max_abs_diff(fused.image, ref.image), 1e-10) << "isotropic " << isotropic;
      // float32 stays within float round-off of the float64 reference.
      if (tolerance == 0.0) {
        auto f32 = admm_tv(p.blurred, p.kernel, o);
        EXPECT_LT(test::max_abs_diff(f32.image.to(torch::kFloat64), ref.image), 1e-4);
      }
    }
  }
}

TEST(Shrink, BallProjectionsAreTheComplementsOfTheShrinkages) {
  auto v = torch::randn({2, 3, 2, 9, 11}, torch::kFloat64) * 0.2;
  v[0][0][0][0][0] = 0.0;  // a zero gradient
  v[0][0][1][0][0] = 0.0;
  for (double t : {0.0, 0.05, 0.3}) {
    torch::Tensor p;
    project_group_ball_out(v, t, p);
    EXPECT_LT(test::max_abs_diff(p, v - group_soft_threshold(v, t)), 1e-14) << t;
    project_linf_ball_out(v, t, p);
    EXPECT_LT(test::max_abs_diff(p, v - soft_threshold(v, t)), 1e-14) << t;
  }
  torch::Tensor p;
  EXPECT_THROW(project_group_ball_out(v, -1.0, p), Error);
  EXPECT_THROW(project_group_ball_out(v.select(2, 0), 0.1, p), Error);
}

TEST(AdmmTv, ValidatesOptions) {
  auto p = make_problem(1);
  AdmmTvOptions o;
  o.rho = 0;
  try {
    admm_tv(p.blurred, p.kernel, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rho must be > 0, got 0"), std::string::npos) << e.what();
  }
}

TEST(HqsTv, RestoresWithTvAndHyperLaplacian) {
  auto p = make_problem();
  HqsTvOptions o;
  o.lambda = default_hqs_lambda(0.01);
  auto r = hqs_tv(p.blurred, p.kernel, o);
  EXPECT_EQ(r.iterations, o.total_iterations());
  EXPECT_EQ(o.total_iterations(), 6 * 3);  // beta 1 .. 256 by 2*sqrt(2): 6 values
  EXPECT_GT(psnr(r.image, p.sharp), p.input_psnr + 5.0);
  o.alpha = 2.0 / 3.0;
  o.lambda = default_hqs_lambda(0.01, o.alpha);
  EXPECT_GT(psnr(hqs_tv(p.blurred, p.kernel, o).image, p.sharp), p.input_psnr + 5.0);
  o.alpha = 1.5;
  EXPECT_THROW(hqs_tv(p.blurred, p.kernel, o), Error);
}

TEST(HyperLaplacianProx, MinimisesItsObjective) {
  auto v = torch::linspace(-2, 2, 81, torch::kFloat64);
  for (double alpha : {0.5, 2.0 / 3.0, 0.8}) {
    const double beta = 4.0;
    auto w = hyper_laplacian_prox(v, alpha, beta);
    auto f = [&](const torch::Tensor& x) { return x.abs().pow(alpha) + beta / 2 * (x - v).pow(2); };
    // Compare against a dense grid search.
    auto grid = torch::linspace(-2.5, 2.5, 20001, torch::kFloat64).reshape({-1, 1});
    auto best = std::get<0>((grid.abs().pow(alpha) + beta / 2 * (grid - v.reshape({1, -1})).pow(2)).min(0));
    EXPECT_LT((f(w) - best).max().item<double>(), 1e-6) << "alpha " << alpha;
  }
  EXPECT_TRUE(torch::allclose(hyper_laplacian_prox(v, 1.0, 2.0), soft_threshold(v, 0.5)));
}

// The boundary-normalised RL iteration written out as in Bertero & Boccacci 2005 (the reference for
// the solver's in-place version): x <- x * A^T(mask * y / A x) / A^T mask on the extended grid.
std::pair<torch::Tensor, double> reference_normalized_rl(const torch::Tensor& y, const torch::Tensor& k, int iterations) {
  const int64_t h = y.size(2), w = y.size(3), kh = k.size(0), kw = k.size(1);
  const int64_t top = kh / 2, left = kw / 2, gh = h + kh - 1, gw = w + kw - 1;
  auto data = torch::constant_pad_nd(y, {left, kw - 1 - left, top, kh - 1 - top});
  auto mask = torch::zeros({1, 1, gh, gw}, y.options());
  mask.narrow(2, top, h).narrow(3, left, w).fill_(1.0);
  SameConvolution A(k, gh, gw);
  auto norm = A.adjoint(mask);
  auto x = y.mean({2, 3}, true).clamp_min(1e-6).expand_as(data).clone();
  double residual = 0.0;
  for (int it = 0; it < iterations; ++it) {
    auto ratio = data / (A.forward(x) + 1e-12).clamp_min(1e-12) * mask;
    auto update = torch::where(norm > 1e-3, A.adjoint(ratio) / norm.clamp_min(1e-3), torch::ones_like(x));
    auto x_new = x * update.clamp_min(0.0);
    residual = ((x_new - x).norm() / x.norm()).item<double>();  // relative change on the extended grid
    x = x_new;
  }
  return {x.narrow(2, top, h).narrow(3, left, w), residual};
}

TEST(RichardsonLucy, NormalizedIterationEqualsTheReferenceFormula) {
  auto p = make_problem(2, 0.0);
  auto y = p.blurred.to(torch::kFloat64).clamp_min(0.0);
  auto k = p.kernel.to(torch::kFloat64);
  RichardsonLucyOptions o;
  o.iterations = 12;
  auto r = richardson_lucy(y, k, o);
  auto [ref, ref_residual] = reference_normalized_rl(y, k, o.iterations);
  EXPECT_LT(test::max_abs_diff(r.image, ref), 1e-10);
  EXPECT_NEAR(r.residual, ref_residual, 1e-9);  // the last step's relative change
  EXPECT_GT(r.residual, 0.0);
}

// The zero-boundary (scikit-image's) and circular RL iterations as written in the textbook, on grids
// big enough (75 x 70 with a 9 x 9 kernel) for the padded grid to be fft_length's choice (80) rather
// than the smallest fast size (75): x <- x * A^T(y / (A x + eps)).
TEST(RichardsonLucy, ZeroAndCircularIterationsEqualTheTextbookFormula) {
  using BM = RichardsonLucyOptions::BoundaryModel;
  auto sharp = test::test_image(2, 75, 70, 3).to(torch::kFloat64);
  auto k = test::test_kernel(9, 5).to(torch::kFloat64);
  auto y = conv_fft(sharp, k, ConvMode::Same).clamp_min(0.0);
  for (BM model : {BM::Zero, BM::Circular}) {
    RichardsonLucyOptions o;
    o.iterations = 8;
    o.boundary = model;
    auto r = richardson_lucy(y, k, o);
    auto x = y.mean({2, 3}, true).clamp_min(1e-6).expand_as(y).clone();
    torch::Tensor previous;
    for (int it = 0; it < o.iterations; ++it) {
      auto blur = model == BM::Zero ? conv_fft(x, k, ConvMode::Same) : conv_circular(x, k);
      auto ratio = y / (blur + o.epsilon);
      auto back = model == BM::Zero ? conv_fft(ratio, k.flip({0, 1}), ConvMode::Same)
                                    : corr_circular(ratio, k);
      previous = x;
      x = x * back;
    }
    EXPECT_LT(test::max_abs_diff(r.image, x), 1e-10) << (model == BM::Zero ? "zero" : "circular");
    EXPECT_NEAR(r.residual, ((x - previous).norm() / previous.norm()).item<double>(), 1e-9);
  }
}

// On images large enough for SameConvolution to tile (FFTW builds), the zero-boundary and normalised
// RL iterations equal those on the padded grid (the torch backend, where nothing tiles).
TEST(RichardsonLucy, TiledAndPaddedGridIteratesAgree) {
  if (!fftw_available()) GTEST_SKIP() << "built without FFTW: no tiles";
  using BM = RichardsonLucyOptions::BoundaryModel;
  auto sharp = test::test_image(1, 530, 520, 4).to(torch::kFloat64);
  auto k = test::test_kernel(15, 2).to(torch::kFloat64);
  auto y = conv_fft(sharp, k, ConvMode::Same).clamp_min(0.0);
  const FftBackend before = fft_backend();
  for (BM model : {BM::Zero, BM::Normalized}) {
    RichardsonLucyOptions o;
    o.iterations = 5;
    o.boundary = model;
    set_fft_backend(FftBackend::Fftw);
    const int64_t grid = model == BM::Zero ? 0 : 14;
    EXPECT_TRUE(SameConvolution(k, 530 + grid, 520 + grid).tiled());
    auto tiled = richardson_lucy(y, k, o);
    set_fft_backend(FftBackend::Torch);
    auto padded = richardson_lucy(y, k, o);
    set_fft_backend(before);
    EXPECT_LT(test::max_abs_diff(tiled.image, padded.image), 1e-10);
    EXPECT_NEAR(tiled.residual, padded.residual, 1e-9);
  }
}

// wiener() runs its filter as one fused pass on CPU; it equals the formula written with tensors,
// batched over kernels and channels, for both regularisers and both precisions.
TEST(Wiener, FusedFilterEqualsTheTensorFormula) {
  auto y = torch::cat({test::test_image(3, 40, 52, 1), test::test_image(3, 40, 52, 2)});
  auto kernels = torch::stack({test::test_kernel(9, 3), test::test_kernel(9, 8)}).unsqueeze(1);
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    auto yd = y.to(dtype), kd = kernels.to(dtype);
    auto otf = psf2otf(kd, 40, 52);
    auto fy = torch::fft::rfft2(yd);
    for (auto reg : {WienerOptions::Regularizer::Laplacian, WienerOptions::Regularizer::Identity}) {
      WienerOptions o;
      o.nsr = 0.02;
      o.regularizer = reg;
      auto r2 = reg == WienerOptions::Regularizer::Laplacian ? laplacian_power_spectrum(40, 52, yd.options())
                                                             : torch::ones({1}, yd.options());
      auto expected = torch::fft::irfft2(otf.conj() * fy / (otf.abs().square() + o.nsr * r2),
                                         std::vector<int64_t>{40, 52});
      const double tol = dtype == torch::kFloat64 ? 1e-12 : 2e-5;
      EXPECT_LT(test::max_abs_diff(wiener(yd, kd, o), expected), tol) << dtype;
    }
  }
}

// GCV's balance restores nearly as well as the best balance in hindsight and grows with the noise.
TEST(Wiener, GcvBalanceIsNearTheBestAndGrowsWithNoise) {
  const auto sharp = test::test_image(3, 96, 112, 5);
  const auto k = test::test_kernel(11, 3);
  const auto clean = conv_circular(sharp, k);
  double previous = 0;
  for (double sigma : {0.005, 0.01, 0.03}) {
    const auto y = add_gaussian_noise(clean, sigma, 1);
    const double nsr = gcv_wiener_nsr(y, k, Boundary::Circular);
    WienerOptions o;
    o.nsr = nsr;
    const double at_gcv = psnr(wiener(y, k, o), sharp);
    double best = -1;
    for (double e = -6; e <= 0; e += 0.25) {
      o.nsr = std::pow(10.0, e);
      best = std::max(best, psnr(wiener(y, k, o), sharp));
    }
    std::cout << "sigma " << sigma << ": gcv nsr " << nsr << " (30 sigma^2 = " << 30 * sigma * sigma << "), "
              << at_gcv << " dB, best " << best << " dB\n";
    EXPECT_GT(at_gcv, best - 0.75) << sigma;
    EXPECT_GT(nsr, previous) << sigma;
    previous = nsr;
  }
  const auto y = add_gaussian_noise(clean, 0.01, 1);
  EXPECT_THROW(gcv_wiener_nsr(torch::cat({y, y}), k), Error);
}

TEST(RichardsonLucy, ImprovesAndKeepsBordersBright) {
  auto p = make_problem(1, 0.0);
  RichardsonLucyOptions o;
  o.iterations = 30;
  o.boundary = RichardsonLucyOptions::BoundaryModel::Circular;
  auto r = richardson_lucy(p.blurred, p.kernel, o);
  EXPECT_GT(psnr(r.image, p.sharp), p.input_psnr + 2.0);
  EXPECT_GE(r.image.min().item<double>(), 0.0);
  // Flat image blurred with a linear model: the zero-boundary model darkens the borders,
  // the normalised one does not.
  auto flat = torch::full({1, 1, 40, 40}, 0.6);
  auto k = test::test_kernel(7, 1);
  o.boundary = RichardsonLucyOptions::BoundaryModel::Zero;
  o.initial_value = 0.5;
  auto zero = richardson_lucy(flat, k, o).image;
  o.boundary = RichardsonLucyOptions::BoundaryModel::Normalized;
  o.initial_value = -1;
  auto norm = richardson_lucy(flat, k, o).image;
  EXPECT_LT(zero[0][0][0][0].item<double>(), 0.5);
  EXPECT_LT((norm - 0.6).abs().max().item<double>(), 2e-3);
}

TEST(RichardsonLucy, AccelerationDampingAndTv) {
  auto p = make_problem(1, 0.0);
  RichardsonLucyOptions o;
  o.iterations = 15;
  o.boundary = RichardsonLucyOptions::BoundaryModel::Circular;
  const double plain = psnr(richardson_lucy(p.blurred, p.kernel, o).image, p.sharp);
  o.accelerate = true;
  EXPECT_GT(psnr(richardson_lucy(p.blurred, p.kernel, o).image, p.sharp), plain);
  // Damping: with a huge threshold nothing moves from the flat start.
  o.accelerate = false;
  o.damping = 10.0;
  auto damped = richardson_lucy(p.blurred, p.kernel, o).image;
  EXPECT_LT((damped - p.blurred.mean()).abs().max().item<double>(), 1e-3);
  o.damping = 0;
  o.tv_weight = 0.002;
  auto noisy = make_problem(1, 0.02);
  o.iterations = 30;
  const double with_tv = psnr(richardson_lucy(noisy.blurred, noisy.kernel, o).image, noisy.sharp);
  o.tv_weight = 0;
  const double without_tv = psnr(richardson_lucy(noisy.blurred, noisy.kernel, o).image, noisy.sharp);
  EXPECT_GT(with_tv, without_tv);
  o.iterations = 0;
  EXPECT_THROW(richardson_lucy(p.blurred, p.kernel, o), Error);
}

TEST(Solvers, BatchedOverSamplesAndChannelsMatchesSingle) {
  auto a = make_problem(3), b = make_problem(3, 0.02);
  auto batch = torch::cat({a.blurred, b.blurred});
  auto kernels = torch::stack({a.kernel, test::test_kernel(9, 8)}).unsqueeze(1);
  AdmmTvOptions o;
  o.iterations = 10;
  o.tolerance = 0;
  auto both = admm_tv(batch, kernels, o).image;
  auto single = admm_tv(b.blurred, test::test_kernel(9, 8), o).image;
  EXPECT_LT(test::max_abs_diff(both[1], single[0]), 1e-5);
}

TEST(Solvers, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto p = make_problem();
  AdmmTvOptions o;
  o.iterations = 20;
  o.tolerance = 0;
  auto cpu = admm_tv(p.blurred, p.kernel, o).image;
  auto gpu = admm_tv(p.blurred.cuda(), p.kernel.cuda(), o).image.cpu();
  EXPECT_LT(test::max_abs_diff(cpu, gpu), 1e-4);
}

}  // namespace
}  // namespace unroll
