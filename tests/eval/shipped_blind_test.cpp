// Quality floor of the shipped blind networks (models/convir_small.pth, models/atrous_small.pth) on
// the distribution they were trained for: McMaster18, mixed 15x15 kernels, linear ('valid') blur,
// sigma 2.55/255, seed 1 — what `unroll eval --data "synthetic:../shared/data/eval/mcmaster18,
// kernels=mixed,size=15,noise=2.55,blur=valid,seed=1" --methods convir,atrous` runs. Measured when
// shipped (docs/experiments/end_to_end_cpu): blurred input 29.01 dB / 0.7696, convir 29.37 / 0.7933,
// atrous 29.33 / 0.7781. Each must stay above its input by most of the margin it had.
#include <gtest/gtest.h>

#include <iostream>

#include "eval/harness.h"
#include "eval/methods.h"
#include "test_util.h"

namespace unroll {
namespace {

TEST(ShippedBlindNetworks, BeatTheirBlurredInputOnMcMaster) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  if (shipped_model("convir_small.pth").empty() || shipped_model("atrous_small.pth").empty())
    GTEST_SKIP() << "shipped blind models absent";
  const auto set = open_eval_source(parse_eval_source(
      "synthetic:" + shared + "/data/eval/mcmaster18,kernels=mixed,size=15,noise=2.55,blur=valid,seed=1"));
  EvalOptions o;
  o.progress = false;
  o.grids = 0;
  const auto report =
      run_evaluation({set}, {EvalMethod{"", "convir", {}, "", ""}, EvalMethod{"", "atrous", {}, "", ""}}, o);
  ASSERT_EQ(report.datasets.size(), 1u);
  const auto& d = report.datasets[0];
  ASSERT_EQ(d.cases, 18);
  EXPECT_NEAR(d.input.psnr, 29.01, 0.01);
  ASSERT_EQ(d.methods.size(), 2u);
  for (const auto& m : d.methods) {
    std::cout << m.method << " " << m.psnr << " dB, SSIM " << m.ssim << " (input " << d.input.psnr << " / "
              << d.input.ssim << ")\n";
    EXPECT_EQ(m.ok, 18) << m.method;
    EXPECT_GE(m.psnr, d.input.psnr + 0.25) << m.method;
    EXPECT_GE(m.ssim, d.input.ssim + 0.005) << m.method;
  }
}

// The shipped blind unrolled network (models/unrolled_blind_small.pth) on the blind protocol's first
// four cases (butterfly x Levin kernels 01-04, linear blur, 2.55/255, shift-aligned): measured when
// shipped (docs/experiments/unrolled_blind_cpu) at 17.54 dB mean. It must keep that floor and not fall
// below its blurred input (a first CPU run: it barely beats the input, docs/blind.md).
TEST(ShippedBlindNetworks, UnrolledBlindKeepsItsFloorOnTheBlindProtocol) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not present";
  if (shipped_model("unrolled_blind_small.pth").empty()) GTEST_SKIP() << "shipped blind unrolled model absent";
  const auto set = open_eval_source(
      parse_eval_source("blind:" + shared + "/data/eval/set3c:" + shared + "/data/kernels/levin09"));
  EvalOptions o;
  o.progress = false;
  o.grids = 0;
  o.limit = 4;
  const auto report = run_evaluation({set}, {EvalMethod{"", "unrolled-blind", {}, "", ""}}, o);
  ASSERT_EQ(report.datasets.size(), 1u);
  const auto& d = report.datasets[0];
  ASSERT_EQ(d.cases, 4);
  ASSERT_EQ(d.methods.size(), 1u);
  const auto& m = d.methods[0];
  std::cout << "unrolled-blind " << m.psnr << " dB, SSIM " << m.ssim << " (input " << d.input.psnr << " / "
            << d.input.ssim << ")\n";
  EXPECT_EQ(m.ok, 4);
  EXPECT_GE(m.psnr, 17.54 - 0.15);
  EXPECT_GE(m.psnr, d.input.psnr);
  EXPECT_GE(m.ssim, d.input.ssim);
}

}  // namespace
}  // namespace unroll
