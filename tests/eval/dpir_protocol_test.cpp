// Quality floor on the DPIR protocol (Set3C x 8 Levin kernels, circular blur, sigma 2.55/255, seed 0,
// PSNR on 8-bit RGB): ADMM-TV and HQS-TV with their noise-based defaults must average >= 28.7 dB; the
// shipped learned models have their own floors (and the unrolled network one at 7.65/255 too).
// Measured when calibrated: ADMM-TV 29.41, HQS-TV 29.21, Wiener 27.65, blurred 16.51 dB.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "datasets/kernels.h"
#include "eval/methods.h"
#include "eval/protocol.h"
#include "test_util.h"

namespace unroll {
namespace {

// models/unrolled_small.pth (stage 5) with the default transform alternation measured 31.88 / 28.04 dB
// at 2.55 / 7.65 (31.78 / 27.92 without it); the goals are 31.5 / 28.0.
constexpr double kUnrolledFloor = 31.8;
constexpr double kUnrolledFloor765 = 28.0;

// The request of one protocol case, in float32 as a user's image would be.
DeblurRequest request(const EvalCase& c) {
  DeblurRequest r;
  r.blurred = c.blurred.to(torch::kFloat32);
  r.kernel = c.kernel.to(torch::kFloat32);
  r.sigma = c.sigma;
  return r;
}

// Mean 8-bit PSNR of `method` (default parameters) over the cases; with `perturbation` > 0 each case's
// kernel is made wrong as `unroll eval --kernel perturbed:LEVEL` does (the case index seeds it).
double mean_psnr(const std::string& method, const std::vector<EvalCase>& cases, double perturbation = 0,
                 const MethodParams& params = {}) {
  double sum = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    DeblurRequest r = request(cases[i]);
    if (perturbation > 0)
      r.kernel = perturb_kernel(cases[i].kernel, perturbation, mix_seed(static_cast<uint64_t>(i))).to(torch::kFloat32);
    sum += dpir_psnr(run_method(method, r, params).image.to(torch::kFloat64), cases[i].sharp);
  }
  return sum / static_cast<double>(cases.size());
}

std::vector<EvalCase> set3c_levin(const std::string& shared, double sigma255) {
  return dpir_protocol_cases(shared + "/data/eval/set3c", shared + "/data/kernels/levin09", sigma255 / 255.0, 0);
}

// Butterfly x the 8 Levin kernels: the first 8 protocol cases (the harness's perturbation seeds).
std::vector<EvalCase> butterfly_levin(const std::string& shared) {
  auto cases = set3c_levin(shared, 2.55);
  cases.resize(std::min<size_t>(cases.size(), 8));
  return cases;
}

double mean_blurred_psnr(const std::vector<EvalCase>& cases) {
  double sum = 0;
  for (const auto& c : cases) sum += dpir_psnr(c.blurred, c.sharp);
  return sum / static_cast<double>(cases.size());
}

TEST(DpirProtocol, ClassicalTvMethodsMeetTheFloor) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  const auto cases = set3c_levin(shared, 2.55);
  ASSERT_EQ(cases.size(), 24u);
  const double blurred = mean_blurred_psnr(cases);
  const double admm = mean_psnr("admm", cases), hqs = mean_psnr("hqs-tv", cases);
  std::cout << "blurred " << blurred << " dB, admm " << admm << " dB, hqs-tv " << hqs << " dB\n";
  EXPECT_NEAR(blurred, 16.51, 0.05);
  EXPECT_GE(admm, 28.7);
  EXPECT_GE(hqs, 28.7);
}

// The shipped learned models (models/README.md) on the same protocol: their recorded floors, a little
// under what they measured when shipped, so a regression in the models, the checkpoint loader or the
// solvers around them shows up.
TEST(DpirProtocol, ShippedLearnedModelsMeetTheirFloors) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  if (shipped_model("unrolled_small.pth").empty() || shipped_model("denoiser_small.pth").empty())
    GTEST_SKIP() << "shipped models absent";
  const auto cases = set3c_levin(shared, 2.55);
  const double unrolled = mean_psnr("unrolled", cases), pnp = mean_psnr("pnp", cases);
  std::cout << "unrolled " << unrolled << " dB, pnp " << pnp << " dB\n";
  EXPECT_GE(unrolled, kUnrolledFloor);
  EXPECT_GE(pnp, 29.6);  // measured 29.71 with the default alternation (29.56 without)
}

