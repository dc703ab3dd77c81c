// FFT building blocks: 2-D real transforms (FFTW or torch::fft), transfer functions, circular and
// linear convolution.
//
// All spectra are half spectra of real signals (torch::fft::rfft2 over the last two dimensions), of
// shape [..., H, W/2+1]. Kernel centre convention: index (kh/2, kw/2), see core/tensor.h.
#pragma once

#include <torch/torch.h>

namespace unroll {

// ---- 2-D real transforms -------------------------------------------------------------------------
// Every 2-D real FFT of the project goes through these two functions. They equal torch::fft::rfft2 /
// irfft2 (backward normalisation). On CPU float32/float64 tensors that autograd does not track, and
// when Unroll was built with FFTW (CMake finds libfftw3-dev; UNROLL_WITH_FFTW), they run FFTW plans that
// are made once per shape and cached (and, by default, remembered across runs in a wisdom file); all
// other cases (CUDA, autograd, other dtypes, a build without FFTW) call torch::fft.
//
// Environment (read once, on the first transform):
//   UNROLL_FFT=torch|fftw          backend for the CPU cases above (default fftw when built with it)
//   UNROLL_FFTW_PLANNER=estimate|measure|patient   FFTW planning effort (default measure: FFTW times a
//                                  few algorithms per shape, ~0.5-1 s per 1 MP transform, then reuses it;
//                                  patient: minutes per 1 MP shape, no time limit, ~1.3x faster plans)
//   UNROLL_FFTW_WISDOM=DIR|off     folder where plans are remembered across runs (files fftw-wisdom-v2.f32 /
//                                  .f64, written atomically; default $XDG_CACHE_HOME/unroll, else
//                                  ~/.cache/unroll; off: plans are made anew in every process)

/// Real 2-D FFT over the last two dimensions: [..., H, W] -> complex [..., H, W/2+1].
torch::Tensor rfft2(const torch::Tensor& x);

/// rfft2 of `x` zero-padded at the bottom/right to height x width (torch's `s` argument).
torch::Tensor rfft2(const torch::Tensor& x, int64_t height, int64_t width);

/// Inverse of rfft2: complex [..., height, width/2+1] -> real [..., height, width]. A spectrum passed as
/// a temporary (or std::move'd) that nothing else references may be used as FFTW's work array.
torch::Tensor irfft2(torch::Tensor spectrum, int64_t height, int64_t width);

/// height * width * irfft2(spectrum, height, width): the inverse transform without its 1/(H W) scaling
/// (FFTW's natural output, torch's norm="forward"), for callers that fold the scale into a spectrum they
/// multiply anyway and so save a pass over the image.
torch::Tensor irfft2_unscaled(torch::Tensor spectrum, int64_t height, int64_t width);

/// Complex forward FFT along the height (dimension -2) of a complex [..., H, W] tensor: torch::fft::fft(x,
/// nullopt, -2), on FFTW in the same cases as rfft2. A tensor passed as a temporary (or std::move'd)
/// that nothing else references is transformed in place.
torch::Tensor fft_columns(torch::Tensor x);

enum class FftBackend { Torch, Fftw };

/// True when this build has the FFTW backend.
bool fftw_available();

/// The backend CPU transforms use now (after the environment above), and a way to switch it (tests,
/// benchmarks). Selecting Fftw in a build without it throws unroll::Error.
FftBackend fft_backend();
void set_fft_backend(FftBackend backend);

/// Smallest n' >= n whose prime factors are all in {2,3,5,7} (fast FFT length).
int64_t fast_size(int64_t n);

/// The length n' >= n (2,3,5,7-smooth, below 2n) whose 2-D transforms are expected to be cheapest, from a
/// per-factor cost model fitted to FFTW timings (1050 = 2*3*5^2*7 costs 20% more than 1080 = 2^3*3^3*5).
/// For grids whose size does not change the result (linear convolution by zero padding); fast_size()
/// stays the rule where the padded size is part of the method (boundary extensions).
int64_t fft_length(int64_t n);

/// The transform length of the tiles of an overlap-save convolution along an axis of n pixels with a
/// kernel of k taps: the f in [max(2k, 32), 512] (a tile keeps f - k + 1 > k output pixels, and its
/// transform a core's cache) with the least work along the axis, ceil(n / (f - k + 1)) tiles of f points at
/// fft_length()'s per-factor cost; 0 when k is too large for such a tile (k > 256).
int64_t tile_fft_length(int64_t n, int64_t k);

/// Optical transfer function of a PSF for an H x W circular convolution: the kernel is zero-padded to
/// H x W, circularly shifted so that its centre lands on (0,0), and rfft2'd (MATLAB psf2otf, USRNet p2o).
/// `k`: [kh,kw] or [N,1,kh,kw]; returns complex [N,1,H,W/2+1] of the matching complex dtype.
torch::Tensor psf2otf(const torch::Tensor& k, int64_t height, int64_t width);

/// Circular (periodic) convolution of images [N,C,H,W] with a kernel [kh,kw] or [N,1,kh,kw].
/// Equals scipy.ndimage.convolve(x, k, mode='wrap') for odd kernel sizes.
torch::Tensor conv_circular(const torch::Tensor& x, const torch::Tensor& k);

/// Circular correlation (the adjoint of conv_circular).
torch::Tensor corr_circular(const torch::Tensor& x, const torch::Tensor& k);

enum class ConvMode {
  Full,   ///< output (H+kh-1) x (W+kw-1)
  Same,   ///< output H x W, centred on the kernel centre (kh/2, kw/2)
  Valid,  ///< output (H-kh+1) x (W-kw+1)
};

/// Linear (zero-boundary) convolution via FFT, padded to fast sizes.
torch::Tensor conv_fft(const torch::Tensor& x, const torch::Tensor& k, ConvMode mode);

/// Linear 'same' convolution of large CPU images on overlapping tiles (overlap-save): the image is cut
/// into tiles (transforms of 32-512 pixels a side, tile_fft_length()), each tile with its kernel halo
/// is transformed on its own (a transform that stays in the core's cache, one thread per tile, all
/// threads busy), and only the tile's alias-free centre is kept. The result is the zero-boundary
/// convolution of the whole image up to round-off. FFTW builds only, for float32/float64 CPU tensors
/// that autograd does not track (the FFTW backend's cases); SameConvolution uses it where it applies.
/// Speed (Richardson-Lucy 30 iterations, 1 MP, 25x25 kernel): docs/benchmarks.md.
class TiledConvolution {
 public:
  /// A tiling for images [..., height, width] (kernel batch 1, or N for [N, C, H, W] images), or null
  /// when none pays (below 2^18 pixels, the image fits one tile, or the tiles' halos would cost over
  /// 1.2x the padded grid's transform work) or none is possible (no FFTW, a CUDA or non-float kernel,
  /// the torch backend selected).
  static std::shared_ptr<const TiledConvolution> create(const torch::Tensor& k, int64_t height, int64_t width);

