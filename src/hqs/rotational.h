// Deblurring of rotational motion blur (a part spinning about an axis during the exposure) with the
// exact polar-domain data step of core/polar.h inside the HQS solvers of this folder:
//
//   * rotational_wiener   one closed-form ring-wise Wiener step;
//   * rotational_hqs      plug-and-play HQS (DPIR schedule, hqs/pnp.h) with any Prior: TvPrior gives
//                         classical rotational HQS-TV, the shipped denoiser rotational PnP;
//   * rotational_unrolled a trained unrolled network (hqs/unrolled_net.h) with the rotational data step
//                         in place of the convolution one;
//   * estimate_rotation_angle  the sweep angle from the blurred image when only the centre is known.
//
// Geometry and forward model are those of datasets/rotational.h (same centre convention: pixel
// (row i, column j) at (x, y) = (j, i), angles counter-clockwise as displayed).
//
// Masks (a rotating part in a static scene). With a mask m of the part in the sharp frame, the
// observation is y = B(m x) + (1 - B(m)) b (datasets/rotational.h). Where the part covers a pixel
// during the whole exposure (B(m) = 1, computed with the same polar operator) the observation is
// exactly y = B(x); everywhere else it mixes in the unknown background. The solvers therefore use
// only those pixels as data (core/polar.h RotationalDataStep `observed`, the same masked solve as for
// ring samples off the image: the rest of every arc is filled in by the prior term), and return
// x = m z + (1 - m) y: the static background comes back untouched and is never deconvolved. For a
// part whose silhouette is invariant under the rotation (a disc or ring about the axis) the data
// region is the whole part; for other shapes it shrinks by the swept band along the silhouette.
// (rotational_wiener has no prior to fill left-out samples with: it treats every ring as observed
// and composes the same way.)
#pragma once

#include <torch/torch.h>

#include "core/polar.h"
#include "core/solver.h"
#include "hqs/pnp.h"
#include "hqs/unrolled_net.h"
#include "priors/prior.h"

namespace unroll {

struct RotationalBlurModel {
  double angle = 0.0;             ///< sweep angle theta, radians, finite and >= 0
  double centre_x = 0.0;          ///< rotation centre, pixels (column axis); may lie outside the image
  double centre_y = 0.0;          ///< rotation centre, pixels (row axis)
  SweepSpan span = SweepSpan::Centred;
  torch::Tensor mask;             ///< optional: the rotating part, [H,W] / [1,1,H,W] / [N,1,H,W] in [0,1]
  PolarGridOptions grid;          ///< resampling (its centre is overwritten by centre_x/centre_y)
  RotationalBoundaryOptions boundary;  ///< ring samples off the image (core/polar.h); masked by default
  /// The polar operator matches a physical (or camera) rotational blur only up to resampling: the HQS
  /// schedules treat that model error as noise in quadrature, sigma_eff = sqrt(sigma^2 +
  /// model_sigma^2), >= 0. 0.5/255 was best for PnP on Set3C and within 0.2 dB of best for TV.
  double model_sigma = 0.5 / 255.0;
  void validate() const;          ///< throws unroll::Error naming the bad field
  PolarGridOptions grid_options() const;  ///< `grid` with the model's centre
  double effective_sigma(double sigma) const;  ///< sqrt(sigma^2 + model_sigma^2)
};

/// The model's rotational blur of x [N,C,H,W] with the polar operator (masked when the model has a
/// mask): what the solvers invert.
torch::Tensor apply_rotational_model(const torch::Tensor& x, const RotationalBlurModel& model);

/// x = P^+ F^-1[conj(B) F(P y) / (|B|^2 + nsr)], nsr > 0: the one-shot linear filter, with every
/// ring treated as periodic (the border-replicated observation stands in for the unseen part; the
/// masked boundary needs a prior for the unseen part, which Wiener's shrinkage to 0 is not).
/// `blurred`: [N,C,H,W] / [C,H,W] / [H,W].
SolverResult rotational_wiener(const torch::Tensor& blurred, const RotationalBlurModel& model, double nsr);

struct RotationalHqsOptions {
  PnpHqsOptions pnp;   ///< schedule (iterations, sigma_start, lambda, alternate_transforms, clip); boundary is unused
  void validate() const;
};

/// Calibration for rotational blur (Set3C, docs/experiments/rotational), beside the solvers it tunes:
/// the polar Wiener filter's noise-to-signal ratio 400 sigma_eff^2 (sigma_eff = model.effective_sigma(sigma),
/// the pixel noise plus the model's own resampling error), and HQS with the TV proximal step (`hqs-tv`
/// on rotational blur) running kRotationalTvIterations iterations with a_k = kRotationalTvLambda sigma^2 /
/// sigma_k^2.
double default_rotational_wiener_nsr(const RotationalBlurModel& model, double sigma);
constexpr int kRotationalTvIterations = 16;
constexpr double kRotationalTvLambda = 0.1;

/// Plug-and-play HQS with the rotational data step and any prior (TvPrior: rotational HQS-TV). The
/// DPIR schedule runs for the noise level sigma_eff (see RotationalBlurModel::model_sigma).
SolverResult rotational_hqs(const torch::Tensor& blurred, const RotationalBlurModel& model, double sigma, Prior& prior,
                            const RotationalHqsOptions& options = {});

/// A trained unrolled network with the rotational data step; sigma on the [0,1] scale (the network
/// is given sigma_eff, see RotationalBlurModel::model_sigma).
SolverResult rotational_unrolled(UnrolledNet net, const torch::Tensor& blurred, const RotationalBlurModel& model,
                                 double sigma);

struct AngleSearchOptions {
  double min_angle = 0.5 * M_PI / 180.0;  ///< smallest sweep considered, radians, > 0
  double max_angle = 60.0 * M_PI / 180.0; ///< largest sweep considered, radians, > min_angle
  int candidates = 400;                   ///< log-spaced grid points (>= 3), refined by golden section
  void validate() const;
};

struct AngleEstimate {
  double angle = 0.0;              ///< the estimate, radians
  std::vector<double> candidates;  ///< the grid searched, radians
  std::vector<double> scores;      ///< the match score of each (higher = better)
};

/// The sweep angle of a rotational blur about a known centre (model.angle is ignored; centre, span,
/// mask and grid are used), by a 1-D search for the angle whose blur explains the observation's
/// angular spectrum best. In polar coordinates the blur multiplies the angular spectrum of every ring
/// by the same sinc(m theta / 2) (core/polar.h), whose zeros at m = 2 pi k / theta carve periodic
/// notches into the log power spectrum of the observation (the cue of cepstral blur-length estimation,
/// Cannon, IEEE TASSP 1976, exact here for every ring at once). The criterion: the log power spectra
/// of the rings that lie inside the image (each up to its pixel resolution, m <= 0.7 pi r), each
/// with its smooth trend removed (a weighted least-squares quadratic in log m), averaged, and
/// correlated with log sinc^2(m theta / 2) detrended the same way; maximised over a log-spaced grid
/// of angles in [min_angle, max_angle] and refined by golden section. The first notch must fall
/// within the resolution of the largest ring: theta >~ 2.9 / r_inscribed (3 degrees for r = 55 px). `sigma` (noise level, < 0: estimated) sets the floor added to the powers.
AngleEstimate estimate_rotation_angle(const torch::Tensor& blurred, const RotationalBlurModel& model, double sigma = -1,
                                      const AngleSearchOptions& options = {});

}  // namespace unroll
