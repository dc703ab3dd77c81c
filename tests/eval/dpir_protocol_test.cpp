// Quality floor on the DPIR protocol (Set3C x 8 Levin kernels, circular blur, sigma 2.55/255, seed 0,
// PSNR on 8-bit RGB): ADMM-TV and HQS-TV with their noise-based defaults must average >= 28.7 dB; the
// shipped learned models have their own floors (and the unrolled network one at 7.65/255 too).
// Measured when calibrated: ADMM-TV 29.41, HQS-TV 29.21, Wiener 27.65, blurred 16.51 dB.
#include <gtest/gtest.h>

#include "eval/methods.h"
#include "eval/protocol.h"
#include "test_util.h"

namespace unroll {
namespace {

// models/unrolled_small.pth (stage 5) with the default transform alternation measured 31.88 / 28.04 dB
// at 2.55 / 7.65 (31.78 / 27.92 without it); the goals are 31.5 / 28.0.
constexpr double kUnrolledFloor = 31.8;
constexpr double kUnrolledFloor765 = 28.0;

TEST(DpirProtocol, ClassicalTvMethodsMeetTheFloor) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  auto cases = dpir_protocol_cases(shared + "/data/eval/set3c", shared + "/data/kernels/levin09", 2.55 / 255.0, 0);
  ASSERT_EQ(cases.size(), 24u);
  double blurred = 0, admm = 0, hqs = 0;
  for (const auto& c : cases) {
    DeblurRequest r;
    r.blurred = c.blurred.to(torch::kFloat32);
    r.kernel = c.kernel.to(torch::kFloat32);
    r.sigma = c.sigma;
    blurred += dpir_psnr(c.blurred, c.sharp);
    admm += dpir_psnr(run_method("admm", r).image.to(torch::kFloat64), c.sharp);
    hqs += dpir_psnr(run_method("hqs-tv", r).image.to(torch::kFloat64), c.sharp);
  }
  const double n = static_cast<double>(cases.size());
  std::cout << "blurred " << blurred / n << " dB, admm " << admm / n << " dB, hqs-tv " << hqs / n << " dB\n";
  EXPECT_NEAR(blurred / n, 16.51, 0.05);
  EXPECT_GE(admm / n, 28.7);
  EXPECT_GE(hqs / n, 28.7);
}

// The shipped learned models (models/README.md) on the same protocol: their recorded floors, a little
// under what they measured when shipped, so a regression in the models, the checkpoint loader or the
// solvers around them shows up.
TEST(DpirProtocol, ShippedLearnedModelsMeetTheirFloors) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  if (shipped_model("unrolled_small.pth").empty() || shipped_model("denoiser_small.pth").empty())
    GTEST_SKIP() << "shipped models absent";
  auto cases = dpir_protocol_cases(shared + "/data/eval/set3c", shared + "/data/kernels/levin09", 2.55 / 255.0, 0);
  double unrolled = 0, pnp = 0;
  for (const auto& c : cases) {
    DeblurRequest r;
    r.blurred = c.blurred.to(torch::kFloat32);
    r.kernel = c.kernel.to(torch::kFloat32);
    r.sigma = c.sigma;
    unrolled += dpir_psnr(run_method("unrolled", r).image.to(torch::kFloat64), c.sharp);
    pnp += dpir_psnr(run_method("pnp", r).image.to(torch::kFloat64), c.sharp);
  }
  const double n = static_cast<double>(cases.size());
  std::cout << "unrolled " << unrolled / n << " dB, pnp " << pnp / n << " dB\n";
  EXPECT_GE(unrolled / n, kUnrolledFloor);
  EXPECT_GE(pnp / n, 29.6);  // measured 29.71 with the default alternation (29.56 without)
}

// Issue 4's goal at the higher noise level, for the shipped unrolled network alone.
TEST(DpirProtocol, ShippedUnrolledNetworkMeetsTheGoalAtSigma765) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  if (shipped_model("unrolled_small.pth").empty()) GTEST_SKIP() << "shipped model absent";
  double unrolled = 0;
  const auto cases = dpir_protocol_cases(shared + "/data/eval/set3c", shared + "/data/kernels/levin09", 7.65 / 255.0, 0);
  for (const auto& c : cases) {
    DeblurRequest r;
    r.blurred = c.blurred.to(torch::kFloat32);
    r.kernel = c.kernel.to(torch::kFloat32);
    r.sigma = c.sigma;
    unrolled += dpir_psnr(run_method("unrolled", r).image.to(torch::kFloat64), c.sharp);
  }
  const double mean = unrolled / static_cast<double>(cases.size());
  std::cout << "unrolled at 7.65/255: " << mean << " dB\n";
  EXPECT_GE(mean, kUnrolledFloor765);
}

}  // namespace
}  // namespace unroll