  /// Whether forward()/adjoint() take `x`: CPU, the kernel's dtype, the planned size and batch,
  /// outside autograd, FFTW still the selected backend.
  bool applies(const torch::Tensor& x) const;
  torch::Tensor forward(const torch::Tensor& x) const;  ///< conv_fft(x, k, ConvMode::Same)
  torch::Tensor adjoint(const torch::Tensor& r) const;  ///< its adjoint, the 'same' correlation

  int64_t tile_fft_height() const { return fft_h_; }
  int64_t tile_fft_width() const { return fft_w_; }

  TiledConvolution(const torch::Tensor& spectrum, int64_t height, int64_t width, int64_t kh, int64_t kw,
                   int64_t fft_h, int64_t fft_w);  ///< use create()

 private:
  torch::Tensor run(const torch::Tensor& x, bool adjoint) const;
  torch::Tensor spectrum_;  // [Nk, fft_h, fft_w/2+1], the kernel at the origin, scaled by 1/(fft_h fft_w)
  int64_t height_, width_, kh_, kw_, fft_h_, fft_w_;
};

/// Linear 'same' convolution as an operator with its exact adjoint, for iterative solvers that apply
/// it many times: the kernel spectrum is computed once for images of size H x W. On CPU images large
/// against the kernel it runs a TiledConvolution, and its grid is then the image itself.
class SameConvolution {
 public:
  SameConvolution(const torch::Tensor& k, int64_t height, int64_t width);
  torch::Tensor forward(const torch::Tensor& x) const;  ///< A x  (zero outside the image)
  torch::Tensor adjoint(const torch::Tensor& r) const;  ///< A^T r

