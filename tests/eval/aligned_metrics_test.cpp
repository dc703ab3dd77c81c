// RSBlur / RealBlur-style metrics (eval/aligned_metrics.h): a hand-constructed misaligned, rescaled
// restoration is undone and scored as the aligned value; masked PSNR / SSIM closed forms; and a
// cross-check against the official procedure written with Python's cv2 + scikit-image.
#include "eval/aligned_metrics.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/metrics.h"
#include "core/noise.h"
#include "io/image_io.h"
#include "test_util.h"

namespace unroll {
namespace {

TEST(MaskedMetrics, ClosedForms) {
  auto ref = torch::zeros({1, 3, 20, 20}, torch::kFloat64);
  auto x = torch::full({1, 3, 20, 20}, 0.5, torch::kFloat64);
  auto mask = torch::zeros_like(ref);
  mask.narrow(3, 0, 10).fill_(1.0);
  x.narrow(3, 0, 10).fill_(0.1);  // inside the mask the error is 0.1 -> 20 dB; outside (0.5) is ignored
  EXPECT_NEAR(masked_psnr(x, ref, mask), 20.0, 1e-9);
  EXPECT_THROW(masked_psnr(x, ref, torch::zeros_like(mask)), Error);
  // An all-ones mask gives core/metrics.h SSIM exactly.
  auto a = test::test_image(3, 30, 34, 1).to(torch::kFloat64);
  auto b = add_gaussian_noise(a, 0.05, 3);
  EXPECT_NEAR(masked_ssim(b, a, torch::ones_like(a)), ssim(b, a).item<double>(), 1e-12);
  // The mask weights window positions: masking out the left half gives the right half's mean SSIM.
  auto m2 = torch::ones_like(a);
  m2.narrow(3, 0, 17).zero_();
  auto map = ssim_map(b, a);  // [1,3,20,24]; window centres at columns 5..28
  const double right = map.narrow(3, 17 - 5, 24 - 12).mean().item<double>();
  EXPECT_NEAR(masked_ssim(b, a, m2), right, 1e-12);
}

// A known shift and intensity scale is undone: restored(p) = s * (scene + noise)(p + o + d), so after
// alignment the restored image is c * s * (x + noise) on the pixels whose source lies inside the frame.
TEST(AlignedMetric, UndoesAKnownShiftAndIntensityScale) {
  const int64_t n = 88, o = 10, dx = 3, dy = -2;
  const double s = 0.8;
  auto scene = test::test_image(3, n + 2 * o, n + 2 * o, 4).to(torch::kFloat64);
  namespace F = torch::nn::functional;
  scene = F::avg_pool2d(F::pad(scene, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate)),
                        F::AvgPool2dFuncOptions(3).stride(1));  // soften the edges: ECC converges sub-pixel
  auto noisy = add_gaussian_noise(scene, 0.01, 11);
  auto x = scene.narrow(2, o, n).narrow(3, o, n);
  auto z = s * noisy.narrow(2, o + dy, n).narrow(3, o + dx, n);
  AlignedMetricOptions opt;
  opt.quantize_input = false;  // keep the construction exact
  const auto a = aligned_scores(z, x, opt);

  // Expected: intensity factor c, homography = translation by -d, valid region p - d inside the frame.
  const double c = (x * z).sum().item<double>() / (z * z).sum().item<double>();
  EXPECT_NEAR(a.intensity_scale, c, 1e-6);
  // The homography moves the image centre (and every pixel, to within 0.1 px) by -d.
  auto w = a.warp;
  for (double py : {0.0, (n - 1) / 2.0, n - 1.0}) {
    for (double px : {0.0, (n - 1) / 2.0, n - 1.0}) {
      auto p = torch::tensor({px, py, 1.0}, torch::kFloat64);
      auto q = torch::matmul(w, p);
      const double qx = (q[0] / q[2]).item<double>(), qy = (q[1] / q[2]).item<double>();
      const double tol = (px == (n - 1) / 2.0 && py == (n - 1) / 2.0) ? 0.05 : 0.1;
      EXPECT_NEAR(qx, px - dx, tol) << "pixel " << px << "," << py;
      EXPECT_NEAR(qy, py - dy, tol) << "pixel " << px << "," << py;
    }
  }
  const int64_t rows = n - std::abs(dy), cols = n - std::abs(dx);
  EXPECT_NEAR(a.valid_fraction, double(rows * cols) / double(n * n), 1e-9);
  // Valid region: rows p >= d_y... i.e. [max(0,dy), n + min(0,dy)), columns likewise.
  auto xv = x.narrow(2, std::max<int64_t>(0, dy), rows).narrow(3, std::max<int64_t>(0, dx), cols);
  auto zv = (c * s * noisy.narrow(2, o, n).narrow(3, o, n))
                .narrow(2, std::max<int64_t>(0, dy), rows)
                .narrow(3, std::max<int64_t>(0, dx), cols)
                .clamp(0.0, 1.0);
  const double expected = 10.0 * std::log10(1.0 / (zv - xv.clamp(0.0, 1.0)).pow(2).mean().item<double>());
  std::cout << "aligned PSNR " << a.psnr << " dB, expected " << expected << " dB, unaligned " << psnr(z.clamp(0, 1), x)
            << " dB; SSIM " << a.ssim << "\n";
  EXPECT_NEAR(a.psnr, expected, 0.05);  // tolerance: ECC's sub-pixel residual (< 0.02 px)
  EXPECT_GT(a.psnr, psnr(z.clamp(0, 1), x) + 10.0);
  EXPECT_GT(a.ssim, 0.95);

