// The coarse-to-fine estimator on synthetic scenes: kernel validity, accuracy up to a shift,
// determinism, the automatic size, saturation, large images and bad inputs.
#include "blind/estimate_kernel.h"

#include <gtest/gtest.h>

#include <cmath>

#include "blind/blind_fixtures.h"
#include "core/error.h"
#include "core/noise.h"
#include "test_util.h"

namespace unroll {
namespace {

constexpr double kSigma = 0.01;  // 2.55/255

// A Gaussian-ish diagonal motion kernel of odd `size` with a curved track.
torch::Tensor motion_kernel(int64_t size, uint64_t seed) { return test::test_kernel(size, seed); }

torch::Tensor blurred_case(const torch::Tensor& sharp, const torch::Tensor& k, uint64_t seed) {
  return add_gaussian_noise(test::blur_reflect_valid(sharp, k), kSigma, seed);
}

// Max over integer shifts of the normalised correlation of two kernels (1 = the same up to a shift).
double kernel_similarity(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  const int64_t s = std::max(a_in.size(0), b_in.size(0)) + 8;
  auto place = [&](const torch::Tensor& k) {
    auto out = torch::zeros({s, s}, torch::kFloat64);
    const int64_t o = (s - k.size(0)) / 2;
    out.narrow(0, o, k.size(0)).narrow(1, o, k.size(1)).copy_(k.to(torch::kFloat64));
    return out;
  };
  auto a = place(a_in), b = place(b_in);
  double best = 0;
  for (int64_t dy = -4; dy <= 4; ++dy)
    for (int64_t dx = -4; dx <= 4; ++dx) {
      auto shifted = torch::roll(b, {dy, dx}, {0, 1});
      best = std::max(best, ((a * shifted).sum() / (a.norm() * b.norm())).item<double>());
    }
  return best;
}

TEST(EstimateKernel, KernelIsNonNegativeSumsToOneAndMatchesTheBlur) {
  auto sharp = test::mondrian(1, 160, 160, 0);
  auto k = motion_kernel(13, 0);
  BlindEstimateOptions o;
  o.kernel_size = 17;
  auto r = estimate_kernel(blurred_case(sharp, k, 0).to(torch::kFloat32), o);
  EXPECT_TRUE(r.warning.empty()) << r.warning;
  ASSERT_EQ(r.kernel.sizes(), (std::vector<int64_t>{17, 17}));
  EXPECT_EQ(r.kernel.scalar_type(), torch::kFloat32);
  EXPECT_GE(r.kernel.min().item<double>(), 0.0);
  EXPECT_NEAR(r.kernel.sum().item<double>(), 1.0, 1e-5);
  EXPECT_EQ(r.kernel_size, 17);
  EXPECT_FALSE(r.kernel_size_automatic);
  EXPECT_TRUE(r.noise_estimated);
  EXPECT_NEAR(r.noise_sigma, kSigma, 0.004);
  EXPECT_EQ(r.latent.sizes(), (std::vector<int64_t>{1, 1, 160, 160}));
  EXPECT_EQ(r.levels.back().kernel_size, 17);
  EXPECT_EQ(r.levels.front().kernel_size, 3);
  const double similarity = kernel_similarity(r.kernel, k);
  std::cout << "similarity " << similarity << ", " << r.seconds << " s\n";
  EXPECT_GT(similarity, 0.8);
}

TEST(EstimateKernel, IsDeterministic) {
  auto blurred = blurred_case(test::mondrian(1, 96, 96, 4), motion_kernel(9, 4), 4);
  BlindEstimateOptions o;
  o.kernel_size = 11;
  auto a = estimate_kernel(blurred, o), b = estimate_kernel(blurred, o);
  EXPECT_TRUE(torch::equal(a.kernel, b.kernel));
  EXPECT_TRUE(torch::equal(a.latent, b.latent));
}

TEST(EstimateKernel, ColourAndGreyInputs) {
  auto sharp = test::mondrian(3, 96, 96, 2);
  auto k = motion_kernel(9, 2);
  auto blurred = blurred_case(sharp, k, 2);
  BlindEstimateOptions o;
  o.kernel_size = 11;
  auto colour = estimate_kernel(blurred[0], o);  // [C,H,W] accepted
  EXPECT_EQ(colour.kernel.scalar_type(), torch::kFloat64);
  EXPECT_NEAR(colour.kernel.sum().item<double>(), 1.0, 1e-9);
  EXPECT_GT(kernel_similarity(colour.kernel, k), 0.7);
  auto grey = estimate_kernel(blurred[0][1], o);  // [H,W] accepted
  EXPECT_NEAR(grey.kernel.sum().item<double>(), 1.0, 1e-9);
}

TEST(EstimateKernel, AutomaticSizeFitsTheBlur) {
  // A centred kernel whose support has radius 4 inside a 31x31 array: 2 (4 + 2) + 1 = 13.
  auto k = torch::zeros({31, 31}, torch::kFloat64);
  k.index_put_({15, torch::indexing::Slice(11, 20)}, 1.0);
  EXPECT_EQ(choose_kernel_size(k, 0.995, 2), 13);
  EXPECT_EQ(choose_kernel_size(k, 0.995, 0), 9);
  auto delta = torch::zeros({15, 15}, torch::kFloat64);
  delta.index_put_({7, 7}, 1.0);
  EXPECT_EQ(choose_kernel_size(delta, 0.995, 0), 3);  // never below 3
  EXPECT_EQ(default_max_kernel_size(256, 256), 33);
  EXPECT_EQ(default_max_kernel_size(64, 80), 11);
  EXPECT_EQ(default_max_kernel_size(4000, 3000), 63);

  // End to end: a small and a large blur get sizes that hold them without being much larger.
  for (auto [true_size, seed] : {std::pair<int64_t, uint64_t>{7, 1}, {19, 3}}) {
    auto kt = motion_kernel(true_size, seed);
    auto blurred = blurred_case(test::mondrian(1, 192, 192, seed), kt, seed);
    auto r = estimate_kernel(blurred, {});
    std::cout << "true " << true_size << " -> chosen " << r.kernel_size << " (estimated at " << r.estimated_size
              << ", similarity " << kernel_similarity(r.kernel, kt) << ")\n";
    EXPECT_TRUE(r.kernel_size_automatic);
    EXPECT_EQ(r.estimated_size, 25);
    EXPECT_EQ(r.kernel.size(0), r.kernel_size);
    EXPECT_LE(r.kernel_size, true_size + 8);
    EXPECT_GE(r.kernel_size, std::min<int64_t>(true_size, 9));
    EXPECT_GT(kernel_similarity(r.kernel, kt), 0.7);
  }
}

TEST(EstimateKernel, PyramidSizes) {
  EXPECT_EQ(pyramid_kernel_sizes(27, std::sqrt(2.0)), (std::vector<int64_t>{3, 5, 7, 9, 13, 19, 27}));
  EXPECT_EQ(pyramid_kernel_sizes(3, std::sqrt(2.0)), (std::vector<int64_t>{3}));
}

TEST(EstimateKernel, FlatImageFallsBackToADeltaWithAWarning) {
  auto flat = add_gaussian_noise(torch::full({1, 1, 64, 64}, 0.5, torch::kFloat64), kSigma, 0);
  BlindEstimateOptions o;
  o.kernel_size = 9;
  auto r = estimate_kernel(flat, o);
  EXPECT_NE(r.warning.find("no edges"), std::string::npos) << r.warning;
  EXPECT_EQ(r.kernel.sizes(), (std::vector<int64_t>{9, 9}));
  EXPECT_EQ(r.kernel[4][4].item<double>(), 1.0);
  EXPECT_EQ(r.kernel.sum().item<double>(), 1.0);
  auto automatic = estimate_kernel(flat, {});
  EXPECT_EQ(automatic.kernel.size(0), 3);
  EXPECT_FALSE(automatic.warning.empty());
}

TEST(EstimateKernel, BadInputsAreClearErrors) {
  auto img = test::mondrian(1, 32, 32, 0);
  BlindEstimateOptions even;
  even.kernel_size = 10;
  EXPECT_EQ(test::error_of([&] { estimate_kernel(img, even); }),
            "estimate-kernel: kernel_size must be odd and >= 3 (or 0 = automatic), got 10");
  BlindEstimateOptions large;
  large.kernel_size = 41;
  EXPECT_EQ(test::error_of([&] { estimate_kernel(img, large); }),
            "estimate-kernel: kernel size 41 is larger than the image (32x32)");
  EXPECT_NE(test::error_of([&] { estimate_kernel(torch::cat({img, img}), {}); }).find("batch of 2"), std::string::npos);
  auto nan = img.clone();
  nan[0][0][3][3] = std::nan("");
  EXPECT_FALSE(test::error_of([&] { estimate_kernel(nan, {}); }).empty());
  EXPECT_NE(test::error_of([&] { estimate_kernel(torch::rand({1, 1, 6, 40}), {}); }).find("smaller than 8x8"),
            std::string::npos);
  BlindEstimateOptions bad;
  bad.lambda_grad = 0;
  EXPECT_EQ(test::error_of([&] { estimate_kernel(img, bad); }), "estimate-kernel: lambda_grad must be > 0, got 0");
}

TEST(EstimateKernel, SaturatedPixelsAreMaskedAndTheKernelStaysValid) {
  auto sharp = test::mondrian(1, 128, 128, 6);
  // Two bright lamps, far above the clipping level.
  sharp.narrow(2, 30, 6).narrow(3, 40, 6).fill_(4.0);
  sharp.narrow(2, 90, 5).narrow(3, 80, 5).fill_(4.0);
  auto k = motion_kernel(11, 6);
  auto blurred = torch::clamp(blurred_case(sharp, k, 6), 0.0, 1.0);
  BlindEstimateOptions o;
  o.kernel_size = 13;
  // The former defaults (L0 intensity term on, 10x weaker kernel regulariser), under which the clipped
  // lamps visibly derail the unmasked estimate: the mask is what is tested. (The current defaults recover
  // this kernel with or without the mask: 0.80 and 0.80.)
  o.lambda_pixel = 4e-3;
  o.kernel_reg = 1e-2;
  o.lambda_grad = 2e-2;
  auto r = estimate_kernel(blurred, o);
  EXPECT_GT(r.saturated_pixels, 100);
  EXPECT_NEAR(r.kernel.sum().item<double>(), 1.0, 1e-9);
  const double masked = kernel_similarity(r.kernel, k);
  o.mask_saturated = false;
  const double unmasked = kernel_similarity(estimate_kernel(blurred, o).kernel, k);
  std::cout << "similarity with mask " << masked << ", without " << unmasked << "\n";
  EXPECT_GT(masked, unmasked + 0.05);  // measured 0.56 vs 0.40
}

TEST(EstimateKernel, LargeImagesAreEstimatedOnTheWindowWithMostEdges) {
  // Edges only in the bottom-right quadrant of a 300x400 image; a 128 region must land there.
  auto sharp = torch::full({1, 1, 300, 400}, 0.5, torch::kFloat64);
  sharp.narrow(2, 150, 150).narrow(3, 200, 200).copy_(test::mondrian(1, 150, 200, 8));
  auto blurred = blurred_case(sharp, motion_kernel(9, 8), 8);
  BlindEstimateOptions o;
  o.kernel_size = 11;
  o.max_region = 128;
  auto r = estimate_kernel(blurred, o);
  EXPECT_EQ(r.region_height, 128);
  EXPECT_EQ(r.region_width, 128);
  EXPECT_GE(r.region_top, 140);
  EXPECT_GE(r.region_left, 190);
  EXPECT_EQ(r.latent.sizes(), (std::vector<int64_t>{1, 1, 128, 128}));
}

TEST(EstimateKernel, DarkChannelOptionRuns) {
  auto sharp = test::mondrian(1, 96, 96, 9);
  auto k = motion_kernel(9, 9);
  BlindEstimateOptions o;
  o.kernel_size = 11;
  o.dark_channel = true;
  o.iterations = 2;  // the 35x35 dark-channel pooling is the costly part; this only checks the option works
  auto r = estimate_kernel(blurred_case(sharp, k, 9), o);
  EXPECT_NEAR(r.kernel.sum().item<double>(), 1.0, 1e-9);
  EXPECT_GT(kernel_similarity(r.kernel, k), 0.6);
}

// A kernel known only roughly (a trajectory 25% too long, speckled) is refined against the image: closer
// to the true kernel than it was, valid, at the margin size, and with its centre of mass kept where the
// caller put it (which fixes where the deconvolved image lies).
TEST(RefineKernel, MovesARoughKernelTowardsTheTrueOneAndKeepsItsCentre) {
  auto sharp = test::mondrian(3, 160, 160, 11);
  auto k = motion_kernel(13, 11);
  auto blurred = blurred_case(sharp, k, 11).to(torch::kFloat32);
  auto gen = at::detail::createCPUGenerator(11);
  auto rough = resample_kernel(k, 17, 1.25);
  rough = (rough + 0.15 * rough.max() * torch::rand(rough.sizes(), gen, torch::kFloat64) * (rough > 0)).clamp_min(0);
  rough = torch::roll(rough / rough.sum(), {1, -1}, {0, 1});  // off centre on purpose
  auto r = refine_kernel(blurred, rough);
  EXPECT_TRUE(r.warning.empty()) << r.warning;
  const int64_t size = refine_kernel_size(17);
  EXPECT_EQ(size, 17 + 2 * 3);
  ASSERT_EQ(r.kernel.sizes(), (std::vector<int64_t>{size, size}));
  EXPECT_EQ(r.kernel.scalar_type(), torch::kFloat32);
  EXPECT_GE(r.kernel.min().item<double>(), 0.0);
  EXPECT_NEAR(r.kernel.sum().item<double>(), 1.0, 1e-5);
  const double before = kernel_similarity(rough, k), after = kernel_similarity(r.kernel, k);
  std::cout << "similarity to the true kernel: given " << before << ", refined " << after << "\n";
  EXPECT_GT(after, before + 0.1);
  const auto given_com = kernel_centre_of_mass(rough), refined_com = kernel_centre_of_mass(r.kernel.to(torch::kFloat64));
  const double pad = (size - 17) / 2;
  EXPECT_NEAR(refined_com.first - pad, given_com.first, 0.5);
  EXPECT_NEAR(refined_com.second - pad, given_com.second, 0.5);
  // Deterministic, and more alternations are allowed.
  EXPECT_TRUE(torch::equal(refine_kernel(blurred, rough).kernel, r.kernel));
  EXPECT_EQ(refine_kernel(blurred, rough, {}, 1).levels.back().iterations, 1);
}

TEST(RefineKernel, FlatImageKeepsTheGivenKernelAndBadInputsAreClearErrors) {
  auto flat = add_gaussian_noise(torch::full({1, 1, 64, 64}, 0.5, torch::kFloat64), kSigma, 0);
  auto k = motion_kernel(9, 3);
  auto r = refine_kernel(flat, 2.0 * k);
  EXPECT_NE(r.warning.find("keeping the given kernel"), std::string::npos) << r.warning;
  EXPECT_TRUE(torch::allclose(r.kernel, k.to(r.kernel.dtype())));
  // An even, non-square kernel is padded to an odd square about its centre (index size / 2): on a flat
  // image (kept as given) a 4x6 kernel's centre tap (2, 3) lands on the centre (3, 3) of the 7x7.
  auto box = torch::zeros({4, 6}, torch::kFloat64);
  box[2][3] = 1.0;
  auto kept = refine_kernel(flat, box).kernel;
  ASSERT_EQ(kept.sizes(), (std::vector<int64_t>{7, 7}));
  EXPECT_EQ(kept[3][3].item<double>(), 1.0);
  auto img = blurred_case(test::mondrian(1, 96, 96, 3), k, 3);
  EXPECT_EQ(refine_kernel(img, torch::ones({4, 6}, torch::kFloat64)).kernel.size(0), refine_kernel_size(7));
  EXPECT_EQ(test::error_of([&] { refine_kernel(img, torch::ones({1, 5, 5})); }),
            "refine-kernel: the kernel must be 2-D [kh,kw], got [1, 5, 5]");
  EXPECT_EQ(test::error_of([&] { refine_kernel(img, torch::ones({81, 81})); }),
            "refine-kernel: the 81x81 kernel with its refinement margin (105x105) is larger than the image (96x96)");
  EXPECT_NE(test::error_of([&] { refine_kernel(img, -k); }), "");
  EXPECT_EQ(test::error_of([&] { refine_kernel(img, k, {}, 0); }), "refine-kernel: iterations must be >= 1, got 0");
}

TEST(EstimateKernel, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto blurred = blurred_case(test::mondrian(1, 96, 96, 5), motion_kernel(9, 5), 5).to(torch::kFloat32);
  BlindEstimateOptions o;
  o.kernel_size = 11;
  auto cpu = estimate_kernel(blurred, o);
  auto cuda = estimate_kernel(blurred.to(torch::kCUDA), o);
  EXPECT_TRUE(cuda.kernel.is_cuda());
  EXPECT_LT(test::max_abs_diff(cuda.kernel.cpu(), cpu.kernel), 1e-3);
}

}  // namespace
}  // namespace unroll