  // The same operators on the padded grid they run on, for loops that keep their iterates there and so
  // skip the zero-padding copy per call. A grid tensor is [..., grid_height(), grid_width()].
  //   forward_on_grid(g): g is zero outside origin(g) = [0,H) x [0,W); window() of the result is A x.
  //   adjoint_on_grid(g): g is zero outside window(g) = [top, top+H) x [left, left+W); origin() of the
  //   result is A^T r.
  int64_t grid_height() const { return tiled_ ? height_ : pad_h_; }
  int64_t grid_width() const { return tiled_ ? width_ : pad_w_; }
  bool tiled() const { return tiled_ != nullptr; }
  torch::Tensor forward_on_grid(const torch::Tensor& grid) const;
  torch::Tensor adjoint_on_grid(const torch::Tensor& grid) const;
  torch::Tensor origin(const torch::Tensor& grid) const;  ///< view of [0,H) x [0,W)
  torch::Tensor window(const torch::Tensor& grid) const;  ///< view of [top, top+H) x [left, left+W)

 private:
  // The circular convolution on the padded grid; `g` is zero outside [0,H) x [0,W) (forward) or the
  // window (adjoint). In tiled mode the spectra are made per call (autograd, a CUDA image).
  torch::Tensor padded_grid_forward(const torch::Tensor& g, bool adjoint) const;
  torch::Tensor kernel_;
  std::shared_ptr<const TiledConvolution> tiled_;
  torch::Tensor otf_, otf_conj_;  // both scaled by 1 / (pad_h_ * pad_w_), see irfft2_unscaled; unset when tiled
  int64_t height_, width_, pad_h_, pad_w_, top_, left_;  // the padded FFT grid and the kernel centre
};

/// Circular forward differences along x (width) and y (height): returns [N,C,2,H,W] with the
/// horizontal difference x[:, :, :, j+1] - x[:, :, :, j] in slot 0 and the vertical one in slot 1.
torch::Tensor grad_circular(const torch::Tensor& x);

/// Adjoint of grad_circular (minus the divergence): [N,C,2,H,W] -> [N,C,H,W].
torch::Tensor grad_circular_adjoint(const torch::Tensor& g);

/// grad_circular(x) written into `out` [N,C,2,H,W] (reallocated only if its shape, dtype or device do
/// not match), for solver loops that reuse one buffer per iteration. `out` must not overlap `x`.
/// Not differentiable (autograd does not track out= writes): use grad_circular() under autograd.
void grad_circular_out(const torch::Tensor& x, torch::Tensor& out);

/// grad_circular_adjoint(g) written into `out` [N,C,H,W], same contract as grad_circular_out().
void grad_circular_adjoint_out(const torch::Tensor& g, torch::Tensor& out);

/// 2 - 2 cos(2 pi f / n) for f = 0..count-1, real [count]: |D|^2 of the circular forward difference on an
/// axis of length n (count = n, or n/2+1 for the half axis of a real transform).
torch::Tensor second_difference_eigenvalues(int64_t n, int64_t count, const torch::TensorOptions& options);

/// |Dx|^2 + |Dy|^2 of the circular forward differences on an H x W grid, as a real [1,1,H,W/2+1]
/// tensor with the given options (the eigenvalues of D^T D).
torch::Tensor grad_power_spectrum(int64_t height, int64_t width, const torch::TensorOptions& options);

/// |L|^2 of the 5-point Laplacian (skimage.restoration.uft.laplacian), real [1,1,H,W/2+1].
torch::Tensor laplacian_power_spectrum(int64_t height, int64_t width, const torch::TensorOptions& options);

}  // namespace unroll
