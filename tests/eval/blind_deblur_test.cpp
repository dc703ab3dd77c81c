// Non-blind methods with estimated kernels (eval/blind_deblur.h) and the blind side of the harness:
// the tile blend, local kernels that follow spatially varying blur, the grid picture, bad grids, the
// blind protocol's degradation and the shift-aligned metric, and `--kernel estimate` rows on a dataset
// without kernels.
#include "eval/blind_deblur.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/fft.h"
#include "core/kernel.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "datasets/kernels.h"
#include "datasets_io/fake_datasets.h"
#include "eval/harness.h"
#include "eval/protocol.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

using test::error_of;

// Piecewise-constant shapes with many edges: a scene blind estimation can work on.
torch::Tensor blocky_scene(int64_t c, int64_t h, int64_t w, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  auto small = torch::rand({1, c, h / 8, w / 8}, torch::kFloat64);
  return torch::nn::functional::interpolate(
             small, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kNearest))
      .contiguous();
}

TEST(BlindDeblur, GridParsingAndValidation) {
  EXPECT_EQ(parse_grid("3x4"), (std::pair<int64_t, int64_t>{3, 4}));
  EXPECT_EQ(parse_grid("2X2"), (std::pair<int64_t, int64_t>{2, 2}));
  for (const char* bad : {"3", "x4", "3x", "0x2", "3x4x5", "ax2", "100x2", "-1x2"})
    EXPECT_NE(error_of([&] { parse_grid(bad); }).find("--grid expects ROWSxCOLS"), std::string::npos) << bad;
  LocalKernelOptions l;
  l.rows = 8;
  l.cols = 8;
  EXPECT_NE(error_of([&] { l.validate(128, 128, 15); }).find("too fine"), std::string::npos);
  l.rows = 2;
  l.cols = 2;
  EXPECT_NO_THROW(l.validate(128, 128, 15));
  l.overlap = -1;
  EXPECT_THROW(l.validate(128, 128, 15), Error);
  EXPECT_EQ(parse_kernel_source("estimate-local"), KernelSource::EstimateLocal);
  EXPECT_NE(error_of([] { parse_kernel_source("guess"); }).find("given, estimate, estimate-local or perturbed"), std::string::npos);
}

// With the same kernel in every tile, the tile-wise deconvolution and its blend give (nearly) the
// whole-image result: the windows form a partition of unity and every tile's margin hides its borders.
TEST(BlindDeblur, TileBlendOfOneKernelIsTheWholeImageResult) {
  const auto sharp = blocky_scene(3, 96, 120, 3);
  const auto k = gaussian_kernel(1.5, 9);
  DeblurRequest r;
  r.blurred = conv_fft(torch::nn::functional::pad(sharp, torch::nn::functional::PadFuncOptions({4, 4, 4, 4})
                                                             .mode(torch::kReflect)),
                       k, ConvMode::Valid);
  r.sigma = 0.0;
  r.boundary = Boundary::LiuJia;
  EstimatedKernels same;
  same.kernel = k;
  KernelGrid g;
  g.rows = 2;
  g.cols = 3;
  g.row_edges = {0, 48, 96};
  g.col_edges = {0, 40, 80, 120};
  g.kernels = k.view({1, 1, 9, 9}).expand({6, 1, 9, 9}).contiguous();
  g.borrowed.assign(6, false);
  same.grid = g;
  const MethodParams p = {{"lambda", 1e-3}, {"iters", 40}, {"tol", 0}};
  r.kernel = k;
  const auto whole = run_method("admm", r, p).image;
  const auto tiled = deblur_with_kernels("admm", r, p, same).image;
  ASSERT_EQ(tiled.sizes(), whole.sizes());
  EXPECT_GT(psnr(tiled, whole), 40.0);
  EXPECT_GT(psnr(tiled, sharp), psnr(r.blurred, sharp) + 3.0);
  const auto picture = draw_kernel_grid(r.blurred, g);
  EXPECT_EQ(picture.sizes(), (std::vector<int64_t>{1, 3, 96, 120}));
}

