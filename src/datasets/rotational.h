// Physical motion blur of a rotating part (industrial inspection: a part spinning on a spindle or
// turntable photographed with a finite exposure) and of uniform linear (conveyor) motion.
//
// Coordinates: pixel (row i, column j) has its centre at (x, y) = (j, i), y pointing down (as in
// datasets/kernels.h). The rotation centre (cx, cy) is in the same pixel units, may be fractional and
// may lie outside the image. Angles are in radians; a positive angle turns the part counter-clockwise
// *as displayed*: R_phi maps an offset (dx, dy) to (dx cos phi + dy sin phi, -dx sin phi + dy cos phi).
//
// Forward model (rotational). During the exposure the part turns at constant angular speed through
// the sweep angle theta = 2*pi*rpm/60 * t_exposure. At rotation phi the scene is the sharp image
// rotated about c, (R_phi x)(p) = x(c + R_{-phi}(p - c)), and the sensor integrates over time:
//
//   y(p) = 1/theta * Integral_{phi in Phi} x( c + R_{-phi} (p - c) ) dphi,
//   Phi  = [-theta/2, theta/2]  (Span::Centred, the default: y is aligned with the part at
//                                mid-exposure and the operator is self-adjoint in the continuum)
//        = [0, theta]           (Span::Forward: aligned with the part at the start of the exposure).
//
// In polar coordinates about c, r = |p - c| and alpha = atan2(-(y - cy), x - cx) (counter-clockwise
// as displayed), this is a 1-D box filter of angular width theta along alpha, identical at every r:
//
//   y(r, alpha) = 1/theta * Integral_{Phi} x(r, alpha - phi) dphi,
//
// so at radius r the blur is an arc of length r*theta pixels (zero at the centre). A solver may
// resample y to a polar grid, deconvolve each ring with the periodic box of width theta (exactly
// diagonal in the angular Fourier basis), and resample back.
//
// Discretisation. The integral is evaluated with the midpoint rule over M copies,
// phi_m = phi_start + theta*(m + 0.5)/M, each copy resampled with torch::grid_sample (bilinear,
// align_corners = false, i.e. pixel centres at integer coordinates; batched; differentiable with
// respect to the image). M is chosen so that the arc step between consecutive copies at the farthest
// image pixel, r_max * theta / M, is at most `max_arc_step` (default 0.25 px):
//   M = max(1, ceil(r_max * theta / max_arc_step)),
// i.e. r_max * (pi/180) / max_arc_step copies per degree of sweep: 7.0 per degree for r_max = 100 px,
// 28 per degree for r_max = 400 px. Doubling M then changes the result by < 1e-3 on [0,1] images
// (tested). Samples falling outside the image use `padding` (border replication by default; the
// out-of-view scene is unknown, replication avoids darkening the borders).
//
// Masked model (only the part moves, the background stays). With a mask m in [0,1] marking the
// rotating part in the sharp frame (at phi = 0), the part occludes the static background b for the
// fraction of the exposure it covers a pixel (the usual alpha-matte motion model):
//
//   y = B(m * x) + (1 - B(m)) * b,          B = the rotational blur operator above,
//
// with b = x by default (the sharp frame, whose pixels outside the mask are the background). Where
// B(m) = 0, i.e. no part of the spinning region ever reaches the pixel, y equals b exactly; where the
// part covers the pixel during the whole exposure, y = B(x).
//
// Linear (conveyor) variant: the part translates by `length` pixels in direction `angle_deg`
// (counter-clockwise as displayed, as in datasets/kernels.h) during the exposure:
//   y(p) = 1/L * Integral_{s in S} x(p - s u) ds,  u = (cos a, -sin a),  S = [-L/2, L/2] or [0, L],
// with M = max(1, ceil(L / max_step)) copies; without a mask it equals a 'same' convolution with the
// linear motion kernel of datasets/kernels.h, up to the boundary handling.
#pragma once

