#include "core/fft.h"

#include "core/error.h"
#include "core/tensor.h"

namespace unroll {

int64_t fast_size(int64_t n) {
  UNROLL_CHECK(n > 0, "fast_size: length must be positive, got ", n);
  for (int64_t m = n;; ++m) {
    int64_t r = m;
    for (int64_t p : {2, 3, 5, 7}) {
      while (r % p == 0) r /= p;
    }
    if (r == 1) return m;
  }
}

namespace {
// Relative cost per point of one transform pass along an axis of length m (FFTW 3.3, float32, AVX2/512,
// 2-D real transforms of 1024..1280 squared, 2026-12-03): per factor 2: 0.2, 3: 0.43, 5: 0.6, 7: 0.75,
// plus 0.5 when m has fewer than three factors of two (the SIMD codelets want even, long inner loops).
double axis_cost(int64_t m) {
  double cost = 0.0;
  int twos = 0;
  for (auto [p, c] : {std::pair<int64_t, double>{2, 0.2}, {3, 0.43}, {5, 0.6}, {7, 0.75}}) {
    while (m % p == 0) {
      m /= p;
      cost += c;
      twos += p == 2;
    }
  }
  return m == 1 ? cost + (twos < 3 ? 0.5 : 0.0) : 1e30;  // not 2,3,5,7-smooth: never chosen
}
}  // namespace

int64_t fft_length(int64_t n) {
  const int64_t smooth = fast_size(n);
  if (n < 64) return smooth;  // small axes: the model's differences are below the call overhead
  // A 2-D transform of an m x m' grid costs m m' (c(m) + c(m')); with the other axis at a typical cost of
  // 2, the best m minimises m (c(m) + 2).
  int64_t best = smooth;
  double best_cost = double(smooth) * (axis_cost(smooth) + 2.0);
  for (int64_t m = smooth + 1; m < 2 * n; ++m) {
    const double cost = double(m) * (axis_cost(m) + 2.0);
    if (cost < best_cost) {
      best = m;
      best_cost = cost;
    }
  }
  return best;
}

int64_t tile_fft_length(int64_t n, int64_t k) {
  UNROLL_CHECK(n > 0 && k > 0, "tile_fft_length: lengths must be positive, got ", n, " and ", k);
  int64_t best = 0;
  double best_cost = 0.0;
  for (int64_t f = std::max<int64_t>(2 * k, 32); f <= 512; ++f) {
    const double cost = double((n + f - k) / (f - k + 1)) * double(f) * (axis_cost(f) + 2.0);
    if (cost < 1e29 && (best == 0 || cost < best_cost)) {
      best = f;
      best_cost = cost;
    }
  }
  return best;
}

torch::Tensor psf2otf(const torch::Tensor& k_in, int64_t height, int64_t width) {
  auto k = as_kernel_batch(k_in);
  const int64_t n = k.size(0), kh = k.size(2), kw = k.size(3);
  UNROLL_CHECK(kh <= height && kw <= width, "psf2otf: kernel ", kh, "x", kw, " is larger than the grid ",
               height, "x", width);
  // The zero-padded, centre-shifted kernel has only kh non-zero rows, so the row transforms run on those
  // rows alone and the column transform on the result: the same spectrum as rfft2 of the padded
  // kernel, for about half the work of a full 2-D transform.
  const int64_t right = kw - kw / 2, below = kh - kh / 2;  // columns/rows from the centre onwards
  auto rows = torch::zeros({n, 1, kh, width}, k.options());
  rows.narrow(3, 0, right).copy_(k.narrow(3, kw / 2, right));
  if (kw / 2 > 0) rows.narrow(3, width - kw / 2, kw / 2).copy_(k.narrow(3, 0, kw / 2));
  auto row_spec = torch::fft::rfft(rows, {}, 3);
  auto cols = torch::zeros({n, 1, height, width / 2 + 1}, row_spec.options());
  cols.narrow(2, 0, below).copy_(row_spec.narrow(2, kh / 2, below));
  if (kh / 2 > 0) cols.narrow(2, height - kh / 2, kh / 2).copy_(row_spec.narrow(2, 0, kh / 2));
  return fft_columns(std::move(cols));
}

torch::Tensor conv_circular(const torch::Tensor& x, const torch::Tensor& k) {
  const int64_t h = x.size(-2), w = x.size(-1);
  auto otf = psf2otf(k.to(x.scalar_type()), h, w);
  return irfft2(rfft2(x) * otf, h, w);
}

torch::Tensor corr_circular(const torch::Tensor& x, const torch::Tensor& k) {
  const int64_t h = x.size(-2), w = x.size(-1);
  auto otf = psf2otf(k.to(x.scalar_type()), h, w);
  return irfft2(rfft2(x) * otf.conj(), h, w);
}

torch::Tensor conv_fft(const torch::Tensor& x, const torch::Tensor& k_in, ConvMode mode) {
  auto k = as_kernel_batch(k_in).to(x.scalar_type());
  const int64_t h = x.size(-2), w = x.size(-1), kh = k.size(2), kw = k.size(3);
  const int64_t fh = h + kh - 1, fw = w + kw - 1;
  const int64_t ph = fft_length(fh), pw = fft_length(fw);
  auto xs = rfft2(x, ph, pw);
  auto ks = rfft2(k, ph, pw);
  auto full = irfft2(xs * ks, ph, pw);
  switch (mode) {
    case ConvMode::Full: return full.narrow(-2, 0, fh).narrow(-1, 0, fw);
    case ConvMode::Same: return full.narrow(-2, kh / 2, h).narrow(-1, kw / 2, w);
    case ConvMode::Valid:
      UNROLL_CHECK(h >= kh && w >= kw, "conv_fft: 'valid' needs the kernel to fit in the image");
      return full.narrow(-2, kh - 1, h - kh + 1).narrow(-1, kw - 1, w - kw + 1);
  }
  fail("conv_fft: unknown mode");
}

SameConvolution::SameConvolution(const torch::Tensor& k_in, int64_t height, int64_t width)
    : kernel_(as_kernel_batch(k_in)), height_(height), width_(width) {
  const int64_t kh = kernel_.size(2), kw = kernel_.size(3);
  // The 'same' window [top, top+H) of the circular convolution on a P-periodic grid is free of
  // wrap-around as soon as P >= H + kh/2 (the full convolution's tail past the window, kh-1-kh/2
  // samples, and its head before it, kh/2, must not fold into it), so the grid need not hold the
  // whole H+kh-1 full convolution.
  pad_h_ = fft_length(height + kh / 2);
  pad_w_ = fft_length(width + kw / 2);
  top_ = kh / 2;
  left_ = kw / 2;
  tiled_ = TiledConvolution::create(kernel_, height, width);
  if (!tiled_) {
    otf_ = rfft2(kernel_, pad_h_, pad_w_).div_(double(pad_h_) * double(pad_w_));
    otf_conj_ = otf_.conj().resolve_conj();  // materialised once: a lazy conj() would be copied per call
  }
}

torch::Tensor SameConvolution::padded_grid_forward(const torch::Tensor& g, bool adjoint) const {
  torch::Tensor otf = adjoint ? otf_conj_ : otf_;
  if (!otf.defined()) {
    otf = rfft2(kernel_.to(g.options()), pad_h_, pad_w_).div_(double(pad_h_) * double(pad_w_));
    if (adjoint) otf = otf.conj().resolve_conj();
  }
  return irfft2_unscaled(std::move(rfft2(g).mul_(otf)), pad_h_, pad_w_);  // move: FFTW may reuse it
}

torch::Tensor SameConvolution::forward_on_grid(const torch::Tensor& grid) const {
  return tiled_ ? forward(grid) : padded_grid_forward(grid, false);  // tiled: the grid is the image
}

torch::Tensor SameConvolution::adjoint_on_grid(const torch::Tensor& grid) const {
  return tiled_ ? adjoint(grid) : padded_grid_forward(grid, true);
}

torch::Tensor SameConvolution::origin(const torch::Tensor& grid) const {
  return grid.narrow(-2, 0, height_).narrow(-1, 0, width_);
}

torch::Tensor SameConvolution::window(const torch::Tensor& grid) const {
  if (tiled_) return grid;  // the grid is the image
  return grid.narrow(-2, top_, height_).narrow(-1, left_, width_);
}

// On the tiles where they apply; otherwise (no tiling, or a tensor the tiles do not take: autograd, CUDA)
// on the padded grid.
torch::Tensor SameConvolution::forward(const torch::Tensor& x) const {
  if (tiled_ && tiled_->applies(x)) return tiled_->forward(x);
  // A = S C Z: zero-pad to the grid (at the bottom/right), circular convolution, slice at the centre.
  auto padded = torch::constant_pad_nd(x, {0, pad_w_ - width_, 0, pad_h_ - height_});
  return padded_grid_forward(padded, false).narrow(-2, top_, height_).narrow(-1, left_, width_);
}

torch::Tensor SameConvolution::adjoint(const torch::Tensor& r) const {
  if (tiled_ && tiled_->applies(r)) return tiled_->adjoint(r);
  // A^T = Z^T C^T S^T.
  auto placed = torch::constant_pad_nd(r, {left_, pad_w_ - width_ - left_, top_, pad_h_ - height_ - top_});
  return origin(padded_grid_forward(placed, true));
}

torch::Tensor grad_circular(const torch::Tensor& x) {
  auto dx = torch::roll(x, {-1}, {-1}) - x;
  auto dy = torch::roll(x, {-1}, {-2}) - x;
  return torch::stack({dx, dy}, 2);
}

torch::Tensor grad_circular_adjoint(const torch::Tensor& g) {
  auto gx = g.select(2, 0), gy = g.select(2, 1);
  return (torch::roll(gx, {1}, {-1}) - gx) + (torch::roll(gy, {1}, {-2}) - gy);
}

void grad_circular_out(const torch::Tensor& x, torch::Tensor& out) {
  UNROLL_CHECK(x.dim() == 4, "grad_circular_out: x must be [N,C,H,W], got shape ", x.sizes());
  const int64_t h = x.size(2), w = x.size(3);
  ensure_buffer(out, {x.size(0), x.size(1), 2, h, w}, x);
  // Each difference is written straight into its slot: no rolled copies, no stacking.
  auto dx = out.select(2, 0), dy = out.select(2, 1);
  if (w > 1) {
    auto o = dx.narrow(3, 0, w - 1);
    at::sub_out(o, x.narrow(3, 1, w - 1), x.narrow(3, 0, w - 1));
  }
  auto ox = dx.narrow(3, w - 1, 1);
  at::sub_out(ox, x.narrow(3, 0, 1), x.narrow(3, w - 1, 1));
  if (h > 1) {
    auto o = dy.narrow(2, 0, h - 1);
    at::sub_out(o, x.narrow(2, 1, h - 1), x.narrow(2, 0, h - 1));
  }
  auto oy = dy.narrow(2, h - 1, 1);
  at::sub_out(oy, x.narrow(2, 0, 1), x.narrow(2, h - 1, 1));
}

void grad_circular_adjoint_out(const torch::Tensor& g, torch::Tensor& out) {
  UNROLL_CHECK(g.dim() == 5 && g.size(2) == 2, "grad_circular_adjoint_out: g must be [N,C,2,H,W], got shape ",
               g.sizes());
  const int64_t h = g.size(3), w = g.size(4);
  ensure_buffer(out, {g.size(0), g.size(1), h, w}, g);
  // out = gx[j-1] - gx[j] + gy[i-1] - gy[i] (circular indices).
  auto gx = g.select(2, 0), gy = g.select(2, 1);
  if (w > 1) {
    auto o = out.narrow(3, 1, w - 1);
    at::sub_out(o, gx.narrow(3, 0, w - 1), gx.narrow(3, 1, w - 1));
  }
  auto o0 = out.narrow(3, 0, 1);
  at::sub_out(o0, gx.narrow(3, w - 1, 1), gx.narrow(3, 0, 1));
  if (h > 1) out.narrow(2, 1, h - 1).add_(gy.narrow(2, 0, h - 1));
  out.narrow(2, 0, 1).add_(gy.narrow(2, h - 1, 1));
  out.sub_(gy);
}

torch::Tensor second_difference_eigenvalues(int64_t n, int64_t count, const torch::TensorOptions& options) {
  auto f = torch::arange(count, options);
  return 2.0 - 2.0 * torch::cos(2.0 * M_PI * f / static_cast<double>(n));
}

torch::Tensor grad_power_spectrum(int64_t height, int64_t width, const torch::TensorOptions& options) {
  auto ey = second_difference_eigenvalues(height, height, options).reshape({1, 1, height, 1});
  auto ex = second_difference_eigenvalues(width, width / 2 + 1, options).reshape({1, 1, 1, width / 2 + 1});
  return ey + ex;
}

torch::Tensor laplacian_power_spectrum(int64_t height, int64_t width, const torch::TensorOptions& options) {
  // The 5-point Laplacian's transfer function is (2-2cos wy) + (2-2cos wx): real and non-negative.
  auto l = grad_power_spectrum(height, width, options);
  return l * l;
}

}  // namespace unroll
