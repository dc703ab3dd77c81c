// core/metrics.h's shift-aligned SSD and error ratio (Levin et al. 2009's comparison up to a shift).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "blind/blind_fixtures.h"
#include "core/error.h"
#include "core/metrics.h"
#include "test_util.h"

namespace unroll {
namespace {

TEST(ShiftAlignedMetric, FindsAKnownShift) {
  auto ref = test::mondrian(3, 64, 64, 1);
  // x(p) = ref(p - (2, -3)): x(p + (2, -3)) matches ref(p).
  auto x = torch::roll(ref, {2, -3}, {2, 3});
  auto e = shift_aligned_ssd(x, ref);
  EXPECT_NEAR(e.ssd, 0.0, 1e-20);
  EXPECT_EQ(e.shift_y, 2.0);
  EXPECT_EQ(e.shift_x, -3.0);
  // A half-pixel shift of a smooth image is found on the 0.25 grid.
  // ref(p) = (x(p - 1 column) + x(p)) / 2 is x bilinearly sampled at p - 0.5 column: exact at shift -0.5.
  auto smooth = test::test_image(1, 64, 64, 2);
  auto half = 0.5 * (smooth + torch::roll(smooth, {1}, {3}));
  auto h = shift_aligned_ssd(smooth, half);
  EXPECT_EQ(h.shift_y, 0.0);
  EXPECT_EQ(h.shift_x, -0.5);
  EXPECT_LT(h.ssd, 1e-10);
}

// The search shares inner products between shifts (core/metrics.cpp); it must find what the direct
// search -- one bilinear window and one SSD per shift -- finds: the same best shift, the same SSD to
// rounding. Including edge clamping (max_shift reaching the crop) and grey and colour images.
TEST(ShiftAlignedMetric, MatchesTheDirectSearch) {
  struct Case {
    int64_t channels, crop;
    double max_shift, step;
  };
  for (const Case& k : {Case{3, 15, 5.0, 0.25}, Case{1, 6, 3.0, 0.5}, Case{1, 2, 2.5, 0.25}, Case{3, 4, 4.9, 0.7}}) {
    SCOPED_TRACE(std::to_string(k.channels) + " channels, crop " + std::to_string(k.crop));
    auto ref = test::test_image(k.channels, 48, 52, 3);
    auto x = 0.5 * (torch::roll(ref, {1, -2}, {2, 3}) + torch::roll(ref, {2, -2}, {2, 3})) +
             0.01 * torch::randn_like(ref, torch::TensorOptions().dtype(ref.dtype()));
    ShiftAlignedOptions o;
    o.crop = k.crop;
    o.max_shift = k.max_shift;
    o.step = k.step;
    const auto fast = shift_aligned_ssd(x, ref, o);
    ShiftAlignedError direct;
    direct.ssd = std::numeric_limits<double>::infinity();
    const auto target = ref.to(torch::kFloat64).narrow(2, k.crop, 48 - 2 * k.crop).narrow(3, k.crop, 52 - 2 * k.crop);
    const int64_t steps = static_cast<int64_t>(std::floor(k.max_shift / k.step + 1e-9));
    for (int64_t iy = -steps; iy <= steps; ++iy)
      for (int64_t ix = -steps; ix <= steps; ++ix) {
        const double sy = iy * k.step, sx = ix * k.step;
        const double ssd =
            (shifted_window(x.to(torch::kFloat64), sy, sx, k.crop) - target).square().sum().item<double>();
        if (ssd < direct.ssd) direct = {ssd, sy, sx};
      }
    EXPECT_EQ(fast.shift_y, direct.shift_y);
    EXPECT_EQ(fast.shift_x, direct.shift_x);
    EXPECT_NEAR(fast.ssd, direct.ssd, 1e-9 * direct.ssd);
    EXPECT_GT(direct.ssd, 0.0);
  }
}

TEST(ShiftAlignedMetric, RatioIsOneForIdenticalInputs) {
  torch::manual_seed(0);
  auto ref = test::mondrian(1, 64, 64, 3);
  auto result = ref + 0.05 * torch::randn_like(ref);
  EXPECT_DOUBLE_EQ(shift_aligned_error_ratio(result, result, ref), 1.0);
  auto e = shift_aligned_ssd(ref, ref);
  EXPECT_EQ(e.ssd, 0.0);
  EXPECT_EQ(e.shift_y, 0.0);
  EXPECT_EQ(e.shift_x, 0.0);
  // Shift invariance: a shifted copy of the result scores the same.
  EXPECT_NEAR(shift_aligned_error_ratio(torch::roll(result, {1, 2}, {2, 3}), result, ref), 1.0, 0.2);
  // A clearly worse result (ten times the error variance) has a ratio well above 1. The
  // sub-pixel shift search interpolates, which smooths white noise, so the ratio is below the variance ratio.
  EXPECT_GT(shift_aligned_error_ratio(result + 0.15 * torch::randn_like(ref), result, ref), 3.0);
}

TEST(ShiftAlignedMetric, BadOptionsAndSizes) {
  auto ref = torch::rand({1, 1, 20, 20});
  ShiftAlignedOptions o;
  EXPECT_NE(test::error_of([&] { shift_aligned_ssd(ref, ref, o); }).find("crop 15 too large"), std::string::npos);
  o.step = 0;
  EXPECT_EQ(test::error_of([&] { shift_aligned_ssd(ref, ref, o); }), "shift-aligned metric: step must be > 0, got 0");
  EXPECT_NE(test::error_of([&] { shift_aligned_ssd(ref, torch::rand({1, 1, 20, 21})); }).find("sizes differ"),
            std::string::npos);
}

}  // namespace
}  // namespace unroll
