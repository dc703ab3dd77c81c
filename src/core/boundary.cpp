#include "core/boundary.h"

#include <algorithm>

#include "core/enum_names.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/tensor.h"

namespace unroll {

namespace {
const EnumNames<Boundary>& boundary_names() {
  static const EnumNames<Boundary> names("boundary", {{Boundary::Circular, "circular"},
                                                      {Boundary::Circular, "periodic", true},
                                                      {Boundary::Replicate, "replicate"},
                                                      {Boundary::Reflect, "reflect"},
                                                      {Boundary::Reflect, "symmetric", true},
                                                      {Boundary::Taper, "taper"},
                                                      {Boundary::Taper, "edgetaper", true},
                                                      {Boundary::LiuJia, "liu-jia"},
                                                      {Boundary::LiuJia, "liujia", true},
                                                      {Boundary::LiuJia, "liu_jia", true}});
  return names;
}
}  // namespace

Boundary parse_boundary(const std::string& name) { return boundary_names().parse(name); }

std::string boundary_name(Boundary b) { return boundary_names().name(b); }

namespace {

// DST-I along `dim` (unnormalised): S_k = sum_j v_j sin(pi j k / (n+1)), j,k = 1..n.
torch::Tensor dst1(const torch::Tensor& v, int64_t dim) {
  const int64_t n = v.size(dim);
  auto zero = torch::zeros_like(v.narrow(dim, 0, 1));
  auto ext = torch::cat({zero, v, zero, -v.flip({dim})}, dim);
  auto spec = torch::fft::fft(ext, {}, dim);
  return -torch::imag(spec).narrow(dim, 1, n) / 2.0;
}

// Linear ramp between two edge vectors, `count` interior samples: [..., count, L] along `dim`.
torch::Tensor ramp(const torch::Tensor& from, const torch::Tensor& to, int64_t count, int64_t dim) {
  auto opts = from.options();
  auto t = torch::arange(1, count + 1, opts) / static_cast<double>(count + 1);
  std::vector<int64_t> shape(from.dim(), 1);
  shape[dim] = count;
  t = t.reshape(shape);
  return from * (1.0 - t) + to * t;
}

}  // namespace

torch::Tensor solve_dirichlet_laplace(const torch::Tensor& m) {
  const int64_t h = m.size(-2), w = m.size(-1);
  if (h < 3 || w < 3) return m;
  const int64_t ih = h - 2, iw = w - 2;
  auto ring = m.clone();
  ring.narrow(-2, 1, ih).narrow(-1, 1, iw).zero_();
  // Boundary contributions to the interior 5-point equations  4u - sum(neighbours) = 0.
  auto b = ring.narrow(-2, 0, ih).narrow(-1, 1, iw) + ring.narrow(-2, 2, ih).narrow(-1, 1, iw) +
           ring.narrow(-2, 1, ih).narrow(-1, 0, iw) + ring.narrow(-2, 1, ih).narrow(-1, 2, iw);
  auto opts = m.options();
  auto ly = 2.0 - 2.0 * torch::cos(M_PI * torch::arange(1, ih + 1, opts) / static_cast<double>(ih + 1));
  auto lx = 2.0 - 2.0 * torch::cos(M_PI * torch::arange(1, iw + 1, opts) / static_cast<double>(iw + 1));
  auto lambda = ly.reshape({ih, 1}) + lx.reshape({1, iw});
  const int64_t dy = m.dim() - 2, dx = m.dim() - 1;
  auto spec = dst1(dst1(b, dy), dx) / lambda;
  auto u = dst1(dst1(spec, dy), dx) * (4.0 / static_cast<double>((ih + 1) * (iw + 1)));
  auto out = m.clone();
  out.narrow(-2, 1, ih).narrow(-1, 1, iw).copy_(u);
  return out;
}

torch::Tensor liu_jia_extend(const torch::Tensor& y, int64_t out_h, int64_t out_w) {
  const int64_t h = y.size(-2), w = y.size(-1);
  const int64_t ph = out_h - h, pw = out_w - w;
  UNROLL_CHECK(ph >= 0 && pw >= 0, "liu_jia_extend: output must not be smaller than the image");
  if (ph == 0 && pw == 0) return y;
  const int64_t d2 = y.dim() - 2, d1 = y.dim() - 1;
  auto last_row = y.narrow(d2, h - 1, 1), first_row = y.narrow(d2, 0, 1);
  auto last_col = y.narrow(d1, w - 1, 1), first_col = y.narrow(d1, 0, 1);

  // A: the band below the image (ph x w), bridging the last row to the first row.
  torch::Tensor band_a, band_b;
  if (ph > 0) {
    auto ra = torch::cat({last_row, ramp(last_row, first_row, ph, d2), first_row}, d2);
    band_a = solve_dirichlet_laplace(ra).narrow(d2, 1, ph);
  }
  // B: the band right of the image (h x pw), bridging the last column to the first column.
  if (pw > 0) {
    auto rb = torch::cat({last_col, ramp(last_col, first_col, pw, d1), first_col}, d1);
    band_b = solve_dirichlet_laplace(rb).narrow(d1, 1, pw);
  }
  if (ph == 0) return torch::cat({y, band_b}, d1);
  if (pw == 0) return torch::cat({y, band_a}, d2);

  // C: the corner (ph x pw), framed by B's last/first rows and A's last/first columns.
  auto top = torch::cat({y.narrow(d2, h - 1, 1).narrow(d1, w - 1, 1), band_b.narrow(d2, h - 1, 1),
                         y.narrow(d2, h - 1, 1).narrow(d1, 0, 1)},
                        d1);
  auto bottom = torch::cat(
      {y.narrow(d2, 0, 1).narrow(d1, w - 1, 1), band_b.narrow(d2, 0, 1), y.narrow(d2, 0, 1).narrow(d1, 0, 1)}, d1);
  auto zero_shape = band_a.sizes().vec();
  zero_shape.back() = pw;
  auto middle = torch::cat(
      {band_a.narrow(d1, w - 1, 1), torch::zeros(zero_shape, band_a.options()), band_a.narrow(d1, 0, 1)}, d1);
  auto rc = torch::cat({top, middle, bottom}, d2);
  auto band_c = solve_dirichlet_laplace(rc).narrow(d2, 1, ph).narrow(d1, 1, pw);
  return torch::cat({torch::cat({y, band_b}, d1), torch::cat({band_a, band_c}, d1)}, d2);
}

torch::Tensor edgetaper(const torch::Tensor& y, const torch::Tensor& kernel) {
  auto k = as_kernel_batch(kernel).to(y.options());
  const int64_t h = y.size(-2), w = y.size(-1);
  // Normalised autocorrelation of the PSF projection along one axis, on a grid of n-1 samples,
  // repeated at the end so that both edges get weight 0.
  auto weight = [&](const torch::Tensor& proj, int64_t n) {
    auto spec = torch::fft::rfft(proj, n - 1, -1);
    auto z = torch::fft::irfft(spec * spec.conj(), n - 1, -1);
    z = torch::cat({z, z.narrow(-1, 0, 1)}, -1);
    z = z / std::get<0>(z.max(-1, true));
    return 1.0 - z;
  };
  UNROLL_CHECK(h > 2 && w > 2, "edgetaper: image too small");
  auto wy = weight(k.sum(3).squeeze(1), h).unsqueeze(1).unsqueeze(-1);  // [N,1,h,1]
  auto wx = weight(k.sum(2).squeeze(1), w).unsqueeze(1).unsqueeze(-2);  // [N,1,1,w]
  auto alpha = wy * wx;
  auto blurred = conv_circular(y, k);
  return alpha * y + (1.0 - alpha) * blurred;
}

Extended extend_for_deconvolution(const torch::Tensor& y, const torch::Tensor& kernel, Boundary mode) {
  auto k = as_kernel_batch(kernel);
  const int64_t h = y.size(-2), w = y.size(-1), kh = k.size(2), kw = k.size(3);
  Extended e;
  e.height = h;
  e.width = w;
  switch (mode) {
    case Boundary::Circular:
      e.image = y;
      return e;
    case Boundary::Taper:
      e.image = edgetaper(y, k);
      return e;
    case Boundary::LiuJia: {
      e.image = liu_jia_extend(y, fast_size(h + 2 * kh), fast_size(w + 2 * kw));
      return e;
    }
    case Boundary::Replicate:
    case Boundary::Reflect: {
      const int64_t th = fast_size(h + 2 * kh), tw = fast_size(w + 2 * kw);
      e.top = (th - h) / 2;
      e.left = (tw - w) / 2;
      const int64_t bottom = th - h - e.top, right = tw - w - e.left;
      const bool reflect_ok = mode == Boundary::Reflect && std::max(e.top, bottom) < h && std::max(e.left, right) < w;
      auto pad = torch::nn::functional::PadFuncOptions({e.left, right, e.top, bottom});
      if (reflect_ok) {
        pad.mode(torch::kReflect);
      } else {
        pad.mode(torch::kReplicate);
      }
      e.image = torch::nn::functional::pad(y, pad);
      return e;
    }
  }
  fail("unknown boundary mode");
}

}  // namespace unroll
