#include "datasets/rotational.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/limits.h"
#include "core/tensor.h"

namespace unroll {

namespace {


int64_t padding_code(WarpPadding p) {
  switch (p) {  // at::grid_sampler's padding_mode codes
    case WarpPadding::Zeros: return 0;
    case WarpPadding::Border: return 1;
    case WarpPadding::Reflection: return 2;
  }
  return 1;
}

// Mean over m of x sampled at q = A_m p + b_m (pixel coordinates, x = column, y = row).
// A: [M,2,2], b: [M,2] (float64, CPU). x: [N,C,H,W]. Copies are processed in chunks that bound the
// temporary [m, N*C, H, W] tensor to about `chunk_elements` elements.
torch::Tensor average_warps(const torch::Tensor& x, const torch::Tensor& A, const torch::Tensor& b, WarpPadding padding,
                            int64_t chunk_elements) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), copies = A.size(0);
  const auto opts = x.options();
  auto px = torch::arange(w, opts).view({1, 1, w});
  auto py = torch::arange(h, opts).view({1, h, 1});
  auto flat = x.reshape({1, n * c, h, w});
  const int64_t per_copy = n * c * h * w + 2 * h * w;
  const int64_t chunk = std::max<int64_t>(1, chunk_elements / std::max<int64_t>(per_copy, 1));
  auto Ad = A.to(opts), bd = b.to(opts);
  torch::Tensor acc;
  for (int64_t start = 0; start < copies; start += chunk) {
    const int64_t m = std::min(chunk, copies - start);
    auto a = Ad.narrow(0, start, m);
    auto t = bd.narrow(0, start, m);
    auto coef = [&](int64_t i, int64_t j) { return a.select(1, i).select(1, j).view({m, 1, 1}); };
    auto qx = coef(0, 0) * px + coef(0, 1) * py + t.select(1, 0).view({m, 1, 1});
    auto qy = coef(1, 0) * px + coef(1, 1) * py + t.select(1, 1).view({m, 1, 1});
    // align_corners = false: pixel centre j maps to (2j + 1)/W - 1.
    auto grid = torch::stack({(2.0 * qx + 1.0) / static_cast<double>(w) - 1.0, (2.0 * qy + 1.0) / static_cast<double>(h) - 1.0}, -1);
    auto warped = torch::grid_sampler(flat.expand({m, n * c, h, w}), grid, /*bilinear*/ 0, padding_code(padding),
                                      /*align_corners=*/false);
    auto s = warped.sum(0);
    acc = acc.defined() ? acc + s : s;
  }
  return (acc / static_cast<double>(copies)).reshape({n, c, h, w});
}

// Midpoint-rule positions of M samples over the span of a sweep of total extent `extent`.
torch::Tensor span_samples(double extent, int64_t copies, MotionSpan span) {
  auto t = (torch::arange(copies, torch::kFloat64) + 0.5) * (extent / static_cast<double>(copies));
  return span == MotionSpan::Centred ? t - 0.5 * extent : t;
}

torch::Tensor prepare_image(const torch::Tensor& sharp, const std::string& who) {
  auto x = as_image_batch(sharp);
  check_image(x, who);
  return x;
}

// y = B(m x) + (1 - B(m)) b, with B applied once to the channel-stacked [m x, m].
template <class BlurFn>
torch::Tensor composite(const torch::Tensor& sharp, const torch::Tensor& mask_in, const torch::Tensor& background,
                        const std::string& who, BlurFn blur) {
  auto x = prepare_image(sharp, who);
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  UNROLL_CHECK(mask_in.defined(), who, ": mask is undefined");
  auto m = as_image_batch(mask_in);
  UNROLL_CHECK(m.dim() == 4 && m.size(1) == 1 && (m.size(0) == 1 || m.size(0) == n) && m.size(2) == h && m.size(3) == w,
               who, ": mask must be [H,W], [1,1,H,W] or [N,1,H,W] matching the image ", x.sizes(), ", got ", mask_in.sizes());
  m = m.to(x.options());
  check_finite(m, who + " (mask)");
  UNROLL_CHECK(m.min().item<double>() >= 0.0 && m.max().item<double>() <= 1.0, who, ": mask values must be in [0,1], got [",
               m.min().item<double>(), ", ", m.max().item<double>(), "]");
  torch::Tensor bg = x;
  if (background.defined()) {
    bg = as_image_batch(background);
    UNROLL_CHECK(bg.sizes() == x.sizes(), who, ": background shape ", bg.sizes(), " does not match the image ", x.sizes());
    bg = bg.to(x.options());
    check_finite(bg, who + " (background)");
  }
  auto mb = m.expand({n, 1, h, w});
  auto both = blur(torch::cat({x * mb, mb}, 1));
  auto blurred_part = both.narrow(1, 0, x.size(1));
  auto coverage = both.narrow(1, x.size(1), 1);
  return blurred_part + (1.0 - coverage) * bg;
}

}  // namespace