// Without --noise, the deconvolution after an estimate assumes at least kEstimatedKernelSigmaFloor
// (the estimated kernel's error acts like noise); a given noise level is used as is.
TEST(BlindDeblur, UnknownNoiseGetsTheEstimatedKernelFloor) {
  const auto sharp = blocky_scene(1, 64, 64, 4);
  const auto k = gaussian_kernel(1.2, 7);
  EstimatedKernels e;
  e.kernel = k;
  e.whole.noise_sigma = 0.1 / 255;
  DeblurRequest r;
  r.blurred = conv_circular(sharp, k);
  r.boundary = Boundary::Circular;
  EXPECT_DOUBLE_EQ(estimated_kernel_sigma(r, e), kEstimatedKernelSigmaFloor);
  DeblurRequest floor = r;
  floor.kernel = k;
  floor.sigma = kEstimatedKernelSigmaFloor;
  EXPECT_TRUE(torch::equal(deblur_with_kernels("admm", r, {}, e).image, run_method("admm", floor, {}).image));
  e.whole.noise_sigma = 5.0 / 255;
  EXPECT_DOUBLE_EQ(estimated_kernel_sigma(r, e), 5.0 / 255);
  r.sigma = 0.5 / 255;
  EXPECT_DOUBLE_EQ(estimated_kernel_sigma(r, e), 0.5 / 255);
}

// Blur that differs between the left and the right half: the local kernels follow it (each side's
// tiles are closer to their own half's kernel than to the other's), and a flat tile borrows.
TEST(BlindDeblur, LocalKernelsFollowSpatiallyVaryingBlur) {
  const int64_t h = 160, w = 256;
  auto sharp = blocky_scene(1, h, w, 5);
  sharp.narrow(2, 0, 80).narrow(3, 0, 128).fill_(0.5);  // a flat corner: the top-left tile has no edges
  const auto horizontal = motion_kernel([] {
    MotionKernelOptions o;
    o.size = 13;
    o.length = 9;
    o.angle_deg = 0;
    return o;
  }());
  const auto vertical = motion_kernel([] {
    MotionKernelOptions o;
    o.size = 13;
    o.length = 9;
    o.angle_deg = 90;
    return o;
  }());
  // Linear blur of the reflect-extended scene (as a camera sees it), not circular: the tiles are
  // deconvolved with Liu-Jia boundaries, which expect a scene that continues past the border.
  const auto extended = torch::nn::functional::pad(sharp, torch::nn::functional::PadFuncOptions({6, 6, 6, 6})
                                                              .mode(torch::kReflect));
  auto left = conv_fft(extended, horizontal, ConvMode::Valid), right = conv_fft(extended, vertical, ConvMode::Valid);
  auto y = torch::cat({left.narrow(3, 0, w / 2), right.narrow(3, w / 2, w / 2)}, 3);
  y = add_gaussian_noise(y, 1.0 / 255, 1);
  BlindEstimateOptions o;
  o.kernel_size = 13;
  LocalKernelOptions l;
  l.rows = 2;
  l.cols = 2;
  l.overlap = 0;  // each tile sees only its own blur
  const EstimatedKernels e = estimate_kernels(y, KernelSource::EstimateLocal, o, l);
  ASSERT_TRUE(e.grid.has_value());
  const auto& g = *e.grid;
  EXPECT_TRUE(g.borrowed[0]) << "the flat top-left tile should borrow from its neighbours";
  auto distance = [](const torch::Tensor& a, const torch::Tensor& b) { return (a - b).norm().item<double>(); };
  for (int64_t t : {2, 1, 3}) {  // estimated tiles: bottom-left (horizontal blur), the right column (vertical)
    const auto k = g.kernels[t][0];
    EXPECT_NEAR(k.sum().item<double>(), 1.0, 1e-9);
    EXPECT_GE(k.min().item<double>(), 0.0);
    const bool is_left = t % 2 == 0;
    const double own = distance(k, is_left ? horizontal : vertical), other = distance(k, is_left ? vertical : horizontal);
    EXPECT_LT(own, other) << "tile " << t;
  }
}