// Issue 4's goal at the higher noise level, for the shipped unrolled network alone.
TEST(DpirProtocol, ShippedUnrolledNetworkMeetsTheGoalAtSigma765) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  if (shipped_model("unrolled_small.pth").empty()) GTEST_SKIP() << "shipped model absent";
  const double unrolled = mean_psnr("unrolled", set3c_levin(shared, 7.65));
  std::cout << "unrolled at 7.65/255: " << unrolled << " dB\n";
  EXPECT_GE(unrolled, kUnrolledFloor765);
}

// models/unrolled_robust_small.pth (issue 25's robust stage) on the perturbed-kernel protocol, on the
// first image's 8 cases (butterfly x Levin; the harness's seeds): above HQS-TV given the same wrong
// kernels at levels 0.1 and 0.2, above the blurred input at 0.05-0.2. Measured when shipped (butterfly,
// no transform alternation, the method's default): robust 20.65 / 20.02 / 18.51 dB at 0.05 / 0.1 / 0.2,
// HQS-TV 23.32 / 19.19 / 14.69 (so at 0.05 it is below HQS-TV: docs/blind.md), blurred input 15.61.
TEST(DpirProtocol, ShippedRobustUnrolledHoldsUpOnWrongKernels) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  if (shipped_model("unrolled_robust_small.pth").empty()) GTEST_SKIP() << "shipped model absent";
  const auto cases = butterfly_levin(shared);
  ASSERT_EQ(cases.size(), 8u);
  const double blurred = mean_blurred_psnr(cases);
  for (double level : {0.05, 0.1, 0.2}) {
    const double robust = mean_psnr("unrolled-robust", cases, level);
    std::cout << "perturbed:" << level << ": unrolled-robust " << robust << " dB, blurred " << blurred << " dB";
    EXPECT_GE(robust, blurred + 1.5) << "level " << level;
    if (level >= 0.1) {
      const double hqs = mean_psnr("hqs-tv", cases, level);
      std::cout << ", hqs-tv " << hqs << " dB";
      EXPECT_GE(robust, hqs + (level >= 0.2 ? 2.0 : 0.3)) << "level " << level;
    }
    std::cout << "\n";
  }
}

// The shipped unrolled network with its defaults for a kernel's model error (model_noise and hedge,
// classic/model_error.h) on Set3C's butterfly x 8 Levin kernels with the kernel perturbed: an exact kernel
// that fits like one gives exactly the network's result; with wrong kernels it gains several dB over the
// network alone and stays above HQS-TV given the same kernel, and above the blurred input, at every
// level. Measured when set (butterfly): 23.46 / 20.00 / 16.66 dB at 0.05 / 0.1 / 0.2 against 21.52 / 16.31 /
// 11.67 for the network alone, HQS-TV 23.32 / 19.19 / 14.69, blurred input 15.61 (model_noise without the
// hedge: 22.14 at 0.05, below HQS-TV).
TEST(DpirProtocol, UnrolledToldItsModelErrorHoldsUpOnWrongKernels) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  if (shipped_model("unrolled_small.pth").empty()) GTEST_SKIP() << "shipped model absent";
  const auto cases = butterfly_levin(shared);
  ASSERT_EQ(cases.size(), 8u);
  const double blurred = mean_blurred_psnr(cases);
  const MethodParams off = {{"model_noise", 0.0}, {"hedge", 0.0}};
  EXPECT_EQ(mean_psnr("unrolled", {cases[0], cases[5]}), mean_psnr("unrolled", {cases[0], cases[5]}, 0, off));
  for (double level : {0.05, 0.1, 0.2}) {
    const double told = mean_psnr("unrolled", cases, level), plain = mean_psnr("unrolled", cases, level, off);
    const double hqs = mean_psnr("hqs-tv", cases, level);
    std::cout << "perturbed:" << level << ": unrolled " << told << " dB (alone: " << plain << "), hqs-tv " << hqs
              << " dB, blurred " << blurred << " dB\n";
    EXPECT_GE(told, plain + (level >= 0.1 ? 2.0 : 0.5)) << "level " << level;
    EXPECT_GE(told, blurred + 1.0) << "level " << level;
    EXPECT_GE(told, hqs + (level >= 0.1 ? 0.5 : 0.05)) << "level " << level;
  }
}

}  // namespace
}  // namespace unroll