double rpm_exposure_to_angle(double rpm, double exposure_s) {
  UNROLL_CHECK(std::isfinite(rpm) && rpm >= 0, "rotational blur: rpm must be finite and >= 0, got ", rpm);
  UNROLL_CHECK(std::isfinite(exposure_s) && exposure_s > 0, "rotational blur: exposure must be finite and > 0 seconds, got ",
               exposure_s);
  return 2.0 * kPi * rpm / 60.0 * exposure_s;
}

WarpPadding parse_warp_padding(const std::string& name) {
  if (name == "zeros") return WarpPadding::Zeros;
  if (name == "border") return WarpPadding::Border;
  if (name == "reflection") return WarpPadding::Reflection;
  fail("unknown padding '", name, "' (expected zeros, border or reflection)");
}

void RotationalBlurOptions::validate() const {
  UNROLL_CHECK(std::isfinite(angle) && angle >= 0, "rotational blur: angle must be finite and >= 0 radians, got ", angle);
  UNROLL_CHECK(std::isfinite(centre_x) && std::isfinite(centre_y), "rotational blur: centre must be finite, got (", centre_x,
               ", ", centre_y, ")");
  UNROLL_CHECK(std::isfinite(max_arc_step) && max_arc_step > 0, "rotational blur: max_arc_step must be > 0 pixels, got ",
               max_arc_step);
  UNROLL_CHECK(copies >= 0, "rotational blur: copies must be >= 0 (0 = automatic), got ", copies);
  UNROLL_CHECK(chunk_elements >= 1, "rotational blur: chunk_elements must be >= 1, got ", chunk_elements);
}

double copies_per_degree(double r_max, double max_arc_step) {
  UNROLL_CHECK(max_arc_step > 0, "copies_per_degree: max_arc_step must be > 0, got ", max_arc_step);
  return r_max * (kPi / 180.0) / max_arc_step;
}

namespace {
// The work of one synthetic blur (copies x images x pixels grid samples) is bounded, so that an absurd
// centre or length is an error instead of minutes of computation (issue 28).
void check_blur_work(int64_t copies, const torch::Tensor& x, const char* what) {
  const double work = static_cast<double>(copies) * static_cast<double>(x.size(0)) * static_cast<double>(x.size(2)) *
                      static_cast<double>(x.size(3));
  const int64_t limit = limit_value(LimitId::RotationalSamples);
  UNROLL_CHECK(work <= static_cast<double>(limit), what, ": ", copies, " copies of ", x.size(0), " image(s) of ",
               x.size(2), "x", x.size(3), " = ", work, " samples, above the limit of ", limit, " (",
               limit_hint(LimitId::RotationalSamples), ")");
}
}  // namespace

int64_t rotational_copies(const RotationalBlurOptions& o, int64_t height, int64_t width) {
  o.validate();
  const double r_max = farthest_pixel_distance(height, width, o.centre_x, o.centre_y);
  // A part that travels many image diagonals during the exposure leaves the frame: the "blur" is the
  // padding smeared over the image, and the sign of a mistyped centre or sweep, not of a real capture.
  const double travel = 2.0 * r_max * std::sin(std::min(o.angle, kPi) / 2.0);
  const double diagonal = std::hypot(static_cast<double>(height), static_cast<double>(width));
  UNROLL_CHECK(travel <= 8.0 * diagonal, "rotational blur: the farthest pixel moves ", travel, " px during the sweep (",
               o.angle * 180.0 / kPi, " degrees at ", r_max, " px from the centre ", o.centre_x, ",", o.centre_y,
               "), more than 8 image diagonals: check the centre and the sweep");
  if (o.copies > 0) return o.copies;
  const double arc = r_max * o.angle;
  const double m = std::ceil(arc / o.max_arc_step - 1e-9);
  UNROLL_CHECK(m < 1e7, "rotational blur: ", m, " copies needed (arc ", arc, " px at step ", o.max_arc_step,
               " px); the sweep or the distance to the centre is unreasonably large");
  return std::max<int64_t>(1, static_cast<int64_t>(m));
}