// Tile-wise deconvolution with each tile's kernel: better than the blurred input, and better than
// one kernel for the whole image. Gaussian blurs (no spectral zeros): where the blur changes abruptly
// (a moving object's outline), a motion kernel's deconvolution rings across the tile that straddles
// the change, which is why tiles are widened by one kernel size only (eval/blind_deblur.h).
TEST(BlindDeblur, TileWiseDeconvolutionFollowsVaryingBlur) {
  const int64_t h = 128, w = 192;
  const auto sharp = blocky_scene(1, h, w, 7);
  const auto narrow = gaussian_kernel(0.8, 13), wide = gaussian_kernel(2.2, 13);
  const auto extended =
      torch::nn::functional::pad(sharp, torch::nn::functional::PadFuncOptions({6, 6, 6, 6}).mode(torch::kReflect));
  auto left = conv_fft(extended, narrow, ConvMode::Valid), right = conv_fft(extended, wide, ConvMode::Valid);
  auto y = add_gaussian_noise(torch::cat({left.narrow(3, 0, w / 2), right.narrow(3, w / 2, w / 2)}, 3), 1.0 / 255, 2);
  EstimatedKernels e;
  e.source = KernelSource::EstimateLocal;
  e.kernel = (narrow + wide) / 2;
  KernelGrid g;
  g.rows = 1;
  g.cols = 2;
  g.row_edges = {0, h};
  g.col_edges = {0, w / 2, w};
  g.kernels = torch::stack({narrow, wide}).unsqueeze(1);
  g.borrowed = {false, false};
  e.grid = g;
  DeblurRequest r;
  r.blurred = y;
  r.sigma = 1.0 / 255;
  r.boundary = Boundary::LiuJia;
  const double tiled = psnr(deblur_with_kernels("hqs-tv", r, {}, e).image, sharp);
  EstimatedKernels uniform = e;
  uniform.grid.reset();
  const double one_kernel = psnr(deblur_with_kernels("hqs-tv", r, {}, uniform).image, sharp);
  EXPECT_GT(tiled, psnr(y, sharp) + 3.0);
  EXPECT_GT(tiled, one_kernel + 1.0);
}

// The blind protocol blurs linearly: away from the border every blurred pixel is the kernel's
// weighted sum of the sharp neighbourhood around the same pixel (no wrap-around, no shift).
TEST(BlindProtocol, LinearBlurOfTheSceneAtTheSamePixels) {
  const fs::path dir = test::temp_dir("blind_protocol");
  test::put(dir / "images" / "a.png", blocky_scene(3, 64, 72, 2).to(torch::kFloat32));
  for (int64_t side : {9, 8}) {
    fs::remove_all(dir / "kernels");
    fs::create_directories(dir / "kernels");
    auto k = torch::rand({side, side}, torch::kFloat64) + 0.1;
    k = k / k.sum();
    write_kernel_text((dir / "kernels" / "k.csv").string(), k);
    BlindProtocolDataset d((dir / "images").string(), (dir / "kernels").string(), 0.0, 0);
    ASSERT_EQ(d.size(), 1);
    const ImagePair p = d.get(0);
    ASSERT_EQ(p.blurred.sizes(), p.sharp.sizes());
    const auto reference = conv_fft(p.sharp, p.kernel, ConvMode::Same);  // zero outside: compare the interior
    const int64_t m = side;
    auto inner = [&](const torch::Tensor& t) { return t.narrow(2, m, 64 - 2 * m).narrow(3, m, 72 - 2 * m); };
    EXPECT_LT(test::max_abs_diff(inner(p.blurred), inner(reference)), 0.5 / 255 + 1e-9) << side;  // 8-bit rounding
  }
  EXPECT_EQ(parse_eval_source("blind:/a:/b").kind, EvalSource::Kind::Blind);
  EXPECT_NE(error_of([] { parse_eval_source("blind:/a"); }).find("expected blind:IMAGES_DIR:KERNELS_DIR"),
            std::string::npos);
}

