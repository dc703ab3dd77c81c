// The 2-D real transforms of core/fft.h equal torch::fft::rfft2 / irfft2 on every path: FFTW (when
// built with it) for CPU tensors outside autograd, torch::fft otherwise.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fft.h"

namespace unroll {
namespace {

// Runs `body` with the FFTW backend (if this build has it) and restores the previous backend.
template <typename F>
void with_backend(FftBackend backend, F body) {
  const FftBackend before = fft_backend();
  set_fft_backend(backend);
  body();
  set_fft_backend(before);
}

double max_rel(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item<double>();
}

TEST(FftBackend, MatchesTorchOnShapesDtypesAndLayouts) {
  if (!fftw_available()) GTEST_SKIP() << "built without FFTW";
  torch::manual_seed(0);
  with_backend(FftBackend::Fftw, [] {
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
      const double tol = dtype == torch::kFloat32 ? 1e-5 : 1e-12;
      for (auto shape : std::vector<std::vector<int64_t>>{{7, 5}, {1, 1, 16, 16}, {2, 3, 33, 20}, {3, 64, 63}}) {
        auto x = torch::randn(shape, torch::TensorOptions().dtype(dtype));
        const int64_t h = x.size(-2), w = x.size(-1);
        auto ref = torch::fft::rfft2(x);
        auto got = rfft2(x);
        ASSERT_EQ(got.sizes(), ref.sizes());
        ASSERT_EQ(got.scalar_type(), ref.scalar_type());
        EXPECT_LT(max_rel(got, ref), tol) << x.sizes();
        auto back_ref = torch::fft::irfft2(ref, std::vector<int64_t>{h, w});
        auto back = irfft2(got, h, w);
        ASSERT_EQ(back.sizes(), x.sizes());
        EXPECT_LT(max_rel(back, back_ref), tol) << x.sizes();
        EXPECT_LT(max_rel(back, x), 10 * tol) << x.sizes();
        EXPECT_LT(max_rel(irfft2_unscaled(got, h, w), back_ref * double(h * w)), tol) << x.sizes();
        // The named spectrum passed in is left as it was (FFTW's c2r overwrites its input).
        EXPECT_TRUE(torch::equal(got, rfft2(x)));
        // Zero padding to a larger grid, torch's s= argument.
        EXPECT_LT(max_rel(rfft2(x, h + 3, w + 2), torch::fft::rfft2(x, std::vector<int64_t>{h + 3, w + 2})), tol);
      }
    }
    // Non-contiguous and misaligned (offset by one element) inputs.
    auto base = torch::randn({2, 41, 37});
    auto transposed = base.transpose(1, 2);
    EXPECT_LT(max_rel(rfft2(transposed), torch::fft::rfft2(transposed)), 1e-5);
    auto flat = torch::randn({1 + 24 * 30});
    auto shifted = flat.narrow(0, 1, 24 * 30).view({24, 30});
    EXPECT_LT(max_rel(rfft2(shifted), torch::fft::rfft2(shifted)), 1e-5);
    auto spec = torch::fft::rfft2(torch::randn({2, 24, 30}));
    auto spec_view = spec.transpose(0, 1).contiguous().transpose(0, 1);  // non-contiguous complex
    EXPECT_LT(max_rel(irfft2(spec_view, 24, 30), torch::fft::irfft2(spec, std::vector<int64_t>{24, 30})), 1e-5);
    // A spectrum handed over as a temporary may be the work array; the result is the same.
    auto ref = torch::fft::irfft2(spec * 2, std::vector<int64_t>{24, 30});
    EXPECT_LT(max_rel(irfft2(spec * 2, 24, 30), ref), 1e-5);
    // A view of a larger spectrum is not consumed in place: the rest of its storage is untouched.
    auto two = torch::fft::rfft2(torch::randn({2, 24, 30}));
    auto keep = two.clone();
    irfft2(two[0], 24, 30);
    EXPECT_TRUE(torch::equal(two, keep));
  });
}

// fft_columns (the column pass of psf2otf) equals torch::fft::fft along dimension -2 on every layout:
// batches of planes, odd plane sizes (planes after the first may lose FFTW's alignment), views,
// lazily conjugated inputs; a named input is left as it was, a temporary may be the work array.
TEST(FftBackend, ColumnTransformMatchesTorch) {
  torch::manual_seed(2);
  for (auto backend : {FftBackend::Torch, FftBackend::Fftw}) {
    if (backend == FftBackend::Fftw && !fftw_available()) continue;
    with_backend(backend, [] {
      for (auto dtype : {torch::kComplexFloat, torch::kComplexDouble}) {
        const double tol = dtype == torch::kComplexFloat ? 1e-5 : 1e-12;
        for (auto shape : std::vector<std::vector<int64_t>>{{8, 5}, {1, 1, 64, 33}, {3, 1, 25, 7}, {2, 2, 9, 13}}) {
          auto x = torch::randn(shape, torch::TensorOptions().dtype(dtype));
          const auto copy = x.clone();
          auto ref = torch::fft::fft(x, c10::nullopt, -2);
          EXPECT_LT(max_rel(fft_columns(x), ref), tol) << x.sizes();
          EXPECT_TRUE(torch::equal(x, copy)) << "a named input was overwritten";
          EXPECT_LT(max_rel(fft_columns(x.clone()), ref), tol) << x.sizes();
          EXPECT_LT(max_rel(fft_columns(x.conj()), torch::fft::fft(x.conj().resolve_conj(), c10::nullopt, -2)), tol);
        }
        auto base = torch::randn({2, 17, 12}, torch::TensorOptions().dtype(dtype));
        auto view = base.transpose(1, 2);
        EXPECT_LT(max_rel(fft_columns(view), torch::fft::fft(view, c10::nullopt, -2)), tol);
      }
    });
  }
  EXPECT_THROW(fft_columns(torch::randn({4, 4})), Error);  // real input
}

TEST(FftBackend, AutogradFallsBackToTorch) {
  // Under autograd the transforms are torch's, so gradients flow on either backend.
  for (auto backend : {FftBackend::Torch, FftBackend::Fftw}) {
    if (backend == FftBackend::Fftw && !fftw_available()) continue;
    with_backend(backend, [] {
      auto x = torch::randn({1, 1, 12, 10}, torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true));
      auto y = irfft2(rfft2(x) * 0.5, 12, 10);
      y.sum().backward();
      ASSERT_TRUE(x.grad().defined());
      EXPECT_TRUE(torch::allclose(x.grad(), torch::full_like(x, 0.5), 1e-12, 1e-12));
      // The unscaled inverse on this path (torch's norm="forward") is H W times the scaled one.
      auto z = torch::randn({2, 12, 10}, torch::kFloat64);
      EXPECT_TRUE(torch::allclose(irfft2_unscaled(rfft2(z), 12, 10), z * 120.0, 1e-10, 1e-10));
    });
  }
}

