// Polar resampling about a rotation centre, and the closed-form data step for rotational motion blur.
//
// Rotational blur (datasets/rotational.h has the physical forward model) averages the sharp image
// along circular arcs of angle theta about a centre c. It is spatially varying in Cartesian
// coordinates (the arc at radius r is r*theta pixels long) but in polar coordinates about c,
// u(r, alpha) = x(c_x + r cos alpha, c_y - r sin alpha) (alpha counter-clockwise as displayed, y down),
// it is the same 1-D periodic box filter of angular width theta on every ring:
//
//   (B u)(r, alpha) = 1/theta * Integral_{phi in Phi} u(r, alpha - phi) dphi,
//   Phi = [-theta/2, theta/2] (SweepSpan::Centred) or [0, theta] (SweepSpan::Forward).
//
// B is diagonal in the angular Fourier basis: for the harmonic e^{i m alpha} its eigenvalue is
//   B_m = e^{-i m s} sinc(m theta / 2),   s = centre of Phi (0 or theta/2),  sinc(t) = sin(t)/t,
// exact for the trigonometric interpolant of the ring samples. So the HQS / ADMM quadratic step
//   x = argmin_x ||B x - y||^2 + a ||x - z||^2
// decouples into one closed-form 1-D deconvolution per ring (the same formula as the convolution
// data step in core/data_step.h, along one axis):
//   U = (conj(B_m) Y_m + a Z_m) / (|B_m|^2 + a).
// The Cartesian norms weigh ring r by its circumference, but every term of ring r carries the same
// weight, so the per-ring minimiser is unchanged: the step is exact up to resampling.
//
// Resampling scheme (PolarGrid). Rings at radii r_i = r_min + i * dr (dr = radial_step, default
// 0.5 px) from r_min (0 when c is inside the image, else the distance to the image rectangle) to
// beyond the farthest pixel centre; A angles alpha_j = 2 pi j / A on every ring, A = fast_size(
// ceil(2 pi r_max / arc_step)) (arc_step = 0.5 px by default), i.e. >= 2 pi r_max samples and at
// most arc_step pixels apart on the outermost ring. Cartesian -> polar samples the image with
// grid_sample (bicubic by default; bilinear optional), pixel centres at integer coordinates, border
// replication outside the image; polar -> Cartesian samples the ring image at each pixel's (r, alpha)
// with the angle axis padded circularly (periodic) and the radial axis clamped. Both directions are
// batched and differentiable. The round-trip error |to_cartesian(to_polar(x)) - x| is measured by
// the tests (tests/core/polar_test.cpp) and by `unroll bench polar`.
//
// To keep the resampling error out of the result, RotationalDataStep works on the correction: with
// Y = F(P y) and Z = F(P z) (F the 1-D FFT along alpha, P the polar resampling),
//   x = z + P^+ F^-1[ conj(B) (Y - B Z) / (|B|^2 + a) ],
// which equals P^+ U when P^+ P = I, while the parts of z that need no correction (most of its
// detail) never pass through the resampler.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace unroll {

/// Which part of the exposure the blurred image is aligned with (see the header comment).
enum class SweepSpan {
  Centred,  ///< Phi = [-theta/2, theta/2]: aligned with the part at mid-exposure
  Forward,  ///< Phi = [0, theta]: aligned with the part at the start of the exposure
};

enum class PolarInterpolation { Bilinear, Bicubic };

/// Distance from (cx, cy) to the farthest pixel centre of an H x W image.
double farthest_pixel_distance(int64_t height, int64_t width, double cx, double cy);

struct PolarGridOptions {
  double centre_x = 0.0;     ///< rotation centre, pixels (column axis), finite; may lie outside the image
  double centre_y = 0.0;     ///< rotation centre, pixels (row axis)
  double radial_step = 0.5;  ///< dr between rings, pixels, > 0
  double arc_step = 0.5;     ///< largest distance between angular samples on the outermost ring, pixels, > 0
  PolarInterpolation interpolation = PolarInterpolation::Bicubic;
  int64_t max_samples = int64_t{1} << 28;  ///< upper bound on rings x angles (guards absurd centres)
  /// Upper bound on rings x angles per image pixel: about 13 for a centred axis, about 100 for an axis
  /// one diagonal outside the image; an axis far away would cost minutes per solve for a near-linear blur.
  double max_samples_per_pixel = 256;
  void validate() const;                   ///< throws unroll::Error naming the bad field
};

class PolarGrid {
 public:
  PolarGrid() = default;
  /// The grid for H x W images; `options` gives the dtype and device of the sampling grids.
  PolarGrid(int64_t height, int64_t width, const PolarGridOptions& grid, const torch::TensorOptions& options);

  /// x: [N,C,H,W] -> ring image [N,C,R,A] (row i = radius r_i, column j = angle alpha_j).
  torch::Tensor to_polar(const torch::Tensor& x) const;
  /// u: [N,C,R,A] -> [N,C,H,W].
  torch::Tensor to_cartesian(const torch::Tensor& u) const;

