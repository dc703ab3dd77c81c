#include "hqs/pnp.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fft.h"
#include "core/metrics.h"
#include "hqs/oracle_prior.h"
#include "priors/tv_prox.h"
#include "test_util.h"

namespace unroll {
namespace {

using test::OraclePrior;

TEST(PnpHqs, ScheduleMatchesDpir) {
  // utils_pnp.get_rho_sigma(sigma=max(0.255/255, s), iter_num=8, modelSigma1=49, modelSigma2=s*255)
  // evaluated with numpy for s = 7.65/255 and 2.55/255.
  const std::vector<double> sig765 = {0.1921568661928177,  0.14737936854362488, 0.11303617060184479,
                                      0.0866958275437355,  0.06649346649646759, 0.05099877342581749,
                                      0.03911474347114563, 0.030000001192092896};
  const std::vector<double> rho765 = {0.005606070186167981, 0.009530089134638844, 0.016200763157521503,
                                      0.027540635193271826, 0.04681795030559332,  0.07958860332776577,
                                      0.13529737567741246,  0.22999998172124342};
  const std::vector<double> sig255 = {0.1921568661928177,  0.125972718000412,    0.08258421719074249,
                                      0.05413992702960968, 0.035492636263370514, 0.023267988115549088,
                                      0.01525384746491909, 0.009999999776482582};
  auto s1 = dpir_schedule(7.65 / 255);
  auto s2 = dpir_schedule(2.55 / 255);
  ASSERT_EQ(s1.sigmas.size(), 8u);
  for (int k = 0; k < 8; ++k) {
    EXPECT_NEAR(s1.sigmas[k], sig765[k], 1e-9) << k;
    EXPECT_NEAR(s1.alphas[k], rho765[k], 1e-9 * rho765[k] + 1e-12) << k;
    EXPECT_NEAR(s2.sigmas[k], sig255[k], 1e-9) << k;
  }
  // Noise-free input: the floor 0.255/255 keeps the schedule finite.
  auto s0 = dpir_schedule(0.0);
  EXPECT_NEAR(s0.sigmas.back(), 0.001, 1e-9);
  EXPECT_NEAR(s0.alphas.back(), 0.23, 1e-6);
  EXPECT_THROW(dpir_schedule(-1.0), Error);
}

TEST(PnpHqs, AugmentInvertsForEveryMode) {
  auto x = torch::rand({2, 3, 5, 7});
  for (int m = 0; m < 8; ++m) {
    auto t = augment(x, m);
    EXPECT_TRUE(torch::equal(inverse_augment(t, m), x)) << m;
  }
  // On a square image the eight transforms are distinct.
  auto sq = torch::rand({1, 1, 6, 6});
  for (int a = 0; a < 8; ++a)
    for (int b = a + 1; b < 8; ++b) EXPECT_FALSE(torch::equal(augment(sq, a), augment(sq, b))) << a << " " << b;
  EXPECT_THROW(augment(x, 8), Error);
}

TEST(PnpHqs, OraclePriorIsExact) {
  auto truth = test::test_image(1, 20, 28);
  auto k = test::test_kernel(7, 2);
  auto y = conv_circular(truth, k) + 0.02 * torch::randn_like(truth);
  PnpHqsOptions o;
  OraclePrior alternating_oracle(truth, true);
  o.alternate_transforms = true;
  EXPECT_EQ(test::max_abs_diff(pnp_hqs(y, k, 0.02, alternating_oracle, o).image, truth), 0.0);
  o.alternate_transforms = false;
  OraclePrior oracle(truth, false);
  auto r = pnp_hqs(y, k, 0.02, oracle, o);
  EXPECT_EQ(test::max_abs_diff(r.image, truth), 0.0);
  EXPECT_EQ(r.iterations, 8);
  EXPECT_EQ(r.stop_reason, StopReason::ScheduleEnd);
  ASSERT_EQ(oracle.levels.size(), 8u);
  auto schedule = dpir_schedule(0.02);
  for (int k2 = 0; k2 < 8; ++k2) EXPECT_NEAR(oracle.levels[k2], schedule.sigmas[k2], 1e-7);
  // The last-iteration change is zero: z_7 = z_8 = truth.
  EXPECT_EQ(r.residual, 0.0);
}

// A prior that commutes with flips and rotations (a symmetric 3x3 circular blur): the x8 alternation
// must give the same result as none. Forward-difference TV is not flip-equivariant, so there
// the alternation must make a difference (i.e. it is really applied).
class SymmetricBlurPrior : public Prior {
 public:
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma) override {
    auto k = torch::tensor({1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0}, x.options()).reshape({3, 3}) / 16.0;
    return conv_circular(x, k);
  }
  std::string kind() const override { return "blur"; }
};

TEST(PnpHqs, SelfEnsembleIsExactForAnEquivariantPrior) {
  auto truth = test::test_image(1, 16, 22).to(torch::kFloat64);
  auto k = test::test_kernel(5, 4).to(torch::kFloat64);
  auto y = conv_circular(truth, k);
  PnpHqsOptions o, x8;
  x8.alternate_transforms = true;
  SymmetricBlurPrior blur;
  EXPECT_LT(test::max_abs_diff(pnp_hqs(y, k, 0.01, blur, o).image, pnp_hqs(y, k, 0.01, blur, x8).image), 1e-12);
  TvPriorOptions tv;
  tv.iterations = 20;
  TvPrior prior(tv);
  EXPECT_GT(test::max_abs_diff(pnp_hqs(y, k, 0.01, prior, o).image, pnp_hqs(y, k, 0.01, prior, x8).image), 1e-6);
}

// A grey test image blurred circularly by a test kernel, plus Gaussian noise of level sigma (torch's
// generator seeded with `seed` first).
struct BlurredCase {
  torch::Tensor truth, kernel, y;
};
BlurredCase blurred_case(int64_t size, int64_t kernel_size, uint64_t kernel_seed, double sigma, uint64_t seed) {
  torch::manual_seed(seed);
  BlurredCase c{test::test_image(1, size, size), test::test_kernel(kernel_size, kernel_seed), {}};
  c.y = conv_circular(c.truth, c.kernel) + sigma * torch::randn_like(c.truth);
  return c;
}

TEST(PnpHqs, TvPriorImprovesPsnrOnABlurredNoisyImage) {
  const double sigma = 0.01;
  const BlurredCase c = blurred_case(32, 7, 5, sigma, 11);
  const torch::Tensor &truth = c.truth, &k = c.kernel, &y = c.y;
  TvPrior prior;
  PnpHqsOptions o;
  int calls = 0;
  o.progress = [&](int done, int total) {
    ++calls;
    EXPECT_EQ(total, 8);
  };
  auto r = pnp_hqs(y, k, sigma, prior, o);
  const double p_blur = psnr(y, truth), p_out = psnr(r.image, truth);
  EXPECT_GT(p_out, p_blur + 2.0) << "blurred " << p_blur << " dB, pnp-tv " << p_out << " dB";
  EXPECT_EQ(calls, 8);
  RecordProperty("pnp_tv_psnr_gain_db", std::to_string(p_out - p_blur));
  // [H,W] input comes back as [H,W]; a non-circular blur with replicate extension also works.
  auto y2 = conv_fft(truth, k, ConvMode::Same) + sigma * torch::randn_like(truth);
  o.boundary = Boundary::Replicate;
  o.progress = nullptr;
  auto r2 = pnp_hqs(y2.squeeze(0).squeeze(0), k, sigma, prior, o);
  ASSERT_EQ(r2.image.dim(), 2);
  EXPECT_GT(psnr(r2.image, truth.squeeze(0).squeeze(0)), psnr(y2, truth) + 1.0);
}

// kernel_error: given a wrong kernel, the errors-in-variables data step (core/data_step.h
// solve_uncertain) restores better than the plain one.
TEST(PnpHqs, KernelErrorHelpsWithAWrongKernel) {
  const double sigma = 0.01;
  const BlurredCase c = blurred_case(64, 9, 3, sigma, 12);
  const torch::Tensor &truth = c.truth, &k = c.kernel, &y = c.y;
  auto wrong = (k + 0.3 * k.max() * torch::randn_like(k) * (k > 0)).clamp_min(0.0);
  wrong = wrong / wrong.sum();
  TvPrior prior;
  PnpHqsOptions o;
  const double plain = psnr(pnp_hqs(y, wrong, sigma, prior, o).image, truth);
  o.kernel_error = 1.0;
  const double robust = psnr(pnp_hqs(y, wrong, sigma, prior, o).image, truth);
  EXPECT_GT(robust, plain + 0.5) << "plain " << plain << " dB, kernel_error=1 " << robust << " dB";
  o.kernel_error = -0.1;
  EXPECT_NE(test::error_of([&] { pnp_hqs(y, wrong, sigma, prior, o); }).find("kernel_error must be >= 0"),
            std::string::npos);
}

TEST(PnpHqs, RejectsBadInput) {
  TvPrior prior;
  auto y = torch::rand({1, 1, 16, 16});
  auto k = test::test_kernel(5);
  PnpHqsOptions o;
  o.iterations = 0;
  try {
    pnp_hqs(y, k, 0.01, prior, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("iterations must be >= 1, got 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pnp_hqs(y, k, std::nan(""), prior, {}), Error);
  auto bad = y.clone();
  bad[0][0][3][3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(pnp_hqs(bad, k, 0.01, prior, {}), Error);
  EXPECT_THROW(pnp_hqs(y, test::test_kernel(21), 0.01, prior, {}), Error);
}

}  // namespace
}  // namespace unroll