torch::Tensor rotational_blur(const torch::Tensor& sharp, const RotationalBlurOptions& o) {
  o.validate();
  auto x = prepare_image(sharp, "rotational blur");
  const int64_t copies = rotational_copies(o, x.size(2), x.size(3));
  check_blur_work(copies, x, "rotational blur");
  auto phi = span_samples(o.angle, copies, o.span);
  auto cs = torch::cos(phi), sn = torch::sin(phi);
  // q = c + R_{-phi}(p - c), R_{-phi} = [[cos, -sin], [sin, cos]] in (x, y-down) coordinates.
  auto A = torch::stack({torch::stack({cs, -sn}, 1), torch::stack({sn, cs}, 1)}, 1);  // [M,2,2]
  auto c = torch::tensor({o.centre_x, o.centre_y}, torch::kFloat64);
  auto b = c.unsqueeze(0) - torch::matmul(A, c);                                    // [M,2]
  return average_warps(x, A, b, o.padding, o.chunk_elements);
}

torch::Tensor rotational_blur(const torch::Tensor& sharp, const torch::Tensor& mask, const RotationalBlurOptions& o,
                              const torch::Tensor& background) {
  o.validate();
  return composite(sharp, mask, background, "rotational blur",
                   [&](const torch::Tensor& t) { return rotational_blur(t, o); });
}

void LinearBlurOptions::validate() const {
  UNROLL_CHECK(std::isfinite(length) && length >= 0, "linear motion blur: length must be finite and >= 0 pixels, got ", length);
  UNROLL_CHECK(std::isfinite(angle_deg), "linear motion blur: angle_deg must be finite, got ", angle_deg);
  UNROLL_CHECK(std::isfinite(max_step) && max_step > 0, "linear motion blur: max_step must be > 0 pixels, got ", max_step);
  UNROLL_CHECK(copies >= 0, "linear motion blur: copies must be >= 0 (0 = automatic), got ", copies);
  UNROLL_CHECK(chunk_elements >= 1, "linear motion blur: chunk_elements must be >= 1, got ", chunk_elements);
}

int64_t linear_copies(const LinearBlurOptions& o) {
  o.validate();
  if (o.copies > 0) return o.copies;
  const double m = std::ceil(o.length / o.max_step - 1e-9);
  UNROLL_CHECK(m < 1e7, "linear motion blur: ", m, " copies needed; length ", o.length, " is unreasonably large");
  return std::max<int64_t>(1, static_cast<int64_t>(m));
}

torch::Tensor linear_motion_blur(const torch::Tensor& sharp, const LinearBlurOptions& o) {
  o.validate();
  auto x = prepare_image(sharp, "linear motion blur");
  const int64_t copies = linear_copies(o);
  check_blur_work(copies, x, "linear motion blur");
  auto s = span_samples(o.length, copies, o.span);
  const double a = o.angle_deg * kPi / 180.0;
  // q = p - s u with u = (cos a, -sin a).
  auto A = torch::eye(2, torch::kFloat64).unsqueeze(0).expand({copies, 2, 2});
  auto b = torch::stack({-s * std::cos(a), s * std::sin(a)}, 1);
  return average_warps(x, A, b, o.padding, o.chunk_elements);
}

torch::Tensor linear_motion_blur(const torch::Tensor& sharp, const torch::Tensor& mask, const LinearBlurOptions& o,
                                 const torch::Tensor& background) {
  o.validate();
  return composite(sharp, mask, background, "linear motion blur",
                   [&](const torch::Tensor& t) { return linear_motion_blur(t, o); });
}

}  // namespace unroll
