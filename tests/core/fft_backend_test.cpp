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

TEST(FftBackend, SelectingFftwWithoutItIsAnError) {
  if (fftw_available()) {
    with_backend(FftBackend::Fftw, [] { EXPECT_EQ(fft_backend(), FftBackend::Fftw); });
  } else {
    EXPECT_THROW(set_fft_backend(FftBackend::Fftw), Error);
  }
}

}  // namespace
}  // namespace unroll