// Up to a shift: a translated restoration scores as well as the aligned one under shift-aligned, and
// far better than under the full-image metric.
TEST(BlindProtocol, ShiftAlignedMetricForgivesATranslation) {
  const auto sharp = blocky_scene(3, 64, 64, 4) * 0.8 + 0.1;
  const auto moved = torch::roll(sharp, {2, -1}, {2, 3});
  const auto aligned = score_image(moved, sharp, Metric::ShiftAligned);
  const auto full = score_image(moved, sharp, Metric::Full);
  EXPECT_GT(aligned.psnr, 60.0);
  EXPECT_GT(aligned.ssim, 0.999);
  EXPECT_LT(full.psnr, 30.0);
  EXPECT_EQ(parse_metric("shift-aligned"), Metric::ShiftAligned);
}

// `--kernel estimate` on a dataset without kernels (a fake GoPro layout): every non-blind method gets a
// row with a result, the estimate's time is kept apart, and without estimation they say "needs kernel".
TEST(BlindHarness, EstimatedKernelsGiveEveryNonBlindMethodARow) {
  const fs::path root = test::temp_dir("blind_harness");
  const auto k = gaussian_kernel(1.4, 9);
  test::make_fake_gopro(root / "gopro", "test", {"GOPR0001_00_00"}, {"000001", "000002"}, [&](int64_t i) {
    auto sharp = blocky_scene(3, 72, 80, static_cast<uint64_t>(10 + i)).to(torch::kFloat32);
    return test::FakePair{conv_circular(sharp, k.to(torch::kFloat32)).clamp(0, 1), sharp, {}};
  });
  const EvalSet set = open_eval_source(parse_eval_source("gopro:" + (root / "gopro").string()));
  std::vector<EvalMethod> methods;
  for (const char* m : {"wiener", "rl", "admm", "hqs-tv"}) methods.push_back(EvalMethod{m, m, {}, "", ""});
  EvalOptions o;
  o.progress = false;
  o.grids = 0;
  const EvalReport given = run_evaluation({set}, methods, o);
  for (const auto& r : given.rows) EXPECT_EQ(r.status, "needs kernel") << r.method;
  o.kernel = KernelSource::Estimate;
  o.estimate.kernel_size = 9;
  const EvalReport est = run_evaluation({set}, methods, o);
  ASSERT_EQ(est.rows.size(), 8u);
  for (const auto& r : est.rows) {
    EXPECT_EQ(r.status, "ok") << r.method << ": " << r.error;
    EXPECT_GT(r.kernel_seconds, 0.0);
    EXPECT_TRUE(std::isnan(r.error_ratio));  // no true kernel to compare with
  }
  ASSERT_EQ(est.datasets.size(), 1u);
  EXPECT_EQ(est.datasets[0].kernel_estimates, 2);
  EXPECT_GT(est.datasets[0].kernel_seconds, 0.0);
  for (const auto& m : est.datasets[0].methods) EXPECT_EQ(m.ok, 2) << m.method;
}

// `--kernel perturbed:LEVEL`: the methods get the true kernel made wrong (level 0: the true kernel), each
// also runs with the true kernel for the error ratio; a source without kernels says "needs kernel".
// Two synthetic RGB cases (noise 2.55/255, kernels of the synthetic source) of side `size` in root/sharp.
EvalSet two_synthetic_cases(const fs::path& root, int64_t size, uint64_t seed) {
  fs::create_directories(root / "sharp");
  for (int i = 0; i < 2; ++i)
    write_image((root / "sharp" / ("s" + std::to_string(i) + ".png")).string(),
                blocky_scene(3, size, size, seed + static_cast<uint64_t>(i)));
  return open_eval_source(parse_eval_source("synthetic:" + (root / "sharp").string() + ",noise=2.55"));
}

// Quiet eval options with the true kernels perturbed at `level`.
EvalOptions perturbed_options(double level) {
  EvalOptions o;
  o.progress = false;
  o.grids = 0;
  o.kernel = KernelSource::Perturbed;
  o.perturbation = level;
  return o;
}

