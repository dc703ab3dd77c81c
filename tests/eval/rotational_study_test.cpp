#include "eval/rotational_study.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fft.h"
#include "io/image_io.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

TEST(RotationalStudy, FitUniformKernelRecoversAKnownKernel) {
  auto x = test::test_image(3, 96, 96, 4).to(torch::kFloat64);
  auto k = test::test_kernel(9, 3).to(torch::kFloat64);
  auto y = conv_circular(x, k);
  auto fitted = fit_uniform_kernel(x, y, 9);
  EXPECT_NEAR(fitted.sum().item<double>(), 1.0, 1e-12);
  EXPECT_GE(fitted.min().item<double>(), 0.0);
  EXPECT_LT((fitted - k).abs().sum().item<double>(), 0.35) << fitted << "\n" << k;
  EXPECT_THROW(fit_uniform_kernel(x, y, 8), Error);
  EXPECT_THROW(fit_uniform_kernel(x, y.narrow(2, 0, 50), 9), Error);
}

TEST(RotationalStudy, TinyStudyWritesItsReport) {
  const std::string dir = test::temp_dir("rotational_study");
  write_image(dir + "/part.png", test::test_image(3, 48, 48, 2));
  RotationalStudyOptions o;
  o.image_files = {dir + "/part.png"};
  o.rpms = {1200};
  o.exposures = {1.0 / 500};  // 14.4 degrees
  o.methods = {"oracle-uniform", "wiener", "hqs-tv"};
  o.out_dir = dir + "/out";
  o.command = "test";
  auto rows = run_rotational_study(o);
  ASSERT_EQ(rows.size(), 4u);  // blurred + 3 methods
  for (const auto& r : rows) {
    EXPECT_TRUE(r.error.empty()) << r.method << ": " << r.error;
    EXPECT_NEAR(r.angle_deg, 14.4, 1e-9);
  }
  const auto psnr_of = [&](const std::string& m) {
    for (const auto& r : rows)
      if (r.method == m) return r.psnr;
    return -1.0;
  };
  EXPECT_GT(psnr_of("hqs-tv"), psnr_of("blurred") + 1.0);
  EXPECT_TRUE(fs::exists(o.out_dir + "/results.csv"));
  EXPECT_TRUE(fs::exists(o.out_dir + "/grids/part_14.40deg.png"));
  EXPECT_TRUE(fs::exists(o.out_dir + "/psnr_vs_angle.png"));
  std::ifstream md(o.out_dir + "/summary.md");
  std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| 1200 | 1/500 | 14.40 |"), std::string::npos) << text;
  EXPECT_NE(text.find("goal >= 3 dB"), std::string::npos) << text;
  std::ifstream csv(o.out_dir + "/results.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "image,rpm,exposure_s,angle_deg,method,psnr,ssim,seconds,detail,error");

  auto bad = o;
  bad.methods = {"admm"};
  EXPECT_THROW(run_rotational_study(bad), Error);  // not a rotational method
  bad = o;
  bad.methods = {"oracle-unrolled"};
  EXPECT_THROW(run_rotational_study(bad), Error);  // needs oracle-uniform
  bad = o;
  bad.exposures = {0.0};
  EXPECT_THROW(run_rotational_study(bad), Error);
}

}  // namespace
}  // namespace unroll