  // A pure intensity change is undone exactly: identity warp, full mask, SSIM 1.
  const auto same = aligned_scores(0.5 * x, x, opt);
  EXPECT_NEAR(same.intensity_scale, 2.0, 1e-9);
  EXPECT_NEAR(same.valid_fraction, 1.0, 1e-12);
  EXPECT_GT(same.psnr, 60.0);
  EXPECT_NEAR(same.ssim, 1.0, 1e-6);
}

TEST(AlignedMetric, BadInputs) {
  auto x = test::test_image(3, 32, 32);
  EXPECT_THROW(aligned_scores(x, test::test_image(3, 32, 30)), Error);
  EXPECT_THROW(aligned_scores(test::test_image(3, 8, 8), test::test_image(3, 8, 8)), Error);  // below the SSIM window
  EXPECT_THROW(aligned_scores(torch::zeros_like(x), x), Error);
  auto nan = x.clone();
  nan[0][0][3][3] = NAN;
  EXPECT_THROW(aligned_scores(nan, x), Error);
  // A constant image has no gradients: OpenCV's ECC fails, reported as unroll::Error.
  const std::string msg = [&] {
    try {
      aligned_scores(torch::full_like(x, 0.5), torch::full_like(x, 0.5));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_NE(msg.find("ECC"), std::string::npos) << msg;
  AlignedMetricOptions bad;
  bad.gauss_filter_size = 4;
  EXPECT_THROW(aligned_scores(x, x, bad), Error);
}

// The official procedure written with cv2 + skimage (tests/crosscheck/aligned_reference.py) on 8-bit
// PNGs: PSNR within 0.005 dB and SSIM within 2e-5 (float32 vs float64 sums are the only difference).
TEST(AlignedMetric, MatchesTheOfficialProcedureInPython) {
  std::string probe;
  if (test::run_command("/usr/bin/python3 -c 'import cv2, skimage'", &probe) != 0)
    GTEST_SKIP() << "python3-opencv / python3-skimage not installed";
  const std::string dir = test::temp_dir("aligned_reference");
  std::string out;
  ASSERT_EQ(
      test::run_command(
          "/usr/bin/python3 " + std::string(UNROLL_SOURCE_DIR) + "/tests/crosscheck/aligned_reference.py " + dir, &out),
      0)
      << out;
  std::ifstream in(dir + "/reference.txt");
  std::string line;
  int checked = 0;
  bool variants_differ = false;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, variant;
    double ref_psnr = 0, ref_ssim = 0;
    ASSERT_TRUE(static_cast<bool>(ls >> name >> variant >> ref_psnr >> ref_ssim)) << line;
    AlignedMetricOptions o;
    o.variant = variant == "rsblur" ? AlignedMetricOptions::Variant::RSBlur : AlignedMetricOptions::Variant::RealBlur;
    const auto a =
        aligned_scores(read_image(dir + "/" + name + "_restored.png"), read_image(dir + "/" + name + "_gt.png"), o);
    EXPECT_NEAR(a.psnr, ref_psnr, 0.005) << line;
    EXPECT_NEAR(a.ssim, ref_ssim, 2e-5) << line;
    if (variant == "realblur" && name == "case2") {
      AlignedMetricOptions rs;
      variants_differ =
          std::abs(aligned_scores(read_image(dir + "/case2_restored.png"), read_image(dir + "/case2_gt.png"), rs).psnr -
                   a.psnr) > 0.1;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 6);
  EXPECT_TRUE(variants_differ) << "case2 should exercise the RSBlur clipping";
}

}  // namespace
}  // namespace unroll