TEST(BlindHarness, PerturbedKernelsCostQualityAndNeedATrueKernel) {
  const fs::path root = test::temp_dir("perturbed_harness");
  const EvalSet set = two_synthetic_cases(root, 64, 20);
  const std::vector<EvalMethod> methods = {EvalMethod{"hqs-tv", "hqs-tv", {}, "", ""}};
  EvalOptions o = perturbed_options(0.0);
  const EvalReport exact = run_evaluation({set}, methods, o);
  ASSERT_EQ(exact.rows.size(), 2u);
  for (const auto& r : exact.rows) {
    EXPECT_EQ(r.status, "ok") << r.error;
    EXPECT_NEAR(r.error_ratio, 1.0, 1e-3);
  }
  o.perturbation = 0.3;
  const EvalReport wrong = run_evaluation({set}, methods, o);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(wrong.rows[i].status, "ok") << wrong.rows[i].error;
    EXPECT_GT(wrong.rows[i].error_ratio, 1.5);
    EXPECT_LT(wrong.rows[i].psnr, exact.rows[i].psnr - 1.0);
  }
  EXPECT_TRUE(torch::equal(perturbed_kernels(torch::zeros({1, 1, 8, 8}), gaussian_kernel(1.0), 0.3, 7).kernel,
                           perturbed_kernels(torch::zeros({1, 1, 8, 8}), gaussian_kernel(1.0), 0.3, 7).kernel));

  test::make_fake_gopro(root / "gopro", "test", {"GOPR0001_00_00"}, {"000001"}, [&](int64_t i) {
    auto sharp = blocky_scene(3, 64, 64, static_cast<uint64_t>(30 + i)).to(torch::kFloat32);
    return test::FakePair{sharp, sharp, {}};
  });
  const EvalSet no_kernels = open_eval_source(parse_eval_source("gopro:" + (root / "gopro").string()));
  const EvalReport none = run_evaluation({no_kernels}, methods, o);
  ASSERT_EQ(none.rows.size(), 1u);
  EXPECT_EQ(none.rows[0].status, "needs kernel");
  o.perturbation = 1.5;
  EXPECT_THROW(o.validate(), Error);
}

// `--refine-kernel N`: the perturbed (or given) kernel is refined against each image once per case,
// which brings the error ratio back down; an estimated kernel is not refined again.
TEST(BlindHarness, RefiningAPerturbedKernelLowersItsError) {
  const EvalSet set = two_synthetic_cases(test::temp_dir("refine_harness"), 96, 40);
  const std::vector<EvalMethod> methods = {EvalMethod{"hqs-tv", "hqs-tv", {}, "", ""}};
  EvalOptions o = perturbed_options(0.3);
  const EvalReport wrong = run_evaluation({set}, methods, o);
  o.refine_kernel = 4;
  const EvalReport refined = run_evaluation({set}, methods, o);
  ASSERT_EQ(refined.rows.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(refined.rows[i].status, "ok") << refined.rows[i].error;
    std::cout << refined.rows[i].name << ": error ratio " << wrong.rows[i].error_ratio << " -> "
              << refined.rows[i].error_ratio << ", PSNR " << wrong.rows[i].psnr << " -> " << refined.rows[i].psnr << "\n";
    EXPECT_LT(refined.rows[i].error_ratio, wrong.rows[i].error_ratio);
    EXPECT_GT(refined.rows[i].kernel_seconds, 0.0);
  }
  EXPECT_EQ(refined.datasets[0].kernel_estimates, 2);
  o.kernel = KernelSource::Given;  // the dataset's own kernel, refined
  const EvalReport given = run_evaluation({set}, methods, o);
  for (const auto& r : given.rows) {
    EXPECT_EQ(r.status, "ok") << r.error;
    EXPECT_FALSE(std::isnan(r.error_ratio));
  }
  o.kernel = KernelSource::Estimate;
  EXPECT_NE(error_of([&] { o.validate(); }).find("needs a given or perturbed one"), std::string::npos);
  o.kernel = KernelSource::Given;
  o.refine_kernel = -1;
  EXPECT_THROW(o.validate(), Error);
}

}  // namespace
}  // namespace unroll
