#include "datasets/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>

#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {


struct Moments {
  double mx, my;         // centre of mass relative to the kernel centre (x = column, y = row)
  double cxx, cyy, cxy;  // central second moments
};

Moments moments(const torch::Tensor& k) {
  const int64_t h = k.size(0), w = k.size(1);
  auto y = (torch::arange(h, torch::kFloat64) - static_cast<double>(h / 2)).reshape({h, 1});
  auto x = (torch::arange(w, torch::kFloat64) - static_cast<double>(w / 2)).reshape({1, w});
  auto kk = k.to(torch::kFloat64) / k.sum();
  Moments m;
  m.mx = (kk * x).sum().item<double>();
  m.my = (kk * y).sum().item<double>();
  auto dx = x - m.mx, dy = y - m.my;
  m.cxx = (kk * dx * dx).sum().item<double>();
  m.cyy = (kk * dy * dy).sum().item<double>();
  m.cxy = (kk * dx * dy).sum().item<double>();
  return m;
}

// Major-axis direction of a covariance, in degrees counter-clockwise as displayed (y down), in [0,180),
// and the two eigenvalues.
void principal_axes(const Moments& m, double* angle_deg, double* lmax, double* lmin) {
  // In display coordinates (x, -y) the covariance has cxy negated.
  const double a = m.cxx, b = -m.cxy, d = m.cyy;
  const double mean = 0.5 * (a + d), diff = std::sqrt(0.25 * (a - d) * (a - d) + b * b);
  *lmax = mean + diff;
  *lmin = mean - diff;
  double ang = 0.5 * std::atan2(2 * b, a - d) * 180.0 / kPi;
  if (ang < 0) ang += 180.0;
  *angle_deg = ang;
}

double angle_distance(double a, double b) {  // on the 180-degree circle of axes
  double d = std::fmod(std::abs(a - b), 180.0);
  return std::min(d, 180.0 - d);
}

void expect_valid_kernel(const torch::Tensor& k, const std::string& what) {
  ASSERT_EQ(k.scalar_type(), torch::kFloat64) << what;
  ASSERT_EQ(k.dim(), 2) << what;
  EXPECT_NEAR(k.sum().item<double>(), 1.0, 1e-12) << what;
  EXPECT_GE(k.min().item<double>(), 0.0) << what;
  EXPECT_TRUE(torch::isfinite(k).all().item<bool>()) << what;
}

TEST(SeededRng, DeterministicAndSeedSensitive) {
  SeededRng a(7), b(7), c(8);
  for (int i = 0; i < 100; ++i) {
    const double va = a.uniform();
    EXPECT_EQ(va, b.uniform());
    EXPECT_GE(va, 0.0);
    EXPECT_LT(va, 1.0);
  }
  SeededRng a2(7);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a2.uniform() == c.uniform();
  EXPECT_EQ(same, 0);
  // Normal samples: mean ~0, variance ~1 over 20000 draws (standard error of the mean 0.007).
  SeededRng n(3);
  double s = 0, s2 = 0;
  const int count = 20000;
  for (int i = 0; i < count; ++i) {
    const double v = n.normal();
    s += v;
    s2 += v * v;
  }
  EXPECT_NEAR(s / count, 0.0, 0.03);
  EXPECT_NEAR(s2 / count, 1.0, 0.04);
  for (int i = 0; i < 200; ++i) {
    const int64_t v = n.integer(-2, 3);
    EXPECT_GE(v, -2);
    EXPECT_LE(v, 3);
  }
}