torch::Tensor normalised(torch::Tensor k) { return k / k.sum({-2, -1}, true); }

// The tiles give the padded grid's 'same' convolution and its adjoint (the grid on the torch backend,
// where nothing tiles), for odd and even kernels, a row kernel, per-image kernels over channels, and
// images whose last tile is partial.
TEST(TiledConvolution, EqualsThePaddedGridConvolutionAndItsAdjoint) {
  if (!fftw_available()) GTEST_SKIP() << "built without FFTW";
  torch::manual_seed(4);
  struct Case {
    std::vector<int64_t> shape;
    int64_t kernels, kh, kw;
  };
  for (const Case& c : {Case{{1, 1, 520, 515}, 1, 9, 8}, Case{{2, 3, 600, 530}, 2, 25, 25},
                        Case{{1, 2, 513, 1030}, 1, 1, 31}}) {
    const int64_t h = c.shape[2], w = c.shape[3];
    SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w) + ", kernel " + std::to_string(c.kh) + "x" +
                 std::to_string(c.kw));
    auto k = normalised(torch::rand({c.kernels, 1, c.kh, c.kw}, torch::kFloat64) + 0.05);
    auto x = torch::rand(c.shape, torch::kFloat64), r = torch::rand(c.shape, torch::kFloat64);
    torch::Tensor ref_forward, ref_adjoint;
    with_backend(FftBackend::Torch, [&] {
      SameConvolution grid(k, h, w);
      ASSERT_FALSE(grid.tiled());
      ref_forward = grid.forward(x);
      ref_adjoint = grid.adjoint(r);
    });
    with_backend(FftBackend::Fftw, [&] {
      auto tiled = TiledConvolution::create(k, h, w);
      ASSERT_TRUE(tiled);
      const int64_t th = tiled->tile_fft_height() - c.kh + 1, tw = tiled->tile_fft_width() - c.kw + 1;
      EXPECT_TRUE(h % th != 0 || w % tw != 0) << "no partial tile";
      EXPECT_GT(((h + th - 1) / th) * ((w + tw - 1) / tw), 1);
      EXPECT_LT(max_rel(tiled->forward(x), ref_forward), 1e-12);
      EXPECT_LT(max_rel(tiled->adjoint(r), ref_adjoint), 1e-12);
      if (c.kernels > 1) {  // float32 once (every dtype and tile shape has its own FFTW plans to make)
        auto t32 = TiledConvolution::create(k.to(torch::kFloat32), h, w);
        ASSERT_TRUE(t32);
        EXPECT_LT(max_rel(t32->forward(x.to(torch::kFloat32)), ref_forward.to(torch::kFloat32)), 1e-5);
        EXPECT_LT(max_rel(t32->adjoint(r.to(torch::kFloat32)), ref_adjoint.to(torch::kFloat32)), 1e-5);
      }
      // SameConvolution runs the tiles, on the image as its grid.
      SameConvolution same(k, h, w);
      ASSERT_TRUE(same.tiled());
      EXPECT_EQ(same.grid_height(), h);
      EXPECT_EQ(same.grid_width(), w);
      EXPECT_LT(max_rel(same.window(same.forward_on_grid(x)), ref_forward), 1e-12);
      EXPECT_LT(max_rel(same.origin(same.adjoint_on_grid(r)), ref_adjoint), 1e-12);
    });
  }
}

