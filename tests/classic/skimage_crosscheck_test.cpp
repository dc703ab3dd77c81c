// Cross-check against scikit-image (Debian python3-skimage) on identical inputs: the script
// tests/crosscheck/skimage_reference.py writes inputs and skimage's outputs as CSV; we recompute and
// compare with the tolerances the project promises. Skips when python3-skimage is not installed.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "classic/richardson_lucy.h"
#include "classic/wiener.h"
#include "core/kernel.h"
#include "core/metrics.h"
#include "test_util.h"

namespace unroll {
namespace {

torch::Tensor read_csv(const std::string& path) {
  // Raw CSV values (parse_kernel_text would normalise them).
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::vector<double>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) row.push_back(std::stod(cell));
    if (!row.empty()) rows.push_back(row);
  }
  if (rows.empty()) throw std::runtime_error(path + ": empty or missing");
  auto t = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, torch::kFloat64);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) t[i][j] = rows[i][j];
  return t;
}

class SkimageCrossCheck : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string py = test::python_with_skimage();
    if (py.empty()) return;
    dir_ = test::temp_dir("skimage_crosscheck");
    std::string out;
    const int rc = test::run_command(py + " " + UNROLL_SOURCE_DIR + "/tests/crosscheck/skimage_reference.py " + dir_, &out);
    ok_ = rc == 0;
    if (!ok_) std::cerr << out;
  }
  void SetUp() override {
    if (dir_.empty()) GTEST_SKIP() << "python3-skimage not available";
    ASSERT_TRUE(ok_) << "reference script failed";
  }
  static inline std::string dir_;
  static inline bool ok_ = false;
};

TEST_F(SkimageCrossCheck, WienerWithLaplacianRegulariser) {
  auto y = read_csv(dir_ + "/image.csv").unsqueeze(0).unsqueeze(0);
  auto k = read_kernel_text(dir_ + "/kernel.csv");
  for (double balance : {0.01, 0.1}) {
    WienerOptions o;
    o.nsr = balance;
    o.regularizer = WienerOptions::Regularizer::Laplacian;
    auto x = wiener(y, k, o);
    std::ostringstream name;
    name << dir_ << "/wiener_" << balance << ".csv";
    auto ref = read_csv(name.str());
    EXPECT_LT(test::max_abs_diff(x[0][0], ref), 1e-4) << "balance " << balance;
    // float32 path too
    auto x32 = wiener(y.to(torch::kFloat32), k.to(torch::kFloat32), o);
    EXPECT_LT(test::max_abs_diff(x32[0][0], ref), 1e-4) << "float32, balance " << balance;
  }
}

TEST_F(SkimageCrossCheck, RichardsonLucyZeroBoundary) {
  auto y = read_csv(dir_ + "/image_pos.csv").unsqueeze(0).unsqueeze(0);
  auto k = read_kernel_text(dir_ + "/kernel.csv");
  for (int iters : {10, 30}) {
    RichardsonLucyOptions o;
    o.iterations = iters;
    o.boundary = RichardsonLucyOptions::BoundaryModel::Zero;
    o.initial_value = 0.5;
    auto x = richardson_lucy(y, k, o).image;
    auto ref = read_csv(dir_ + "/rl_" + std::to_string(iters) + ".csv");
    EXPECT_LT(test::max_abs_diff(x[0][0], ref), 1e-3) << iters << " iterations";
    auto x32 = richardson_lucy(y.to(torch::kFloat32), k.to(torch::kFloat32), o).image;
    EXPECT_LT(test::max_abs_diff(x32[0][0], ref), 1e-3) << "float32, " << iters << " iterations";
  }
}

TEST_F(SkimageCrossCheck, PsnrAndSsim) {
  auto a = read_csv(dir_ + "/rgb_a.csv").reshape({32, 36, 3}).permute({2, 0, 1}).unsqueeze(0);
  auto b = read_csv(dir_ + "/rgb_b.csv").reshape({32, 36, 3}).permute({2, 0, 1}).unsqueeze(0);
  std::ifstream in(dir_ + "/metrics.txt");
  double ref_psnr = 0, ref_ssim = 0, ref_ssim_grey = 0;
  in >> ref_psnr >> ref_ssim >> ref_ssim_grey;
  EXPECT_NEAR(psnr(b, a), ref_psnr, 1e-4);
  EXPECT_NEAR(ssim(b, a).item<double>(), ref_ssim, 1e-4);
  auto sharp = read_csv(dir_ + "/sharp.csv");
  auto y = read_csv(dir_ + "/image.csv").clamp(0, 1);
  EXPECT_NEAR(ssim(y, sharp).item<double>(), ref_ssim_grey, 1e-4);
}

}  // namespace
}  // namespace unroll
