// Scoring protocols (eval/protocol.h): full / full8 definitions, the lazily computed DPIR cases.
#include "eval/protocol.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/fft.h"
#include "core/kernel.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

TEST(ScoreImage, FullClampsAndFull8Rounds) {
  auto sharp = test::test_image(3, 24, 28, 2).to(torch::kFloat64);
  auto restored = sharp + 0.6 / 255.0;  // off the 8-bit grid by 0.6 levels
  restored[0][0][0][0] = 1.7;           // out of range: clamped
  const auto full = score_image(restored, sharp, Metric::Full);
  EXPECT_NEAR(full.psnr, psnr(restored.clamp(0, 1), sharp), 1e-12);
  EXPECT_NEAR(full.ssim, ssim(restored.clamp(0, 1), sharp).item<double>(), 1e-12);
  EXPECT_NEAR(full.score, combined_score(full.psnr, full.ssim), 1e-12);
  PsnrOptions p8;
  p8.round_8bit = true;
  const auto full8 = score_image(restored, sharp, Metric::Full8);
  EXPECT_NEAR(full8.psnr, psnr(restored, sharp, p8), 1e-12);
  EXPECT_NEAR(full8.psnr, dpir_psnr(restored, sharp), 1e-12);
  EXPECT_GT(std::abs(full8.psnr - full.psnr), 0.1);  // the rounding matters here
  EXPECT_THROW(score_image(restored, sharp.narrow(3, 0, 20), Metric::Full), Error);
  auto nan = restored.clone();
  nan[0][1][2][2] = NAN;
  EXPECT_THROW(score_image(nan, sharp, Metric::Full), Error);
  EXPECT_EQ(parse_metric("realblur"), Metric::RealBlur);
  EXPECT_EQ(metric_name(parse_metric("full8")), "full8");
  EXPECT_THROW(parse_metric("lpips"), Error);
}

TEST(DpirProtocol, LazyDatasetMatchesTheDefinition) {
  const fs::path dir = test::temp_dir("dpir_lazy");
  fs::create_directories(dir / "images");
  fs::create_directories(dir / "kernels");
  write_image((dir / "images" / "a.png").string(), test::test_image(3, 21, 27, 1));  // modcrop -> 16 x 24
  write_image((dir / "images" / "b.png").string(), test::test_image(3, 16, 16, 2));
  write_kernel_text((dir / "kernels" / "k1.csv").string(), test::test_kernel(5, 1));
  write_kernel_text((dir / "kernels" / "k2.csv").string(), test::test_kernel(7, 2));
  DpirProtocolDataset ds((dir / "images").string(), (dir / "kernels").string(), 0.01, 0);
  ASSERT_EQ(ds.size(), 4);
  EXPECT_EQ(ds.name(1), "a_k2");
  EXPECT_EQ(ds.name(2), "b_k1");
  auto p = ds.get(1);
  ASSERT_EQ(p.sharp.sizes(), (std::vector<int64_t>{1, 3, 16, 24}));
  ASSERT_TRUE(p.noise_sigma.has_value());
  EXPECT_DOUBLE_EQ(*p.noise_sigma, 0.01);
  auto expected =
      add_gaussian_noise(conv_circular(p.sharp, read_kernel((dir / "kernels" / "k2.csv").string())), 0.01, 0);
  EXPECT_LT(test::max_abs_diff(p.blurred, expected), 1e-12);
  auto cases = dpir_protocol_cases((dir / "images").string(), (dir / "kernels").string(), 0.01, 0);
  ASSERT_EQ(cases.size(), 4u);
  EXPECT_TRUE(torch::equal(cases[1].blurred, p.blurred));
  EXPECT_THROW(ds.get(4), Error);
  EXPECT_THROW(DpirProtocolDataset((dir / "none").string(), (dir / "kernels").string(), 0.01), Error);
}

}  // namespace
}  // namespace unroll
