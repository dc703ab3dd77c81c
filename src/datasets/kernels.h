// Blur-kernel (PSF) generators for synthetic training and evaluation pairs.
//
// Every generator returns a float64 CPU kernel [k,k] that is non-negative and sums to 1, centred on
// index (k/2, k/2) (core/tensor.h); move it with .to(image.options()) before use. Random generators
// take a uint64 seed and own their generator (SeededRng): no global RNG state is read or changed,
// so the same seed gives the same kernel on every platform and in every thread.
//
// Geometry conventions (shared with datasets/rotational.h):
//  * pixel (row i, column j) has its centre at x = j, y = i; the kernel centre is (x, y) = (k/2, k/2);
//  * angles are in degrees, measured counter-clockwise *as displayed* (rows grow downwards), from the
//    +x axis: direction angle a is the displacement (dx, dy) = (cos a, -sin a). This is MATLAB's
//    fspecial('motion', len, theta) convention.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace unroll {

/// Seeded random source with platform-independent distributions: the engine is std::mt19937_64 (its
/// output sequence is fixed by the standard) and the conversions to uniform / normal values are our
/// own, because the std:: distributions differ between standard libraries. The seed is scrambled with
/// splitmix64, so consecutive seeds give unrelated streams.
class SeededRng {
 public:
  explicit SeededRng(uint64_t seed);
  double uniform();                                          ///< [0, 1), 53 random bits
  double uniform(double lo, double hi);                      ///< [lo, hi)
  double normal();                                           ///< N(0,1), Box-Muller
  int64_t integer(int64_t lo, int64_t hi);                   ///< uniform in [lo, hi] (inclusive)
  uint64_t next_seed();                                      ///< a fresh seed for a sub-generator

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

/// splitmix64 finaliser (Steele et al. 2014): a bijective 64-bit mix used to derive sub-seeds.
uint64_t mix_seed(uint64_t x);

// ------------------------------------------------------------------------------------------------
// Deterministic shapes
// ------------------------------------------------------------------------------------------------

/// Anisotropic Gaussian: covariance R(angle) diag(sigma_x^2, sigma_y^2) R(angle)^T, i.e. sigma_x along
/// the direction `angle_deg` and sigma_y across it. Sampled at pixel centres and normalised (a sigma of
/// below 0.25 px is treated as 0.25 px, the sampling limit, so 0 gives a one-pixel-wide profile).
struct GaussianKernelOptions {
  double sigma_x = 1.6;   ///< std along the major direction, pixels, >= 0
  double sigma_y = 1.6;   ///< std across it, pixels, >= 0
  double angle_deg = 0;   ///< direction of the sigma_x axis
  int64_t size = 0;       ///< kernel side; 0 = 2*ceil(3*max(sigma_x,sigma_y))+1 (at least 3)
  void validate() const;
};
torch::Tensor gaussian_kernel(const GaussianKernelOptions& options);
/// Isotropic shorthand. Sigmas below 0.25 px are treated as 0.25 px (the sampling limit), so a
/// sigma of 0 gives a (nearly) one-pixel kernel.
torch::Tensor gaussian_kernel(double sigma, int64_t size = 0);

/// Uniform linear motion: a segment of `length` pixels through the kernel centre in direction
/// `angle_deg`, rasterised with sub-pixel accuracy: the segment is sampled at `samples_per_pixel`
/// evenly spaced points per pixel of length and every sample is splatted bilinearly onto its four
/// nearest pixels. The centre of mass is exactly the kernel centre; the covariance is
/// length^2/12 along the direction plus the splatting's ~1/6 px^2 on each axis.
struct MotionKernelOptions {
  double length = 15;           ///< pixels, >= 0 (0 gives the identity kernel)
  double angle_deg = 0;
  int64_t size = 0;             ///< 0 = smallest odd size holding the segment plus a 1-pixel margin
  int64_t samples_per_pixel = 16;
  void validate() const;
};
torch::Tensor motion_kernel(const MotionKernelOptions& options);

/// Defocus (pill-box / disk) of radius `radius` pixels: each pixel's weight is the fraction of its area
/// inside the disk, estimated on a supersample x supersample sub-grid (anti-aliased edge), then
/// normalised. Before normalisation the weights sum to ~pi*radius^2.
struct DefocusKernelOptions {
  double radius = 4;            ///< pixels, > 0
  int64_t size = 0;             ///< 0 = 2*ceil(radius)+1
  int64_t supersample = 16;     ///< sub-samples per pixel side, >= 1
  void validate() const;
};
torch::Tensor defocus_kernel(const DefocusKernelOptions& options);

// ------------------------------------------------------------------------------------------------
// Random camera shake
// ------------------------------------------------------------------------------------------------

/// Random camera-shake trajectory in the style of Boracchi & Foi, "Modeling the performance of image
/// restoration from motion blur", IEEE TIP 2012 (their createTrajectory/createPSFs): a 2-D random walk
/// of `steps` points with constant speed (total path length `max_length`), whose velocity changes by
/// Gaussian perturbations (`gaussian_shake`), a pull back towards the start (`centripetal`), and, with
/// probability `prob_big_shake` per step, an impulsive jerk that sends the motion roughly backwards.
/// `anxiety` scales all random changes (0 = a straight line). Parameters left negative are drawn from
/// the rng as in the reference (centripetal ~ U[0,0.7], prob_big_shake ~ U[0,0.2], gaussian_shake ~
/// U[0,10], initial direction ~ U[0,360) degrees).
struct ShakeTrajectoryOptions {
  int64_t steps = 2000;
  double max_length = 20;       ///< total path length in pixels, > 0
  double anxiety = 0.05;        ///< >= 0; the reference draws it from U[0, 0.1]
  double centripetal = -1;      ///< in [0,1] or negative = random
  double prob_big_shake = -1;   ///< in [0,1] or negative = random
  double gaussian_shake = -1;   ///< >= 0 or negative = random
  double initial_angle_deg = std::numeric_limits<double>::quiet_NaN();  ///< NaN = random
  void validate() const;
};

/// A trajectory as [steps, 2] float64 (x, y) positions in pixels, starting at (0, 0).
torch::Tensor shake_trajectory(const ShakeTrajectoryOptions& options, uint64_t seed);

/// Rasterises a trajectory [P,2] of (x, y) positions into a [size,size] kernel by bilinear splatting,
/// after translating it so its centre of mass (mean position) sits on the kernel centre. When the
/// translated path does not fit inside the kernel with a 1-pixel margin it is shrunk about its centre
/// of mass until it does (a warning-free, documented adaptation). `exposure` in (0,1] keeps only the
/// first fraction of the path (Boracchi & Foi's exposure times T).
torch::Tensor rasterize_trajectory(const torch::Tensor& trajectory, int64_t size, double exposure = 1.0);

/// shake_trajectory + rasterize_trajectory.
torch::Tensor shake_kernel(const ShakeTrajectoryOptions& options, int64_t size, uint64_t seed, double exposure = 1.0);

// ------------------------------------------------------------------------------------------------
// Random mixes for training
// ------------------------------------------------------------------------------------------------

enum class KernelType {
  Gaussian,   ///< anisotropic Gaussian, sigmas ~ U[sigma_min, sigma_max], angle ~ U[0,180)
  Linear,     ///< straight motion, length ~ U[length_min, length_max], angle ~ U[0,180)
  Motion,     ///< camera-shake trajectory, length ~ U[length_min, length_max]
  Defocus,    ///< disk, radius ~ U[radius_min, radius_max]
  Mixed,      ///< one of the four above, chosen uniformly
};

/// Parses "gaussian", "linear", "motion" (or "shake"), "defocus" (or "disk"), "mixed".
KernelType parse_kernel_type(const std::string& name);
std::string kernel_type_name(KernelType type);

/// Parameter ranges of random_kernel. Ranges are inclusive; min == max gives a fixed value.
struct KernelSpec {
  KernelType type = KernelType::Mixed;
  int64_t size = 25;                          ///< kernel side (odd or even), >= 3
  double sigma_min = 0.5, sigma_max = 3.0;    ///< Gaussian
  double length_min = 5, length_max = 20;     ///< linear and shake motion, pixels (length_max <= size - 2)
  double anxiety_max = 0.1;                   ///< shake: anxiety ~ U[0, anxiety_max]
  double radius_min = 1, radius_max = 6;      ///< defocus, pixels (radius_max <= (size-2)/2)
  void validate() const;
};

/// The default ranges of KernelSpec for `type`, fitted inside a `size` x `size` kernel (length_max <=
/// size - 2, radius_max <= (size - 2) / 2, the minima lowered with them); throws for size < 3.
KernelSpec fitted_kernel_spec(KernelType type, int64_t size);

/// A random normalised float64 [size,size] kernel drawn according to `spec`; the same (spec, seed)
/// always gives the same kernel.
torch::Tensor random_kernel(const KernelSpec& spec, uint64_t seed);

// ------------------------------------------------------------------------------------------------
// Deliberately wrong kernels
// ------------------------------------------------------------------------------------------------

/// A perturbed copy of `kernel` [k,k] (any floating dtype; CPU or not), the kind of error a blind
/// estimate makes, for the robustness protocol of docs/blind.md ("Robust to an imperfect kernel") and
/// for training on imperfect kernels. At level L >= 0:
///  1. stretch: the kernel is resampled about its centre of mass by a factor s = 1 + L u, u ~ U[-1, 1]
///     (a trajectory estimated too short or too long), bilinearly, on a grid grown to hold it (odd
///     side ceil(s k) + margin, never smaller than k);
///  2. tap noise: every tap of the stretched support, dilated by one pixel, gets N(0, (L max k)^2)
///     (a speckled, partly wrong support);
///  3. negative taps are clamped to 0 and the kernel renormalised to sum 1.
/// L = 0 returns the kernel unchanged. The result is float64 on the CPU, odd-sized, non-negative, sums
/// to 1; the same (kernel, L, seed) always gives the same result. Throws for a level outside [0, 1] or
/// a kernel that is not a finite, non-negative [k,k] with a positive sum.
torch::Tensor perturb_kernel(const torch::Tensor& kernel, double level, uint64_t seed);

/// ||a - b||_2 / ||b||_2 after padding the smaller kernel (centred) to the larger one's size: how far a
/// kernel a is from the true kernel b.
double relative_kernel_error(const torch::Tensor& a, const torch::Tensor& b);

// ------------------------------------------------------------------------------------------------
// Kernel files
// ------------------------------------------------------------------------------------------------

/// Kernel text files (*.csv, *.txt) directly inside `dir`, sorted by name. Throws if `dir` is not a
/// directory or holds none.
std::vector<std::string> list_kernel_files(const std::string& dir);

/// Reads every file of list_kernel_files(dir) with core/kernel.h read_kernel_text (float64, sum 1).
std::vector<torch::Tensor> load_kernel_folder(const std::string& dir);

}  // namespace unroll
