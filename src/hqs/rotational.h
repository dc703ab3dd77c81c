// Deblurring of rotational motion blur (a part spinning about an axis during the exposure) with the
// exact polar-domain data step of core/polar.h inside the HQS solvers of this folder:
//
//   * rotational_wiener   one closed-form ring-wise Wiener step;
//   * rotational_hqs      plug-and-play HQS (DPIR schedule, hqs/pnp.h) with any Prior: TvPrior gives
//                         classical rotational HQS-TV, the shipped denoiser rotational PnP;
//   * rotational_unrolled a trained unrolled network (hqs/unrolled_net.h) with the rotational data step
//                         in place of the convolution one;
//   * estimate_rotation_angle  the sweep angle from the blurred image when only the centre is known;
//   * estimate_rotation_centre the centre (and the sweep) from the blurred image alone.
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

struct CentreSearchOptions {
  /// Candidate centres lie in the image rectangle widened by this fraction of its width and height
  /// on every side, >= 0 (the sweep search needs rings wholly on the image, so a centre far outside
  /// could not be used by it anyway).
  double search_margin = 0.05;
  int coarse_candidates = 17;  ///< candidates per axis on the first grid over the search region, >= 3
  int starts = 3;              ///< best coarse candidates (local minima) refined independently, >= 1
  int64_t block = 8;           ///< pixels per side of the blocks whose structure tensors the coarse levels sum, >= 1
  double tolerance = 0.02;     ///< refinement stops when the grid step falls below it, pixels, > 0
  /// Blocks within this distance of a candidate centre, pixels, count as carrying no direction (the
  /// blur vanishes at the axis): their tangential fraction is blended towards 1/2, > 0.
  double core_radius = 8.0;
  bool estimate_angle = true;  ///< false: model.angle (> 0) is the known sweep and is returned unchanged
  AngleSearchOptions angle;    ///< the sweep search at the centre found
  /// Below this contrast (see CentreEstimate::contrast) the estimate is flagged unreliable, with a
  /// warning: no clear rotational blur (none, too small a sweep, or a strongly oriented scene), in [0,1).
  double min_contrast = 0.03;
  void validate() const;  ///< throws unroll::Error naming the bad field
};

struct CentreEstimate {
  double centre_x = 0.0;  ///< the estimated centre, pixels (column axis)
  double centre_y = 0.0;  ///< pixels (row axis)
  double angle = 0.0;     ///< the sweep about that centre, radians (estimated, or model.angle when known)
  /// The criterion at the estimate: the mean tangential share of the textured blocks' gradient
  /// energy, in [0,1] (1/2 for isotropic structure, lower the stronger the blur).
  double tangential_fraction = 0.0;
  /// 1 - 2 tangential_fraction, clamped at 0: 0 when nothing distinguishes the tangent from the
  /// radius, towards 1 for a strong blur.
  double contrast = 0.0;
  bool reliable = true;            ///< contrast >= options.min_contrast
  std::vector<double> grid_x;      ///< the coarse grid's candidate columns, pixels
  std::vector<double> grid_y;      ///< ... and rows
  std::vector<double> grid_scores; ///< tangential fraction at each, row-major [grid_y][grid_x] (lower = better)
  AngleEstimate angle_search;      ///< the sweep search at the centre (empty when the angle was known)
};

/// The centre of rotation (and the sweep about it) of a rotational blur, from the blurred image
/// alone. model.centre_x/centre_y are ignored (and model.angle unless options.estimate_angle is
/// false); its mask, span and grid are used. All images of a batch must share the centre.
///
/// Method (the blur direction field). A rotational blur smears every pixel along the circle about
/// the centre through it, so the blurred image has lost gradient energy along the tangent and kept
/// it along the radius; the direction of least derivative energy is the blur direction (the cue of
/// motion-direction identification, Yitzhaky & Kopeika, JOSA A 1997), and for a rotation those
/// directions are the tangents of circles about one point. The luminance is high-passed (minus its
/// 5x5 box mean: shading is coherent and untouched by the blur), its structure tensor
/// J = g g^T (central differences) summed over `block` x `block` blocks, and every block whose
/// energy is clearly above the noise's (4x) votes with its direction alone, J_b / tr J_b. The centre
/// c minimises the mean tangential share
///
///   E(c) = mean_b  t_c(p_b)^T J_b t_c(p_b) / tr J_b,   t_c(p) = the unit tangent (p - c)^perp / |p - c|,
///
/// blended towards 1/2 within options.core_radius of c (where the blur vanishes). Every candidate
/// costs one pass over the blocks: a grid of coarse_candidates^2 centres over the search region, then
/// the `starts` best local minima refined by 5x5 grids of halving step down to `tolerance`. E is
/// smooth with one wide basin (unlike the sinc notches of the sweep criterion, which fade a few
/// pixels from the true centre), so the coarse grid does not miss it. With a mask, only pixels well
/// inside the part (eroded by 2 px) count. Then the sweep is estimated about that centre
/// (estimate_rotation_angle).
///
/// Accuracy (measured, 128x128 synthesised parts, noise 2.55/255, 4 centres incl. 19 px from an
/// edge, tests/hqs/rotational_test.cpp): the criterion is biased by the scene's own orientation
/// (scene edges vote too): errors of 1-5 px at a 20 degree sweep, 2-18 px at 8 degrees, and
/// unusable (up to 30 px) at 3 degrees. It is a coarse estimate only: a refinement by the sweep
/// criterion over centres near it (the notches of all rings agree only at the true centre) is still
/// to be added. Time: 0.2 s for 128x128 on 2 loaded cores (the sweep search after it: ~1.5 s).
///
/// Errors: an image smaller than 16 x 16, no structure above the noise (a flat image), fewer than 8
/// textured blocks, no pixel well inside the mask, bad options. No blur (or a sweep too small to
/// see): the estimate is returned with reliable = false and a warning. `sigma` (< 0: estimated) is
/// the noise level.
CentreEstimate estimate_rotation_centre(const torch::Tensor& blurred, const RotationalBlurModel& model,
                                        double sigma = -1, const CentreSearchOptions& options = {});

}  // namespace unroll
