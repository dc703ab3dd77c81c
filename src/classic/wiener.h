// Wiener deconvolution (closed form, one FFT round trip).
//
//   x = F^-1[ conj(K) F(y) / (|K|^2 + nsr * |R|^2) ]
// with R = identity (classical Wiener filter with a scalar noise-to-signal ratio) or the 5-point
// Laplacian (regularised / constrained least squares; skimage.restoration.wiener and MATLAB deconvreg).
#pragma once

#include <torch/torch.h>

#include <string>

#include "core/boundary.h"

namespace unroll {

struct WienerOptions {
  enum class Regularizer { Identity, Laplacian };
  double nsr = 1e-2;                                ///< noise-to-signal ratio ("balance"); >= 0
  Regularizer regularizer = Regularizer::Laplacian; ///< skimage's default is the Laplacian
  bool auto_nsr = false;        ///< estimate nsr from the image (noise estimate / signal variance)
  Boundary boundary = Boundary::Circular;
  bool clip = false;            ///< clip the result to [0,1]
  void validate() const;
};

/// blurred: [N,C,H,W]; kernel: [kh,kw] or [N,1,kh,kw]. Returns [N,C,H,W].
torch::Tensor wiener(const torch::Tensor& blurred, const torch::Tensor& kernel, const WienerOptions& options = {});

/// The noise-to-signal ratio matched to a known noise level sigma ([0,1] scale), calibrated on the DPIR
/// protocol (Set3C x Levin kernels): 30 sigma^2 with the Laplacian regulariser, 400 sigma^2 with the
/// identity (sigma floored at 1e-3). Without a known level, Wiener estimates the whole ratio from the
/// image instead (auto_nsr, estimate_wiener_nsr): unlike the iterative solvers, which take an estimated
/// sigma (eval/methods.h effective_sigma), it needs the signal's variance as well, and the image gives both.
double default_wiener_nsr(double sigma, WienerOptions::Regularizer regularizer = WienerOptions::Regularizer::Laplacian);

/// The nsr used by auto_nsr for one observation: sigma^2 / max(var(y) - sigma^2, eps) (identity
/// regulariser); for the Laplacian regulariser the same ratio scaled by 1/mean(|L|^2) so both
/// regularisers penalise the same energy on average.
double estimate_wiener_nsr(const torch::Tensor& blurred, WienerOptions::Regularizer regularizer);

/// The Wiener balance chosen by generalised cross-validation (Golub, Heath & Wahba 1979) for y = k ⊛ x +
/// n, Laplacian regulariser: the nsr minimising
///   GCV(nsr) = sum_f |1 - a_f|^2 |Y_f|^2 / (sum_f (1 - a_f))^2,   a_f = |K_f|^2 / (|K_f|^2 + nsr |L_f|^2)
/// (the leave-one-out prediction error of the filter, up to a constant) over a log grid from 1e-7 to 10,
/// refined by a parabola in log nsr. y is extended by `boundary` first, so the periodic model holds; the
/// channels share the kernel (their spectra are summed); images larger than 1024 px a side are
/// judged on their central 1024 x 1024 window. Unlike default_wiener_nsr it needs no noise level. It is
/// no detector of a wrong kernel: a wrong kernel still predicts y about as well (the free x absorbs the
/// difference), so its balance is not larger (measured on speckled and over-blurred kernels).
double gcv_wiener_nsr(const torch::Tensor& blurred, const torch::Tensor& kernel, Boundary boundary = Boundary::LiuJia);

}  // namespace unroll
