// The rotational-blur study (issue: rotational and industrial motion blur): sharp images blurred
// physically by a part spinning at given speeds for given exposures, restored by uniform-kernel
// methods with the best single kernel (an oracle) and by the polar-domain rotational solvers.
//
// Cases. Every image x every rpm x every exposure: sweep theta = 2 pi rpm / 60 * exposure about the
// image centre, blurred by datasets/rotational.h rotational_blur (the physical synthesiser: averaged
// rotated copies), Gaussian noise of std `noise` (seed derived from the study seed and the case),
// clipped to [0,1]. Scored by PSNR on 8-bit RGB (eval/protocol.h dpir_psnr, no border) and SSIM.
//
// Methods (names in `methods`):
//   oracle-uniform   the best single uniform kernel for this very case: the least-squares kernel
//                    fitted from the sharp and the blurred image (fit_uniform_kernel) at supports
//                    of 1/2, 1 and 2 x the blur length at half the farthest radius (odd, 3..63 px),
//                    each restored by Wiener (nsr 1, 10, 100 x its noise-based default) and ADMM-TV
//                    (lambda 1, 4, 16 x default), Liu-Jia boundary; the best PSNR of the 18 is kept:
//                    an upper bound for these uniform-kernel methods.
//   oracle-unrolled  the shipped unrolled network with the oracle's best kernel (learned, uniform).
//   any registry method with Method::rotational (wiener, hqs-tv, pnp, unrolled, usrnet): the polar
//                    data step with the true sweep and centre.
//   convir           blind end-to-end ConvIR: `convir_weights`, else the shipped models/convir_small.pth.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace unroll {

/// The least-squares uniform kernel k ([size,size], non-negative, sum 1) that best explains
/// `blurred` ~ k * sharp (both [1,C,H,W]): k = F^-1[sum_c conj(X_c) Y_c / (sum_c |X_c|^2 + eps)] on
/// Hann-windowed images, cropped to the support around its centre, clipped at 0 and normalised;
/// eps = 1e-4 x the mean of sum_c |X_c|^2. size: odd, >= 1, <= min(H, W).
torch::Tensor fit_uniform_kernel(const torch::Tensor& sharp, const torch::Tensor& blurred, int64_t size);

struct RotationalStudyOptions {
  std::vector<std::string> image_files;     ///< sharp images (read with io/image_io.h)
  std::vector<double> rpms = {1000, 1250, 1500};
  std::vector<double> exposures = {1.0 / 8000, 1.0 / 4000, 1.0 / 2000, 1.0 / 1000, 1.0 / 500, 1.0 / 250};
  double noise = 1.0 / 255.0;               ///< AWGN std on [0,1], >= 0
  std::vector<std::string> methods = {"oracle-uniform", "oracle-unrolled", "wiener", "hqs-tv", "pnp", "unrolled"};
  std::string unrolled_weights;             ///< "" = the shipped unrolled model
  std::string convir_weights;               ///< "" = the shipped models/convir_small.pth (method convir)
  uint64_t seed = 0;
  int grids = 1;                            ///< comparison grids for the first N images (every exposure of the middle rpm)
  double goal_angle_deg = 5.0;              ///< the report checks rotational HQS-TV vs the oracle from this sweep on
  std::string out_dir;                      ///< results.csv, summary.md, psnr_vs_angle.png, grids/ (atomic writes)
  std::string command;                      ///< the command line, quoted in the report
  void validate() const;                    ///< throws unroll::Error naming the field
};

struct RotationalStudyRow {
  std::string image, method;
  double rpm = 0, exposure = 0, angle_deg = 0;
  double psnr = 0, ssim = 0, seconds = 0;
  std::string error;                        ///< non-empty when the method failed on this case
  std::string detail;                       ///< e.g. the oracle's winning method and kernel size
};

/// Runs every case x method, writes the outputs (atomically) and returns the rows.
std::vector<RotationalStudyRow> run_rotational_study(const RotationalStudyOptions& options);

}  // namespace unroll
