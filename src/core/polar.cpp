#include "core/polar.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/fft.h"
#include "core/tensor.h"

namespace unroll {
namespace {

constexpr double kTwoPi = 6.28318530717958647692;
constexpr int64_t kAnglePad = 2;  // circular padding of the angle axis for bicubic back-sampling

int64_t interpolation_code(PolarInterpolation p) {  // at::grid_sampler's interpolation_mode codes
  return p == PolarInterpolation::Bicubic ? 2 : 0;
}
constexpr int64_t kBorderPadding = 1;

/// Runs grid_sample on [N,C,h,w] with one grid [1,H',W',2] shared by all N*C channels.
torch::Tensor sample(const torch::Tensor& x, const torch::Tensor& grid, int64_t mode, bool align_corners) {
  const int64_t n = x.size(0), c = x.size(1);
  auto flat = x.reshape({1, n * c, x.size(2), x.size(3)});
  auto out = torch::grid_sampler(flat, grid.to(x.scalar_type()), mode, kBorderPadding, align_corners);
  return out.reshape({n, c, grid.size(1), grid.size(2)});
}

torch::Tensor as_alpha(const torch::Tensor& a, const torch::Tensor& like) {
  auto t = a.to(like.options());
  if (t.dim() == 0) return t;
  UNROLL_CHECK(t.dim() == 4 && t.size(1) == 1 && t.size(2) == 1 && t.size(3) == 1 &&
                   (t.size(0) == 1 || t.size(0) == like.size(0)),
               "rotational data step: a must be a scalar or [N,1,1,1], got ", a.sizes());
  return t;
}

}  // namespace

void PolarGridOptions::validate() const {
  UNROLL_CHECK(std::isfinite(centre_x) && std::isfinite(centre_y), "polar grid: centre must be finite, got (", centre_x,
               ", ", centre_y, ")");
  UNROLL_CHECK(std::isfinite(radial_step) && radial_step > 0, "polar grid: radial_step must be > 0 pixels, got ",
               radial_step);
  UNROLL_CHECK(std::isfinite(arc_step) && arc_step > 0, "polar grid: arc_step must be > 0 pixels, got ", arc_step);
  UNROLL_CHECK(max_samples >= 1, "polar grid: max_samples must be >= 1, got ", max_samples);
  UNROLL_CHECK(std::isfinite(max_samples_per_pixel) && max_samples_per_pixel > 0,
               "polar grid: max_samples_per_pixel must be > 0, got ", max_samples_per_pixel);
}

double farthest_pixel_distance(int64_t height, int64_t width, double cx, double cy) {
  const double dx = std::max(std::abs(cx), std::abs(static_cast<double>(width - 1) - cx));
  const double dy = std::max(std::abs(cy), std::abs(static_cast<double>(height - 1) - cy));
  return std::hypot(dx, dy);
}

PolarGrid::PolarGrid(int64_t height, int64_t width, const PolarGridOptions& grid, const torch::TensorOptions& options)
    : options_(grid), height_(height), width_(width) {
  options_.validate();
  UNROLL_CHECK(height >= 1 && width >= 1, "polar grid: image must be at least 1x1, got ", height, "x", width);
  const double cx = options_.centre_x, cy = options_.centre_y, dr = options_.radial_step;
  // Nearest point of the pixel-centre rectangle [0,W-1] x [0,H-1] to the centre.
  const double gx = std::max({0.0, -cx, cx - static_cast<double>(width - 1)});
  const double gy = std::max({0.0, -cy, cy - static_cast<double>(height - 1)});
  const double nearest = std::hypot(gx, gy);
  r_min_ = nearest > 0 ? std::max(0.0, nearest - 2.0 * dr) : 0.0;
  const double far = farthest_pixel_distance(height, width, cx, cy);
  // Sizes in double first: a centre at 1e300 would overflow the integer casts.
  const double rings = std::ceil((far - r_min_) / dr) + 3;  // + margin for bicubic at the rim
  const double r_outer_d = r_min_ + (rings - 1) * dr;
  const double angles = std::max(8.0, std::ceil(kTwoPi * r_outer_d / options_.arc_step));
  const double pixels = static_cast<double>(height) * static_cast<double>(width);
  UNROLL_CHECK(rings * angles <= static_cast<double>(options_.max_samples) &&
                   rings * angles <= options_.max_samples_per_pixel * std::max(pixels, 4096.0),
               "polar grid: the centre (", cx, ", ", cy, ") is too far from the ", height, "x", width, " image: ", rings,
               " rings x ", angles, " angles = ", rings * angles / pixels, " samples per pixel (at most ",
               options_.max_samples_per_pixel, ", and ", options_.max_samples,
               " in all); far from its axis, a rotation is close to a linear motion blur (use a line kernel)");
  rings_ = static_cast<int64_t>(rings);
  const double r_outer = r_min_ + static_cast<double>(rings_ - 1) * dr;
  angles_ = fast_size(std::max<int64_t>(8, static_cast<int64_t>(std::ceil(kTwoPi * r_outer / options_.arc_step))));

  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  // Cartesian -> polar: the pixel position of every (ring, angle), normalised for align_corners = false.
  auto r = (r_min_ + torch::arange(rings_, f64) * dr).view({rings_, 1});
  auto alpha = (torch::arange(angles_, f64) * (kTwoPi / static_cast<double>(angles_))).view({1, angles_});
  auto qx = cx + r * torch::cos(alpha);
  auto qy = cy - r * torch::sin(alpha);
  inside_ = ((qx >= -0.5) & (qx <= width - 0.5) & (qy >= -0.5) & (qy <= height - 0.5)).to(options.dtype());
  to_polar_grid_ = torch::stack({(2.0 * qx + 1.0) / static_cast<double>(width) - 1.0,
                                 (2.0 * qy + 1.0) / static_cast<double>(height) - 1.0}, -1)
                       .unsqueeze(0)
                       .to(options);
  // Polar -> Cartesian: every pixel's (ring, angle) index on the angle-padded ring image, normalised
  // for align_corners = true.
  auto px = torch::arange(width, f64).view({1, width}) - cx;
  auto py = torch::arange(height, f64).view({height, 1}) - cy;
  auto pr = torch::sqrt(px * px + py * py);
  auto pa = torch::remainder(torch::atan2(-py, px), kTwoPi);
  auto ti = (pr - r_min_) / dr;
  auto tj = pa * (static_cast<double>(angles_) / kTwoPi) + static_cast<double>(kAnglePad);
  const double wpad = static_cast<double>(angles_ + 2 * kAnglePad - 1);
  const double hden = static_cast<double>(std::max<int64_t>(rings_ - 1, 1));
  to_cartesian_grid_ = torch::stack({2.0 * tj / wpad - 1.0, 2.0 * ti / hden - 1.0}, -1).unsqueeze(0).to(options);
}

torch::Tensor PolarGrid::to_polar(const torch::Tensor& x) const {
  UNROLL_CHECK(x.dim() == 4 && x.size(2) == height_ && x.size(3) == width_, "polar grid: expected [N,C,", height_, ",",
               width_, "], got ", x.sizes());
  return sample(x, to_polar_grid_.to(x.device()), interpolation_code(options_.interpolation), /*align_corners=*/false);
}

torch::Tensor PolarGrid::to_cartesian(const torch::Tensor& u) const {
  UNROLL_CHECK(u.dim() == 4 && u.size(2) == rings_ && u.size(3) == angles_, "polar grid: expected ring image [N,C,",
               rings_, ",", angles_, "], got ", u.sizes());
  auto padded = torch::cat({u.narrow(3, angles_ - kAnglePad, kAnglePad), u, u.narrow(3, 0, kAnglePad)}, 3);
  return sample(padded, to_cartesian_grid_.to(u.device()), interpolation_code(options_.interpolation),
                /*align_corners=*/true);
}

torch::Tensor rotational_transfer(int64_t angles, double angle, SweepSpan span, const torch::TensorOptions& options) {
  UNROLL_CHECK(angles >= 1, "rotational transfer: angles must be >= 1, got ", angles);
  UNROLL_CHECK(std::isfinite(angle) && angle >= 0, "rotational transfer: angle must be finite and >= 0 radians, got ",
               angle);
  auto m = torch::arange(angles / 2 + 1, torch::TensorOptions().dtype(torch::kFloat64));
  // sinc(m theta / 2) with torch's normalised sinc(t) = sin(pi t) / (pi t).
  auto magnitude = torch::sinc(m * (angle / 2.0) / M_PI);
  const double shift = span == SweepSpan::Centred ? 0.0 : angle / 2.0;
  auto transfer = torch::polar(magnitude, -m * shift);
  const auto real = options.dtype().toScalarType() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  return transfer.to(options.dtype(c10::toComplexType(real)));
}

torch::Tensor polar_rotational_blur(const torch::Tensor& x, const PolarGrid& grid, double angle, SweepSpan span) {
  auto xb = as_image_batch(x);
  check_image(xb, "polar rotational blur");
  const int64_t A = grid.angles();
  auto B = rotational_transfer(A, angle, span, xb.options());
  auto u = torch::fft::irfft(B * torch::fft::rfft(grid.to_polar(xb), A, -1), A, -1);
  return grid.to_cartesian(u);
}

void RotationalBoundaryOptions::validate() const {
  UNROLL_CHECK(cg_iterations >= 1, "rotational data step: cg_iterations must be >= 1, got ", cg_iterations);
  UNROLL_CHECK(std::isfinite(cg_tolerance) && cg_tolerance >= 0, "rotational data step: cg_tolerance must be >= 0, got ",
               cg_tolerance);
}

RotationalDataStep::RotationalDataStep(const torch::Tensor& y, double angle, SweepSpan span,
                                       const PolarGridOptions& grid, const RotationalBoundaryOptions& boundary,
                                       const torch::Tensor& observed)
    : boundary_(boundary), angle_(angle) {
  boundary_.validate();
  auto yb = as_image_batch(y);
  check_image(yb, "rotational data step input");
  grid_ = PolarGrid(yb.size(2), yb.size(3), grid, yb.options());
  transfer_ = rotational_transfer(grid_.angles(), angle, span, yb.options());
  y_polar_ = grid_.to_polar(yb);
  y_hat_ = torch::fft::rfft(y_polar_, grid_.angles(), -1);
  ring_mask_ = boundary_.masked ? grid_.inside().to(yb.device()) : torch::ones({grid_.rings(), grid_.angles()}, yb.options());
  if (observed.defined()) {
    auto d = as_image_batch(observed).to(yb.options());
    UNROLL_CHECK(d.dim() == 4 && d.size(1) == 1 && (d.size(0) == 1 || d.size(0) == yb.size(0)) &&
                     d.size(2) == yb.size(2) && d.size(3) == yb.size(3),
                 "rotational data step: observed mask must be [H,W], [1,1,H,W] or [N,1,H,W] matching ", yb.sizes(),
                 ", got ", observed.sizes());
    PolarGridOptions nearest_grid = grid;
    nearest_grid.interpolation = PolarInterpolation::Bilinear;
    const PolarGrid g(yb.size(2), yb.size(3), nearest_grid, yb.options());
    ring_mask_ = ring_mask_ * (g.to_polar(d) > 0.999).to(yb.scalar_type());  // [N or 1,1,R,A]
  }
  // Rings are ordered by radius; the first one with a sample left out (in any batch element).
  auto per_ring = ring_mask_.dim() == 2 ? ring_mask_ : ring_mask_.amin(std::vector<int64_t>{0, 1});
  auto partial = (std::get<0>(per_ring.min(1)) < 0.5).nonzero();
  first_partial_ring_ = partial.numel() > 0 ? partial[0][0].item<int64_t>() : grid_.rings();
}

torch::Tensor RotationalDataStep::ring_solve(const torch::Tensor& zp, const torch::Tensor& a) const {
  const int64_t A = grid_.angles(), R = grid_.rings();
  const auto conj_b = transfer_.conj();
  const auto power = transfer_.abs().pow(2);
  auto rfft = [&](const torch::Tensor& t) { return torch::fft::rfft(t, A, -1); };
  auto irfft = [&](const torch::Tensor& t) { return torch::fft::irfft(t, A, -1); };
  auto closed = irfft((conj_b * y_hat_ + a * rfft(zp)) / (power + a));
  if (first_partial_ring_ >= R) return closed;

  // Preconditioned CG for (B^H M B + a) u = B^H M P y + a zp on the rings that leave the image.
  const int64_t r0 = first_partial_ring_, n = R - r0;
  const auto m = ring_mask_.narrow(-2, r0, n);
  const auto zp_part = zp.narrow(2, r0, n);
  auto apply = [&](const torch::Tensor& t, const torch::Tensor& tf) { return irfft(tf * rfft(t)); };
  auto normal = [&](const torch::Tensor& u) { return apply(m * apply(u, transfer_), conj_b) + a * u; };
  auto precondition = [&](const torch::Tensor& r) { return irfft(rfft(r) / (power + a)); };
  auto dot = [](const torch::Tensor& x, const torch::Tensor& y) {
    return (x * y).sum(std::vector<int64_t>{2, 3}, /*keepdim=*/true);
  };
  const auto b = apply(m * y_polar_.narrow(2, r0, n), conj_b) + a * zp_part;
  const double b_norm = b.norm().item<double>();
  auto u = closed.narrow(2, r0, n);  // the unmasked solution as the starting point
  auto r = b - normal(u);
  auto s = precondition(r);
  auto p = s;
  auto rs = dot(r, s);
  for (int it = 0; it < boundary_.cg_iterations; ++it) {
    if (r.norm().item<double>() <= boundary_.cg_tolerance * b_norm) break;
    auto q = normal(p);
    auto step = rs / dot(p, q).clamp_min(1e-300);
    u = u + step * p;
    r = r - step * q;
    s = precondition(r);
    auto rs_next = dot(r, s);
    p = s + (rs_next / rs.clamp_min(1e-300)) * p;
    rs = rs_next;
  }
  return torch::cat({closed.narrow(2, 0, r0), u}, 2);
}

torch::Tensor RotationalDataStep::solve(const torch::Tensor& z, const torch::Tensor& a) const {
  UNROLL_CHECK(z.dim() == 4 && z.sizes() == torch::IntArrayRef({y_polar_.size(0), y_polar_.size(1), grid_.height(),
                                                                grid_.width()}),
               "rotational data step: z must be [N,C,", grid_.height(), ",", grid_.width(), "], got ", z.sizes());
  auto zp = grid_.to_polar(z);
  return z + grid_.to_cartesian(ring_solve(zp, as_alpha(a, z)) - zp);
}

torch::Tensor RotationalDataStep::solve(const torch::Tensor& z, double a) const {
  return solve(z, torch::full({}, a, z.options()));
}

torch::Tensor RotationalDataStep::solve_polar(const torch::Tensor& zp, const torch::Tensor& a) const {
  UNROLL_CHECK(zp.sizes() == y_polar_.sizes(), "rotational data step: ring image must be ", y_polar_.sizes(), ", got ",
               zp.sizes());
  return ring_solve(zp, as_alpha(a, zp));
}

torch::Tensor RotationalDataStep::wiener(double nsr) const {
  UNROLL_CHECK(std::isfinite(nsr) && nsr > 0, "rotational wiener: nsr must be > 0, got ", nsr);
  return grid_.to_cartesian(ring_solve(torch::zeros_like(y_polar_), torch::full({}, nsr, y_polar_.options())));
}

}  // namespace unroll