#include <torch/torch.h>

#include "core/polar.h"

#include <cstdint>
#include <string>

namespace unroll {

/// Sweep angle in radians of a part turning at `rpm` revolutions per minute during `exposure_s`
/// seconds: 2*pi*rpm/60*exposure_s. Throws unless rpm is finite and >= 0 and exposure_s finite and > 0.
double rpm_exposure_to_angle(double rpm, double exposure_s);

/// Centred: [-theta/2, theta/2], the blurred image is aligned with the mid-exposure position;
/// Forward: [0, theta], aligned with the start of the exposure (one enum with the polar solver's).
using MotionSpan = SweepSpan;

enum class WarpPadding { Zeros, Border, Reflection };

/// Parses "zeros", "border", "reflection".
WarpPadding parse_warp_padding(const std::string& name);

struct RotationalBlurOptions {
  double angle = 0.0;            ///< sweep angle theta in radians, finite and >= 0 (see rpm_exposure_to_angle)
  double centre_x = 0.0;         ///< rotation centre, pixels (column axis); finite, may be outside the image
  double centre_y = 0.0;         ///< rotation centre, pixels (row axis)
  MotionSpan span = MotionSpan::Centred;
  double max_arc_step = 0.25;    ///< largest arc between copies at the farthest pixel, pixels, > 0
  int64_t copies = 0;            ///< explicit number of copies M (>= 1); 0 = from max_arc_step
  WarpPadding padding = WarpPadding::Border;
  int64_t chunk_elements = int64_t{1} << 24;  ///< bound on temporary elements per grid_sample call
  void validate() const;
};

/// farthest_pixel_distance (the distance to the farthest pixel centre) comes from core/polar.h.

/// The number of copies M used for an H x W image (see the header comment).
int64_t rotational_copies(const RotationalBlurOptions& options, int64_t height, int64_t width);

/// Copies per degree of sweep for a farthest radius r_max: r_max * (pi/180) / max_arc_step.
double copies_per_degree(double r_max, double max_arc_step = 0.25);

/// Rotational blur of `sharp` ([N,C,H,W], [C,H,W] or [H,W] floating; returned as [N,C,H,W]).
torch::Tensor rotational_blur(const torch::Tensor& sharp, const RotationalBlurOptions& options);

/// Masked rotational blur y = B(m x) + (1 - B(m)) b. `mask`: [H,W], [1,1,H,W] or [N,1,H,W] in [0,1];
/// `background`: an image like `sharp`, or undefined for b = sharp.
torch::Tensor rotational_blur(const torch::Tensor& sharp, const torch::Tensor& mask, const RotationalBlurOptions& options,
                              const torch::Tensor& background = {});

struct LinearBlurOptions {
  double length = 0.0;           ///< displacement during the exposure, pixels, finite and >= 0
  double angle_deg = 0.0;        ///< direction, degrees counter-clockwise as displayed
  MotionSpan span = MotionSpan::Centred;
  double max_step = 0.25;        ///< largest displacement between copies, pixels, > 0
  int64_t copies = 0;            ///< explicit M (>= 1); 0 = ceil(length / max_step)
  WarpPadding padding = WarpPadding::Border;
  int64_t chunk_elements = int64_t{1} << 24;
  void validate() const;
};

/// Number of copies used by linear_motion_blur.
int64_t linear_copies(const LinearBlurOptions& options);

/// Uniform linear (conveyor) motion blur; shapes as rotational_blur.
torch::Tensor linear_motion_blur(const torch::Tensor& sharp, const LinearBlurOptions& options);

/// Masked conveyor blur y = B(m x) + (1 - B(m)) b, as the masked rotational blur.
torch::Tensor linear_motion_blur(const torch::Tensor& sharp, const torch::Tensor& mask, const LinearBlurOptions& options,
                                 const torch::Tensor& background = {});

}  // namespace unroll