TEST(GaussianKernel, SecondMomentsMatchSigmaAndAngle) {
  for (double angle : {0.0, 30.0, 75.0, 135.0}) {
    GaussianKernelOptions o;
    o.sigma_x = 3.0;
    o.sigma_y = 1.2;
    o.angle_deg = angle;
    auto k = gaussian_kernel(o);
    expect_valid_kernel(k, "gaussian");
    EXPECT_EQ(k.size(0), 2 * 9 + 1);  // 2*ceil(3*3)+1
    auto m = moments(k);
    EXPECT_NEAR(m.mx, 0.0, 1e-12);
    EXPECT_NEAR(m.my, 0.0, 1e-12);
    double ang, lmax, lmin;
    principal_axes(m, &ang, &lmax, &lmin);
    // Truncation at 3 sigma removes ~3% of the variance.
    EXPECT_NEAR(std::sqrt(lmax), 3.0, 0.12) << "angle " << angle;
    EXPECT_NEAR(std::sqrt(lmin), 1.2, 0.03) << "angle " << angle;
    EXPECT_LT(angle_distance(ang, angle), 0.5) << "angle " << angle << " measured " << ang;
  }
  // A large window: isotropic second moment equals sigma^2 almost exactly.
  auto k = gaussian_kernel(2.0, 41);
  auto m = moments(k);
  EXPECT_NEAR(m.cxx, 4.0, 1e-6);
  EXPECT_NEAR(m.cyy, 4.0, 1e-6);
  EXPECT_NEAR(m.cxy, 0.0, 1e-9);
  // Even size: centred on (k/2, k/2).
  auto ke = gaussian_kernel(1.5, 10);
  EXPECT_EQ(ke.argmax().item<int64_t>(), 5 * 10 + 5);
}

TEST(MotionKernel, LengthAndAngleFromCovariance) {
  for (double length : {5.0, 12.5, 21.0}) {
    for (double angle : {0.0, 20.0, 45.0, 90.0, 160.0}) {
      MotionKernelOptions o;
      o.length = length;
      o.angle_deg = angle;
      auto k = motion_kernel(o);
      expect_valid_kernel(k, "motion");
      ASSERT_EQ(k.size(0) % 2, 1);
      auto m = moments(k);
      EXPECT_NEAR(m.mx, 0.0, 1e-9);
      EXPECT_NEAR(m.my, 0.0, 1e-9);
      double ang, lmax, lmin;
      principal_axes(m, &ang, &lmax, &lmin);
      // Variance along the segment: L^2/12 plus ~1/6 px^2 from bilinear splatting.
      const double est_length = std::sqrt(12.0 * (lmax - 1.0 / 6.0));
      EXPECT_NEAR(est_length, length, 0.04 * length) << "L " << length << " angle " << angle;
      EXPECT_LT(lmin, 0.25);
      EXPECT_LT(angle_distance(ang, angle), 1.0) << "L " << length << " angle " << angle << " measured " << ang;
    }
  }
  // Zero length is the identity.
  MotionKernelOptions z;
  z.length = 0;
  auto k0 = motion_kernel(z);
  EXPECT_EQ(k0.size(0), 3);
  EXPECT_NEAR(k0[1][1].item<double>(), 1.0, 1e-12);
  // Horizontal motion of odd integer length covers exactly that many pixels of one row.
  MotionKernelOptions h;
  h.length = 6;
  h.size = 11;
  auto kh = motion_kernel(h);
  EXPECT_NEAR(kh[5].sum().item<double>(), 1.0, 1e-12);
  EXPECT_EQ((kh > 1e-12).sum().item<int64_t>(), 7);  // ends at +-3 get half weight
  MotionKernelOptions too_big;
  too_big.length = 30;
  too_big.size = 15;
  EXPECT_THROW(motion_kernel(too_big), Error);
}

