#include "datasets/rotational.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "core/fft.h"
#include "datasets/kernels.h"
#include "test_util.h"

namespace unroll {
namespace {


TEST(RotationalBlur, RpmToAngleAndCopyCount) {
  EXPECT_NEAR(rpm_exposure_to_angle(60, 1.0), 2 * kPi, 1e-12);
  EXPECT_NEAR(rpm_exposure_to_angle(300, 0.01), 2 * kPi * 5 * 0.01, 1e-12);  // 18 degrees
  EXPECT_EQ(rpm_exposure_to_angle(0, 0.02), 0.0);
  EXPECT_THROW(rpm_exposure_to_angle(-1, 0.01), Error);
  EXPECT_THROW(rpm_exposure_to_angle(100, 0), Error);
  EXPECT_THROW(rpm_exposure_to_angle(std::nan(""), 0.01), Error);
  EXPECT_NEAR(farthest_pixel_distance(11, 21, 0, 0), std::hypot(20, 10), 1e-12);
  EXPECT_NEAR(farthest_pixel_distance(11, 21, 10, 5), std::hypot(10, 5), 1e-12);
  EXPECT_NEAR(copies_per_degree(100), 6.981317, 1e-6);
  RotationalBlurOptions o;
  o.angle = 10 * kPi / 180;
  o.centre_x = 10;
  o.centre_y = 5;
  // r_max = hypot(10, 5) = 11.18 px; 10 degrees -> arc 1.951 px -> 8 copies at 0.25 px.
  EXPECT_EQ(rotational_copies(o, 11, 21), 8);
  o.angle = 0;
  EXPECT_EQ(rotational_copies(o, 11, 21), 1);
}

TEST(RotationalBlur, ZeroAngleIsIdentity) {
  auto x = test::test_image(3, 17, 22).to(torch::kFloat64);
  RotationalBlurOptions o;
  o.centre_x = 7.3;
  o.centre_y = -40;  // off-image centre
  EXPECT_LT(test::max_abs_diff(rotational_blur(x, o), x), 1e-12);
  LinearBlurOptions l;
  EXPECT_LT(test::max_abs_diff(linear_motion_blur(x, l), x), 1e-12);
}

TEST(RotationalBlur, RadiallySymmetricImageIsInvariant) {
  const int64_t h = 33, w = 31;
  const double cx = 15.4, cy = 16.2;
  auto yy = torch::arange(h, torch::kFloat64).view({h, 1}) - cy;
  auto xx = torch::arange(w, torch::kFloat64).view({1, w}) - cx;
  auto disk = torch::exp(-(xx * xx + yy * yy) / (2.0 * 5.0 * 5.0)).view({1, 1, h, w});
  RotationalBlurOptions o;
  o.angle = 1.2;
  o.centre_x = cx;
  o.centre_y = cy;
  o.padding = WarpPadding::Zeros;
  auto y = rotational_blur(disk, o);
  EXPECT_LT(test::max_abs_diff(y, disk), 1e-2);  // bilinear interpolation error only
  // The same bump off the axis is visibly smeared (the test can fail).
  RotationalBlurOptions off = o;
  off.centre_x = cx + 8;
  EXPECT_GT(test::max_abs_diff(rotational_blur(disk, off), disk), 0.1);
}

// Intensity-weighted polar statistics of an image about (cx, cy): mean angle (counter-clockwise as
// displayed), angular std, mean radius, radial std.
struct Polar {
  double mean_angle, angle_std, mean_radius, radius_std, mass;
};
Polar polar_stats(const torch::Tensor& img, double cx, double cy) {
  const int64_t h = img.size(2), w = img.size(3);
  auto dy = torch::arange(h, torch::kFloat64).view({h, 1}).expand({h, w}) - cy;
  auto dx = torch::arange(w, torch::kFloat64).view({1, w}).expand({h, w}) - cx;
  auto alpha = torch::atan2(-dy, dx);
  auto r = torch::sqrt(dx * dx + dy * dy);
  auto v = img.reshape({h, w}).clamp_min(0);
  const double mass = v.sum().item<double>();
  Polar p;
  p.mass = mass;
  p.mean_angle = (v * alpha).sum().item<double>() / mass;
  p.angle_std = std::sqrt((v * (alpha - p.mean_angle).pow(2)).sum().item<double>() / mass);
  p.mean_radius = (v * r).sum().item<double>() / mass;
  p.radius_std = std::sqrt((v * (r - p.mean_radius).pow(2)).sum().item<double>() / mass);
  return p;
}

TEST(RotationalBlur, DotSpreadsAlongArcOfLengthRTheta) {
  const int64_t h = 48, w = 48;
  const double cx = 10, cy = 40;
  // Dot at offset (20, -12) from the centre: r = 23.32 px, alpha0 = atan2(12, 20).
  auto dot = torch::zeros({1, 1, h, w}, torch::kFloat64);
  dot[0][0][28][30] = 1.0;
  const double r0 = std::hypot(20.0, 12.0), alpha0 = std::atan2(12.0, 20.0);
  for (auto span : {MotionSpan::Centred, MotionSpan::Forward}) {
    RotationalBlurOptions o;
    o.angle = 0.5;  // arc of 11.66 px at the dot
    o.centre_x = cx;
    o.centre_y = cy;
    o.span = span;
    o.padding = WarpPadding::Zeros;
    auto y = rotational_blur(dot, o);
    auto p = polar_stats(y, cx, cy);
    EXPECT_NEAR(p.mass, 1.0, 0.02);
    EXPECT_NEAR(p.mean_radius, r0, 0.15);
    EXPECT_LT(p.radius_std, 0.6);  // stays on the circle
    // A uniform arc of angle theta has angular std theta/sqrt(12): its length r*theta.
    const double arc_length = std::sqrt(12.0) * p.angle_std * r0;
    EXPECT_NEAR(arc_length, r0 * 0.5, 0.03 * r0 * 0.5);
    const double expected_mean = span == MotionSpan::Centred ? alpha0 : alpha0 + 0.25;  // counter-clockwise
    EXPECT_NEAR(p.mean_angle, expected_mean, 0.01);
  }
}

TEST(RotationalBlur, AverageHasConverged) {
  auto x = test::test_image(3, 40, 36).to(torch::kFloat64);
  RotationalBlurOptions o;
  o.angle = rpm_exposure_to_angle(600, 1.0 / 250);  // 14.4 degrees
  o.centre_x = 30;
  o.centre_y = -15;
  const int64_t m = rotational_copies(o, 40, 36);
  EXPECT_GT(m, 20);
  auto y1 = rotational_blur(x, o);
  RotationalBlurOptions twice = o;
  twice.copies = 2 * m;
  auto y2 = rotational_blur(x, twice);
  EXPECT_LT(test::max_abs_diff(y1, y2), 1e-3);
  // Too few copies are visibly not converged (the check has teeth).
  RotationalBlurOptions few = o;
  few.copies = 3;
  EXPECT_GT(test::max_abs_diff(rotational_blur(x, few), y2), 1e-2);
  // Chunking does not change the result.
  RotationalBlurOptions chunked = o;
  chunked.chunk_elements = 1;
  EXPECT_LT(test::max_abs_diff(rotational_blur(x, chunked), y1), 1e-12);
}

TEST(RotationalBlur, MaskKeepsBackgroundExactly) {
  const int64_t h = 40, w = 40;
  auto x = test::test_image(3, h, w, 2).to(torch::kFloat64);
  const double cx = 14, cy = 15;
  auto yy = torch::arange(h, torch::kFloat64).view({h, 1}) - cy;
  auto xx = torch::arange(w, torch::kFloat64).view({1, w}) - cx;
  auto mask = ((xx * xx + yy * yy) <= 81.0).to(torch::kFloat64);  // part of radius 9
  RotationalBlurOptions o;
  o.angle = 0.8;
  o.centre_x = cx;
  o.centre_y = cy;
  auto y = rotational_blur(x, mask, o);
  ASSERT_EQ(y.sizes(), x.sizes());
  // Far from the part (radius > 11 px) the output is the sharp image, bit for bit.
  auto far = ((xx * xx + yy * yy) > 121.0).expand({1, 3, h, w});
  EXPECT_TRUE(torch::equal(y.masked_select(far), x.masked_select(far)));
  // Inside the part, away from its rim, it equals the unmasked rotational blur.
  auto inner = ((xx * xx + yy * yy) < 36.0).expand({1, 3, h, w});
  auto full = rotational_blur(x, o);
  EXPECT_LT((y.masked_select(inner) - full.masked_select(inner)).abs().max().item<double>(), 1e-12);
  EXPECT_GT((y - x).abs().max().item<double>(), 0.05);  // something did blur
  // An explicit background replaces b.
  auto bg = torch::full_like(x, 0.3);
  auto yb = rotational_blur(x, mask, o, bg);
  EXPECT_NEAR(yb.masked_select(far).max().item<double>(), 0.3, 1e-15);
  // Gradients flow to the image (differentiable synthesis).
  auto xg = x.clone().requires_grad_(true);
  rotational_blur(xg, o).sum().backward();
  ASSERT_TRUE(xg.grad().defined());
  EXPECT_GT(xg.grad().abs().sum().item<double>(), 0.0);
}

TEST(LinearMotionBlur, MatchesMotionKernelConvolutionInTheInterior) {
  auto x = test::test_image(1, 40, 44).to(torch::kFloat64);
  for (double angle : {0.0, 30.0, 110.0}) {
    LinearBlurOptions o;
    o.length = 9;
    o.angle_deg = angle;
    auto y = linear_motion_blur(x, o);
    MotionKernelOptions mk;
    mk.length = 9;
    mk.angle_deg = angle;
    auto k = motion_kernel(mk);
    auto ref = conv_fft(x, k, ConvMode::Same);
    const int64_t m = 8;
    EXPECT_LT(test::max_abs_diff(y.narrow(2, m, 40 - 2 * m).narrow(3, m, 44 - 2 * m),
                                 ref.narrow(2, m, 40 - 2 * m).narrow(3, m, 44 - 2 * m)),
              3e-3)
        << "angle " << angle;
  }
  // Masked conveyor: background outside the swept region stays exact.
  auto mask = torch::zeros({40, 44}, torch::kFloat64);
  mask.narrow(0, 10, 10).narrow(1, 10, 10).fill_(1.0);
  LinearBlurOptions o;
  o.length = 6;
  auto y = linear_motion_blur(x, mask, o);
  EXPECT_TRUE(torch::equal(y.narrow(2, 25, 15), x.narrow(2, 25, 15)));
  EXPECT_GT((y - x).abs().max().item<double>(), 0.01);
}

TEST(RotationalBlur, BadInputsThrow) {
  auto x = test::test_image(1, 12, 12);
  RotationalBlurOptions o;
  o.angle = -0.1;
  EXPECT_THROW(rotational_blur(x, o), Error);
  o.angle = 0.1;
  o.centre_x = std::numeric_limits<double>::infinity();
  try {
    rotational_blur(x, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("centre"), std::string::npos) << e.what();
  }
  o.centre_x = 5;
  o.max_arc_step = 0;
  EXPECT_THROW(rotational_blur(x, o), Error);
  o.max_arc_step = 0.25;
  auto bad = x.clone();
  bad[0][0][1][1] = std::nan("");
  EXPECT_THROW(rotational_blur(bad, o), Error);
  EXPECT_THROW(rotational_blur(x, torch::ones({5, 5}), o), Error);          // mask size mismatch
  EXPECT_THROW(rotational_blur(x, torch::full({12, 12}, 2.0), o), Error);   // mask out of [0,1]
  EXPECT_THROW(rotational_blur(torch::zeros({12, 12}, torch::kLong), o), Error);
  LinearBlurOptions l;
  l.length = -3;
  EXPECT_THROW(linear_motion_blur(x, l), Error);
  EXPECT_THROW(parse_warp_padding("wrap"), Error);
}

}  // namespace
}  // namespace unroll

