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

torch::Tensor psf2otf(const torch::Tensor& k_in, int64_t height, int64_t width) {
  auto k = as_kernel_batch(k_in);
  const int64_t kh = k.size(2), kw = k.size(3);
  UNROLL_CHECK(kh <= height && kw <= width, "psf2otf: kernel ", kh, "x", kw, " is larger than the grid ",
               height, "x", width);
  auto padded = torch::zeros({k.size(0), 1, height, width}, k.options());
  padded.narrow(2, 0, kh).narrow(3, 0, kw).copy_(k);
  padded = torch::roll(padded, {-(kh / 2), -(kw / 2)}, {2, 3});
  return torch::fft::rfft2(padded);
}

torch::Tensor conv_circular(const torch::Tensor& x, const torch::Tensor& k) {
  const int64_t h = x.size(-2), w = x.size(-1);
  auto otf = psf2otf(k.to(x.scalar_type()), h, w);
  return torch::fft::irfft2(torch::fft::rfft2(x) * otf, std::vector<int64_t>{h, w});
}

torch::Tensor corr_circular(const torch::Tensor& x, const torch::Tensor& k) {
  const int64_t h = x.size(-2), w = x.size(-1);
  auto otf = psf2otf(k.to(x.scalar_type()), h, w);
  return torch::fft::irfft2(torch::fft::rfft2(x) * otf.conj(), std::vector<int64_t>{h, w});
}

torch::Tensor conv_fft(const torch::Tensor& x, const torch::Tensor& k_in, ConvMode mode) {
  auto k = as_kernel_batch(k_in).to(x.scalar_type());
  const int64_t h = x.size(-2), w = x.size(-1), kh = k.size(2), kw = k.size(3);
  const int64_t fh = h + kh - 1, fw = w + kw - 1;
  const int64_t ph = fast_size(fh), pw = fast_size(fw);
  auto xs = torch::fft::rfft2(x, std::vector<int64_t>{ph, pw});
  auto ks = torch::fft::rfft2(k, std::vector<int64_t>{ph, pw});
  auto full = torch::fft::irfft2(xs * ks, std::vector<int64_t>{ph, pw});
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
    : height_(height), width_(width) {
  auto k = as_kernel_batch(k_in);
  pad_h_ = fast_size(height + k.size(2) - 1);
  pad_w_ = fast_size(width + k.size(3) - 1);
  top_ = k.size(2) / 2;
  left_ = k.size(3) / 2;
  otf_ = torch::fft::rfft2(k, std::vector<int64_t>{pad_h_, pad_w_});
}

torch::Tensor SameConvolution::forward(const torch::Tensor& x) const {
  auto spec = torch::fft::rfft2(x, std::vector<int64_t>{pad_h_, pad_w_}) * otf_;
  return torch::fft::irfft2(spec, std::vector<int64_t>{pad_h_, pad_w_}).narrow(-2, top_, height_).narrow(-1, left_, width_);
}

torch::Tensor SameConvolution::adjoint(const torch::Tensor& r) const {
  // A = S C Z (zero-pad, circular conv on the padded grid, slice at the centre); A^T = Z^T C^T S^T.
  auto placed = torch::constant_pad_nd(r, {left_, pad_w_ - width_ - left_, top_, pad_h_ - height_ - top_});
  auto spec = torch::fft::rfft2(placed) * otf_.conj();
  return torch::fft::irfft2(spec, std::vector<int64_t>{pad_h_, pad_w_}).narrow(-2, 0, height_).narrow(-1, 0, width_);
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

namespace {
// 2 - 2 cos(2 pi f / n) for f = 0..n-1 (or 0..n/2 for the half axis).
torch::Tensor diff_eigen(int64_t n, int64_t count, const torch::TensorOptions& options) {
  auto f = torch::arange(count, options);
  return 2.0 - 2.0 * torch::cos(2.0 * M_PI * f / static_cast<double>(n));
}
}  // namespace

torch::Tensor grad_power_spectrum(int64_t height, int64_t width, const torch::TensorOptions& options) {
  auto ey = diff_eigen(height, height, options).reshape({1, 1, height, 1});
  auto ex = diff_eigen(width, width / 2 + 1, options).reshape({1, 1, 1, width / 2 + 1});
  return ey + ex;
}

torch::Tensor laplacian_power_spectrum(int64_t height, int64_t width, const torch::TensorOptions& options) {
  // The 5-point Laplacian's transfer function is (2-2cos wy) + (2-2cos wx): real and non-negative.
  auto l = grad_power_spectrum(height, width, options);
  return l * l;
}

}  // namespace unroll