TEST(DefocusKernel, AreaMatchesRadius) {
  for (double r : {1.5, 3.0, 4.7, 8.0}) {
    DefocusKernelOptions o;
    o.radius = r;
    auto k = defocus_kernel(o);
    expect_valid_kernel(k, "defocus");
    EXPECT_EQ(k.size(0), 2 * static_cast<int64_t>(std::ceil(r)) + 1);
    // The centre pixel is fully covered, so sum / max is the covered area in pixels.
    const double area = 1.0 / k.max().item<double>();
    EXPECT_NEAR(area, kPi * r * r, 0.015 * kPi * r * r) << "radius " << r;
    auto m = moments(k);
    EXPECT_NEAR(m.mx, 0.0, 1e-9);
    EXPECT_NEAR(m.my, 0.0, 1e-9);
    // A uniform disk has second moment r^2/4 along each axis.
    EXPECT_NEAR(m.cxx, r * r / 4.0, 0.05 * r * r / 4.0 + 0.02) << "radius " << r;
    EXPECT_NEAR(m.cxx, m.cyy, 1e-9);
  }
  DefocusKernelOptions small;
  small.radius = 5;
  small.size = 7;
  EXPECT_THROW(defocus_kernel(small), Error);
}

TEST(ShakeKernel, DeterministicCentredAndSeedSensitive) {
  ShakeTrajectoryOptions o;
  o.max_length = 15;
  auto t1 = shake_trajectory(o, 11), t2 = shake_trajectory(o, 11), t3 = shake_trajectory(o, 12);
  ASSERT_EQ(t1.sizes(), (std::vector<int64_t>{2000, 2}));
  EXPECT_TRUE(torch::equal(t1, t2));
  EXPECT_GT((t1 - t3).abs().max().item<double>(), 0.5);
  // Constant speed: total path length is max_length.
  auto steps = (t1.narrow(0, 1, 1999) - t1.narrow(0, 0, 1999)).pow(2).sum(1).sqrt();
  EXPECT_NEAR(steps.sum().item<double>(), 15.0, 1e-9);
  auto k = shake_kernel(o, 25, 11);
  expect_valid_kernel(k, "shake");
  auto m = moments(k);
  EXPECT_NEAR(m.mx, 0.0, 1e-9);  // centred by centre of mass
  EXPECT_NEAR(m.my, 0.0, 1e-9);
  EXPECT_TRUE(torch::equal(k, shake_kernel(o, 25, 11)));
  EXPECT_FALSE(torch::equal(k, shake_kernel(o, 25, 12)));
  // Zero anxiety is a straight line of the given length in the initial direction.
  ShakeTrajectoryOptions line = o;
  line.anxiety = 0;
  line.initial_angle_deg = 0;  // +x; trajectories use (x, y) image coordinates
  auto kl = shake_kernel(line, 25, 5);
  double ang, lmax, lmin;
  principal_axes(moments(kl), &ang, &lmax, &lmin);
  EXPECT_NEAR(std::sqrt(12.0 * (lmax - lmin)), 15.0, 0.3);
  EXPECT_LT(angle_distance(ang, 0.0), 0.5);
  // A path longer than the kernel is shrunk about its centre of mass, never cut.
  ShakeTrajectoryOptions long_line = line;
  long_line.max_length = 60;
  auto kc = shake_kernel(long_line, 15, 5);
  expect_valid_kernel(kc, "shrunk shake");
  EXPECT_NEAR(kc.select(1, 0).sum().item<double>() + kc.select(1, 14).sum().item<double>(), 0.0, 1e-12);
  // Shorter exposure keeps the start of the path: a smaller spread.
  auto kt = shake_kernel(line, 25, 5, 0.5);
  double ang2, lmax2, lmin2;
  principal_axes(moments(kt), &ang2, &lmax2, &lmin2);
  EXPECT_NEAR(std::sqrt(12.0 * (lmax2 - lmin2)), 7.5, 0.3);
}