namespace unroll {
namespace {

torch::Tensor read_matrix(const std::string& path, int64_t h, int64_t w) {
  std::ifstream in(path);
  std::vector<double> v;
  for (double d; in >> d;) v.push_back(d);
  EXPECT_EQ(static_cast<int64_t>(v.size()), h * w) << path;
  v.resize(static_cast<size_t>(h * w));
  return torch::tensor(v, torch::kFloat64).view({h, w});
}

// Independent reference: scipy.ndimage.map_coordinates (order 1, mode 'nearest' = border replication)
// averaged over the same midpoint angles. Checks the centre, direction and pixel-centre conventions.
TEST(RotationalBlur, MatchesScipyReference) {
  const std::string py = test::python_with_skimage();
  if (py.empty()) GTEST_SKIP() << "python3 with scipy not available";
  const int64_t h = 20, w = 24;
  const double cx = 7.5, cy = 30.25, theta = 0.35;
  auto ii = torch::arange(h, torch::kFloat64).view({h, 1});
  auto jj = torch::arange(w, torch::kFloat64).view({1, w});
  auto x = (0.5 + 0.3 * torch::sin(0.7 * ii) * torch::cos(0.45 * jj) + 0.2 * (ii > jj).to(torch::kFloat64)).view({1, 1, h, w});
  RotationalBlurOptions o;
  o.angle = theta;
  o.centre_x = cx;
  o.centre_y = cy;
  o.span = MotionSpan::Forward;
  const int64_t m = rotational_copies(o, h, w);
  auto y = rotational_blur(x, o);
  const std::string dir = test::temp_dir("rotational_scipy");
  const std::string script = dir + "/ref.py";
  {
    std::ofstream s(script);
    s << "import numpy as np\nfrom scipy import ndimage\n"
      << "h, w, cx, cy, theta, M = " << h << ", " << w << ", " << cx << ", " << cy << ", " << theta << ", " << m << "\n"
      << "i, j = np.mgrid[0:h, 0:w].astype(np.float64)\n"
      << "x = 0.5 + 0.3*np.sin(0.7*i)*np.cos(0.45*j) + 0.2*(i > j)\n"
      << "acc = np.zeros_like(x)\n"
      << "for k in range(M):\n"
      << "    phi = theta*(k + 0.5)/M\n"
      << "    qx = cx + np.cos(phi)*(j - cx) - np.sin(phi)*(i - cy)\n"
      << "    qy = cy + np.sin(phi)*(j - cx) + np.cos(phi)*(i - cy)\n"
      << "    acc += ndimage.map_coordinates(x, [qy, qx], order=1, mode='nearest')\n"
      << "np.savetxt('" << dir << "/ref.txt', acc / M, fmt='%.17g')\n";
  }
  std::string out;
  ASSERT_EQ(test::run_command(py + " " + script, &out), 0) << out;
  auto ref = read_matrix(dir + "/ref.txt", h, w);
  EXPECT_LT(test::max_abs_diff(y.view({h, w}), ref), 1e-9);
}

}  // namespace
}  // namespace unroll