TEST(TiledConvolution, AppliesOnlyWhereItCan) {
  if (!fftw_available()) GTEST_SKIP() << "built without FFTW";
  torch::manual_seed(5);
  auto k = normalised(torch::rand({9, 9}, torch::kFloat64) + 0.05);
  with_backend(FftBackend::Torch, [&] { EXPECT_EQ(TiledConvolution::create(k, 600, 600), nullptr); });
  with_backend(FftBackend::Fftw, [&] {
    EXPECT_EQ(TiledConvolution::create(k, 100, 100), nullptr);  // one small grid transform is cheaper
    EXPECT_EQ(TiledConvolution::create(torch::full({300, 300}, 1.0 / 9e4, torch::kFloat64), 1024, 1024), nullptr);
    auto t = TiledConvolution::create(k, 600, 600);
    ASSERT_TRUE(t);
    auto x = torch::rand({2, 1, 600, 600}, torch::kFloat64);
    EXPECT_TRUE(t->applies(x));
    EXPECT_FALSE(t->applies(x.to(torch::kFloat32)));
    EXPECT_FALSE(t->applies(torch::rand({1, 1, 600, 601}, torch::kFloat64)));
    EXPECT_THROW(t->forward(x.to(torch::kFloat32)), Error);
    auto batched = TiledConvolution::create(torch::stack({k, k.t()}).unsqueeze(1), 600, 600);
    ASSERT_TRUE(batched);
    EXPECT_TRUE(batched->applies(x));
    EXPECT_FALSE(batched->applies(torch::rand({3, 1, 600, 600}, torch::kFloat64)));
    auto xg = x.clone().requires_grad_(true);
    EXPECT_FALSE(t->applies(xg));
    {
      torch::NoGradGuard no_grad;
      EXPECT_TRUE(t->applies(xg));
    }
    // Under autograd a tiled SameConvolution takes the padded grid: the same values, and a gradient.
    SameConvolution same(k, 600, 600);
    ASSERT_TRUE(same.tiled());
    auto y = same.forward(xg), z = same.adjoint(xg);
    ASSERT_TRUE(y.requires_grad());
    EXPECT_LT(max_rel(y.detach(), t->forward(x)), 1e-12);
    EXPECT_LT(max_rel(z.detach(), t->adjoint(x)), 1e-12);
    (y.sum() + z.sum()).backward();
    ASSERT_TRUE(xg.grad().defined());
    EXPECT_GT(xg.grad().abs().sum().item<double>(), 0.0);
  });
}

TEST(FftBackend, SelectingFftwWithoutItIsAnError) {
  if (fftw_available()) {
    with_backend(FftBackend::Fftw, [] { EXPECT_EQ(fft_backend(), FftBackend::Fftw); });
  } else {
    EXPECT_THROW(set_fft_backend(FftBackend::Fftw), Error);
  }
}

}  // namespace
}  // namespace unroll