TEST(RandomKernel, AllTypesValidDeterministicAndVaried) {
  for (auto type : {KernelType::Gaussian, KernelType::Linear, KernelType::Motion, KernelType::Defocus, KernelType::Mixed}) {
    KernelSpec spec;
    spec.type = type;
    spec.size = 21;
    spec.length_max = 15;
    spec.radius_max = 5;
    for (uint64_t seed = 0; seed < 6; ++seed) {
      auto k = random_kernel(spec, seed);
      expect_valid_kernel(k, kernel_type_name(type));
      EXPECT_EQ(k.size(0), 21);
      EXPECT_EQ(k.size(1), 21);
      EXPECT_TRUE(torch::equal(k, random_kernel(spec, seed)));
      EXPECT_FALSE(torch::equal(k, random_kernel(spec, seed + 100))) << kernel_type_name(type) << " seed " << seed;
    }
  }
  EXPECT_EQ(parse_kernel_type("shake"), KernelType::Motion);
  EXPECT_EQ(parse_kernel_type("disk"), KernelType::Defocus);
  EXPECT_THROW(parse_kernel_type("boxy"), Error);
  // The Gaussian branch honours the sigma range: with min == max the spread is fixed.
  KernelSpec g;
  g.type = KernelType::Gaussian;
  g.size = 31;
  g.sigma_min = g.sigma_max = 2.0;
  auto m = moments(random_kernel(g, 3));
  EXPECT_NEAR(m.cxx + m.cyy, 8.0, 0.05);
}

TEST(RandomKernel, SpecValidationNamesTheField) {
  KernelSpec s;
  s.size = 15;
  s.length_max = 20;
  try {
    s.validate();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("length_max"), std::string::npos) << e.what();
  }
  KernelSpec r;
  r.sigma_min = 2;
  r.sigma_max = 1;
  EXPECT_THROW(r.validate(), Error);
  KernelSpec d;
  d.radius_min = 0;
  EXPECT_THROW(d.validate(), Error);
  GaussianKernelOptions go;
  go.sigma_x = std::nan("");
  EXPECT_THROW(gaussian_kernel(go), Error);
}

TEST(RandomKernel, FittedSpecKeepsDefaultsThatFitAndShrinksTheRest) {
  const KernelSpec big = fitted_kernel_spec(KernelType::Motion, 25);
  EXPECT_EQ(big.size, 25);
  EXPECT_EQ(big.length_max, KernelSpec{}.length_max);  // 20 <= 23: unchanged
  const KernelSpec small = fitted_kernel_spec(KernelType::Defocus, 7);
  EXPECT_EQ(small.type, KernelType::Defocus);
  EXPECT_DOUBLE_EQ(small.length_max, 5.0);
  EXPECT_DOUBLE_EQ(small.length_min, 5.0);
  EXPECT_DOUBLE_EQ(small.radius_max, 2.5);
  EXPECT_DOUBLE_EQ(small.radius_min, 1.0);
  EXPECT_EQ(random_kernel(small, 3).size(0), 7);
  EXPECT_THROW(fitted_kernel_spec(KernelType::Linear, 2), Error);
}

TEST(KernelFiles, ListAndLoadFolder) {
  const std::string dir = test::temp_dir("kernel_folder");
  {
    std::ofstream(dir + "/b.csv") << "0,1,0\n1,2,1\n0,1,0\n";
    std::ofstream(dir + "/a.txt") << "1 1\n1 1\n";
    std::ofstream(dir + "/notes.md") << "not a kernel\n";
  }
  auto files = list_kernel_files(dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_NE(files[0].find("a.txt"), std::string::npos);
  auto ks = load_kernel_folder(dir);
  ASSERT_EQ(ks.size(), 2u);
  EXPECT_NEAR(ks[0][0][0].item<double>(), 0.25, 1e-15);
  EXPECT_NEAR(ks[1][1][1].item<double>(), 2.0 / 6.0, 1e-15);
  EXPECT_THROW(list_kernel_files(dir + "/missing"), Error);
  const std::string empty = test::temp_dir("kernel_folder_empty");
  EXPECT_THROW(list_kernel_files(empty), Error);
  std::ofstream(dir + "/c.csv") << "1,x\n";
  try {
    load_kernel_folder(dir);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("c.csv:1"), std::string::npos) << e.what();
  }
}

