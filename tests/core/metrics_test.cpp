#include "core/metrics.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/kernel.h"
#include "core/noise.h"
#include "test_util.h"

namespace unroll {
namespace {

TEST(Psnr, KnownValues) {
  auto a = torch::zeros({1, 3, 8, 8}, torch::kFloat64);
  auto b = torch::full({1, 3, 8, 8}, 0.1, torch::kFloat64);
  EXPECT_NEAR(psnr(a, b), 20.0, 1e-9);  // mse 0.01
  EXPECT_NEAR(mse(a, b), 0.01, 1e-12);
  EXPECT_TRUE(std::isinf(psnr(a, a)));
  PsnrOptions o;
  o.round_8bit = true;
  auto c = torch::full({1, 3, 8, 8}, 0.1 + 0.001, torch::kFloat64);  // rounds to the same 8-bit value as 0.1
  EXPECT_TRUE(std::isinf(psnr(b, c, o)));
  o.border = 2;
  auto d = b.clone();
  d[0][0][0][0] = 1.0;  // only in the border
  EXPECT_TRUE(std::isinf(psnr(d, b, o)));
  EXPECT_THROW(psnr(a, torch::zeros({1, 3, 8, 9})), std::exception);
}

TEST(Ssim, IdenticalIsOneAndDifferentiable) {
  auto x = test::test_image(3, 24, 24).to(torch::kFloat64);
  EXPECT_NEAR(ssim(x, x).item<double>(), 1.0, 1e-12);
  auto y = (x + 0.05 * torch::randn_like(x)).requires_grad_(true);
  auto s = ssim(y, x);
  EXPECT_LT(s.item<double>(), 0.99);
  s.backward();
  ASSERT_TRUE(y.grad().defined());
  EXPECT_GT(y.grad().abs().sum().item<double>(), 0.0);
  EXPECT_THROW(ssim(torch::rand({1, 1, 8, 8}), torch::rand({1, 1, 8, 8})), std::exception);  // smaller than window
}

TEST(Score, CombinesPsnrAndSsim) { EXPECT_NEAR(combined_score(33.0, 1.0), 100.0, 1e-12); }

TEST(Noise, SeededAndCorrectLevel) {
  auto x = torch::zeros({1, 3, 128, 128}, torch::kFloat64);
  auto a = add_gaussian_noise(x, 0.05, 7), b = add_gaussian_noise(x, 0.05, 7), c = add_gaussian_noise(x, 0.05, 8);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_NEAR(a.std().item<double>(), 0.05, 0.002);
  EXPECT_NEAR(estimate_noise_sigma(add_gaussian_noise(test::test_image(1, 128, 128).to(torch::kFloat64), 0.02, 3))
                  .item<double>(), 0.02, 0.003);
  auto q = quantize_8bit(torch::tensor({-0.2, 0.5, 1.3}));
  EXPECT_NEAR(q[0].item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(q[1].item<double>(), 128.0 / 255.0, 1e-6);
  EXPECT_NEAR(q[2].item<double>(), 1.0, 1e-7);
}

TEST(KernelText, ParsesAndValidates) {
  auto k = parse_kernel_text("1, 2, 1\n2 4 2\n1\t2\t1\n", "k");
  EXPECT_NEAR(k.sum().item<double>(), 1.0, 1e-15);
  EXPECT_NEAR(k[1][1].item<double>(), 0.25, 1e-15);
  EXPECT_THROW(parse_kernel_text("1 2\n3\n", "ragged.csv"), Error);
  EXPECT_THROW(parse_kernel_text("1 nan\n1 1\n", "nan.csv"), Error);
  EXPECT_THROW(parse_kernel_text("0 0\n0 0\n", "zero.csv"), Error);
  EXPECT_THROW(parse_kernel_text("1 x\n", "word.csv"), Error);
  EXPECT_THROW(parse_kernel_text("", "empty.csv"), Error);
  EXPECT_THROW(parse_kernel_text("1 -0.5\n1 1\n", "negative.csv"), Error);
  // Tiny negatives are clipped with a warning.
  std::string warned;
  auto previous = set_warning_handler([&](const std::string& m) { warned = m; });
  auto clipped = parse_kernel_text("1 -1e-9\n1 1\n", "tiny.csv");
  set_warning_handler(previous);
  EXPECT_EQ(clipped[0][1].item<double>(), 0.0);
  EXPECT_NE(warned.find("tiny.csv"), std::string::npos);
  try {
    parse_kernel_text("1 2\n3 y\n", "named.csv");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("named.csv:2"), std::string::npos) << e.what();
  }
}

TEST(KernelText, RoundTripsExactly) {
  auto k = test::test_kernel(9).to(torch::kFloat64);
  const std::string path = test::temp_dir("kernel_text") + "/k.csv";
  write_kernel_text(path, k);
  EXPECT_TRUE(torch::equal(read_kernel_text(path), k / k.sum()));
}

}  // namespace
}  // namespace unroll