  /// 1 where a ring sample lies on the image ([-0.5, W-0.5] x [-0.5, H-0.5]), else 0; [R,A].
  const torch::Tensor& inside() const { return inside_; }
  int64_t rings() const { return rings_; }
  int64_t angles() const { return angles_; }
  double r_min() const { return r_min_; }
  double radial_step() const { return options_.radial_step; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  const PolarGridOptions& options() const { return options_; }

 private:
  PolarGridOptions options_;
  int64_t height_ = 0, width_ = 0, rings_ = 0, angles_ = 0;
  double r_min_ = 0.0;
  torch::Tensor to_polar_grid_, to_cartesian_grid_;  ///< normalised grid_sample grids [1,R,A,2], [1,H,W,2]
  torch::Tensor inside_;
};

/// Angular transfer function of the rotational box blur on A angles: complex [A/2+1] (for rfft along
/// the angle axis), B_m = e^{-i m s} sinc(m theta / 2) as in the header comment. `angle` = theta in
/// radians, finite and >= 0 (0 gives all ones). `options` gives the real dtype and device.
torch::Tensor rotational_transfer(int64_t angles, double angle, SweepSpan span, const torch::TensorOptions& options);

/// The rotational blur as the polar operator P^+ F^-1 B F P: the model the data step inverts. For
/// comparison with the physical synthesiser of datasets/rotational.h (tested there to agree).
torch::Tensor polar_rotational_blur(const torch::Tensor& x, const PolarGrid& grid, double angle,
                                    SweepSpan span = SweepSpan::Centred);

/// How RotationalDataStep treats ring samples that fall outside the image (rings beyond the
/// inscribed circle of the image about the centre, or every ring when the centre is outside).
struct RotationalBoundaryOptions {
  /// true: the data term counts only samples inside the image, ||M (B u - P y)||^2 with M the
  /// in-image indicator on the rings, and the ring values outside are whatever the prior term
  /// a ||u - P z||^2 makes them (P z replicates z's border, which is what the physical synthesiser
  /// assumes of the unseen scene). Solved by conjugate gradients preconditioned with the unmasked
  /// closed form (|B|^2 + a)^-1, only on the rings that leave the image; the others stay closed-form.
  /// false: every ring is treated as fully observed (the border-replicated y stands in for the
  /// unseen part), one closed form, faster but with ringing near the image corners.
  bool masked = true;
  int cg_iterations = 12;        ///< PCG iterations per solve, >= 1
  double cg_tolerance = 1e-5;    ///< stop when ||r|| <= tolerance * ||b|| (per solve), >= 0
  void validate() const;
};

class RotationalDataStep {
 public:
  RotationalDataStep() = default;
  /// y: [N,C,H,W] observation (floating); angle theta in radians (>= 0); the grid's size must be H x W.
  /// `observed` (optional, [H,W], [1,1,H,W] or [N,1,H,W]): 1 where y follows the rotational model,
  /// 0 where it does not (e.g. a static background around a spinning part, saturated pixels); ring
  /// samples that fall where it is < 0.5 are left out of the data term like samples off the image
  /// (and handled by the same masked solve, whatever boundary.masked says).
  RotationalDataStep(const torch::Tensor& y, double angle, SweepSpan span, const PolarGridOptions& grid,
                     const RotationalBoundaryOptions& boundary = {}, const torch::Tensor& observed = {});

  /// x = z + P^+ F^-1[conj(B)(Y - B F(P z)) / (|B|^2 + a)]; `a` > 0: scalar tensor or [N,1,1,1].
  torch::Tensor solve(const torch::Tensor& z, const torch::Tensor& a) const;
  torch::Tensor solve(const torch::Tensor& z, double a) const;

  /// The ring-domain minimiser of ||M (B u - P y)||^2 + a ||u - zp||^2 for a ring image zp [N,C,R,A]
  /// (M = 1 everywhere when the boundary is not masked: U = (conj(B) Y + a Z) / (|B|^2 + a)); what
  /// solve() computes before resampling; for tests.
  torch::Tensor solve_polar(const torch::Tensor& zp, const torch::Tensor& a) const;

  /// Wiener-type (Tikhonov) estimate: the minimiser of ||M (B u - P y)||^2 + nsr ||u||^2 resampled
  /// back (solve with z = 0); closed form P^+ F^-1[conj(B) Y / (|B|^2 + nsr)] when not masked.
  torch::Tensor wiener(double nsr) const;

  /// Data indicator M of the ring samples: in-image (when masked) and observed, [R,A] or [N,1,R,A]
  /// (all ones when neither applies), and the first ring with a sample left out (R when none is).
  const torch::Tensor& ring_mask() const { return ring_mask_; }
  int64_t first_partial_ring() const { return first_partial_ring_; }

  const PolarGrid& grid() const { return grid_; }
  const torch::Tensor& transfer() const { return transfer_; }  ///< B, complex [A/2+1]
  const torch::Tensor& y_polar() const { return y_polar_; }    ///< P y, [N,C,R,A]
  double angle() const { return angle_; }

 private:
  /// Minimiser of ||M (B u - P y)||^2 + a ||u - zp||^2 on the rings (see solve_polar).
  torch::Tensor ring_solve(const torch::Tensor& zp, const torch::Tensor& a) const;

  PolarGrid grid_;
  RotationalBoundaryOptions boundary_;
  torch::Tensor transfer_, y_polar_, y_hat_, ring_mask_;
  int64_t first_partial_ring_ = 0;
  double angle_ = 0.0;
};

}  // namespace unroll