TEST(KernelFiles, SharedLevinKernels) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared folder not available";
  const std::string dir = shared + "/data/kernels/levin09";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " not available";
  auto ks = load_kernel_folder(dir);
  ASSERT_EQ(ks.size(), 8u);
  for (const auto& k : ks) expect_valid_kernel(k, "levin09");
}

TEST(PerturbKernel, LevelZeroIsTheKernelAndLevelsGrowTheError) {
  const auto k = motion_kernel({15, 30, 0, 16});
  EXPECT_TRUE(torch::allclose(perturb_kernel(k, 0.0, 3), k / k.sum()));
  EXPECT_DOUBLE_EQ(relative_kernel_error(k, k), 0.0);
  for (uint64_t seed : {1u, 2u, 3u}) {
    double previous = 0;
    for (double level : {0.05, 0.1, 0.2, 0.4}) {
      const auto p = perturb_kernel(k, level, seed);
      expect_valid_kernel(p, "perturbed");
      EXPECT_EQ(p.size(0) % 2, 1);
      EXPECT_GE(p.size(0), k.size(0));
      const double e = relative_kernel_error(p, k);
      std::cout << "seed " << seed << " level " << level << ": relative error " << e << ", size " << p.size(0) << "\n";
      EXPECT_GT(e, previous) << "seed " << seed << " level " << level;
      EXPECT_LT(e, 8.0 * level + 0.05) << "seed " << seed << " level " << level;
      previous = e;
    }
  }
}

TEST(PerturbKernel, DeterministicSeedSensitiveAndCentred) {
  const auto k = motion_kernel({11, 120, 0, 16});
  const auto a = perturb_kernel(k, 0.1, 7), b = perturb_kernel(k, 0.1, 7), c = perturb_kernel(k, 0.1, 8);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(a.sizes() == c.sizes() && torch::equal(a, c));
  // The stretch is about the centre of mass, which stays where it was relative to the kernel centre (no
  // shift of the restored image), also for a kernel whose mass is off-centre.
  auto off = torch::zeros({9, 9}, torch::kFloat64);
  off.narrow(0, 5, 3).narrow(1, 1, 6).fill_(1.0);
  const Moments before = moments(off);
  for (double level : {0.1, 0.3}) {
    const Moments m = moments(perturb_kernel(off, level, 5));
    EXPECT_NEAR(m.mx, before.mx, 0.3) << level;
    EXPECT_NEAR(m.my, before.my, 0.3) << level;
  }
  const Moments m = moments(a);
  EXPECT_LT(std::abs(m.mx), 0.5);
  EXPECT_LT(std::abs(m.my), 0.5);
  // Float32 input and an even-sized kernel are accepted; the result is float64, odd.
  const auto even = perturb_kernel(torch::ones({4, 4}, torch::kFloat32), 0.1, 1);
  expect_valid_kernel(even, "even input");
  EXPECT_EQ(even.size(0) % 2, 1);
}

bool fails_with(const std::function<void()>& f, const std::string& text) {
  return test::error_of(f).find(text) != std::string::npos;
}

TEST(PerturbKernel, BadInputsNameTheProblem) {
  const auto k = gaussian_kernel(1.0);
  EXPECT_TRUE(fails_with([&] { perturb_kernel(k, -0.1, 1); }, "level must be in [0, 1]"));
  EXPECT_TRUE(fails_with([&] { perturb_kernel(k, std::nan(""), 1); }, "level must be in [0, 1]"));
  EXPECT_TRUE(fails_with([&] { perturb_kernel(k, 1.5, 1); }, "level must be in [0, 1]"));
  EXPECT_TRUE(fails_with([&] { perturb_kernel(torch::ones({3, 4}), 0.1, 1); }, "square"));
  EXPECT_TRUE(fails_with([&] { perturb_kernel(-k, 0.1, 1); }, "non-negative"));
  EXPECT_TRUE(fails_with([&] { relative_kernel_error(k, torch::ones({4, 4})); }, "odd square"));
}

}  // namespace
}  // namespace unroll
