// The 2-D real transforms of core/fft.h: FFTW plans for CPU tensors outside autograd (when built with
// FFTW), torch::fft for everything else.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/fft.h"
#include "core/tensor.h"

#ifdef UNROLL_WITH_FFTW
#include <fftw3.h>
#endif

namespace unroll {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

FftBackend backend_from_env() {
  const std::string v = env("UNROLL_FFT");
  if (v.empty()) return fftw_available() ? FftBackend::Fftw : FftBackend::Torch;
  if (v == "torch") return FftBackend::Torch;
  UNROLL_CHECK(v == "fftw", "UNROLL_FFT must be torch or fftw, got '", v, "'");
  UNROLL_CHECK(fftw_available(), "UNROLL_FFT=fftw: this build of Unroll has no FFTW (install libfftw3-dev and rebuild)");
  return FftBackend::Fftw;
}

std::atomic<FftBackend>& backend_state() {
  static std::atomic<FftBackend> backend{backend_from_env()};
  return backend;
}

#ifdef UNROLL_WITH_FFTW

bool untracked(const torch::Tensor& t) { return !(torch::GradMode::is_enabled() && t.requires_grad()); }

struct PlannerSettings {
  unsigned flags = FFTW_MEASURE;
  std::string wisdom_dir;  // empty: not remembered across runs
};

const PlannerSettings& planner_settings() {
  static const PlannerSettings settings = [] {
    PlannerSettings s;
    const std::string planner = env("UNROLL_FFTW_PLANNER");
    if (planner == "estimate") {
      s.flags = FFTW_ESTIMATE;
    } else if (planner == "patient") {
      s.flags = FFTW_PATIENT;
    } else {
      UNROLL_CHECK(planner.empty() || planner == "measure",
                   "UNROLL_FFTW_PLANNER must be estimate, measure or patient, got '", planner, "'");
    }
    const std::string wisdom = env("UNROLL_FFTW_WISDOM");
    if (wisdom == "off") return s;
    if (!wisdom.empty()) {
      s.wisdom_dir = wisdom;
    } else if (!env("XDG_CACHE_HOME").empty()) {
      s.wisdom_dir = env("XDG_CACHE_HOME") + "/unroll";
    } else if (!env("HOME").empty()) {
      s.wisdom_dir = env("HOME") + "/.cache/unroll";
    }
    return s;
  }();
  return settings;
}

// The FFTW API of one precision (the float and double libraries have the same functions with an
// fftwf_ / fftw_ prefix).
template <typename T>
struct Fftw;

#define UNROLL_FFTW_API(T, P, SUFFIX)                                                                          \
  template <>                                                                                                 \
  struct Fftw<T> {                                                                                            \
    using Plan = P##_plan;                                                                                    \
    using Complex = P##_complex;                                                                              \
    /* v2: plans made since the planning time limit grows with the size (see cached_plan). */               \
    static constexpr const char* wisdom_file = "fftw-wisdom-v2" SUFFIX;                                          \
    static Plan r2c(const int* n, int howmany, T* in, Complex* out, unsigned flags) {                         \
      return P##_plan_many_dft_r2c(2, n, howmany, in, nullptr, 1, n[0] * n[1], out, nullptr, 1,              \
                                   n[0] * (n[1] / 2 + 1), flags);                                             \
    }                                                                                                         \
    static Plan c2r(const int* n, int howmany, Complex* in, T* out, unsigned flags) {                         \
      return P##_plan_many_dft_c2r(2, n, howmany, in, nullptr, 1, n[0] * (n[1] / 2 + 1), out, nullptr, 1,    \
                                   n[0] * n[1], flags);                                                       \
    }                                                                                                         \
    /* In place, along the height of one [n[0], n[1]] complex plane: n[1] strided 1-D transforms. */         \
    static Plan columns(const int* n, Complex* data, unsigned flags) {                                        \
      return P##_plan_many_dft(1, n, n[1], data, nullptr, n[1], 1, data, nullptr, n[1], 1, FFTW_FORWARD, flags); \
    }                                                                                                         \
    static void execute(Plan p, Complex* data) { P##_execute_dft(p, data, data); }                           \
    static void execute(Plan p, T* in, Complex* out) { P##_execute_dft_r2c(p, in, out); }                     \
    static void execute(Plan p, Complex* in, T* out) { P##_execute_dft_c2r(p, in, out); }                     \
    static bool aligned(const void* ptr) { return P##_alignment_of(static_cast<T*>(const_cast<void*>(ptr))) == 0; } \
    static void init_threads() { P##_init_threads(); }                                                        \
    static void plan_with_nthreads(int n) { P##_plan_with_nthreads(n); }                                      \
    static void set_timelimit(double s) { P##_set_timelimit(s); }                                             \
    static void import_wisdom(const std::string& f) { P##_import_wisdom_from_filename(f.c_str()); }          \
    static std::string export_wisdom() {                                                                      \
      char* text = P##_export_wisdom_to_string();                                                             \
      std::string s = text ? text : "";                                                                       \
      P##_free(text);                                                                                         \
      return s;                                                                                               \
    }                                                                                                         \
  };
UNROLL_FFTW_API(float, fftwf, ".f32")
UNROLL_FFTW_API(double, fftw, ".f64")
#undef UNROLL_FFTW_API

std::mutex& planner_mutex() {  // FFTW's planner is not thread-safe; executing a plan is
  static std::mutex m;
  return m;
}

enum class PlanKind { Forward, Inverse, Columns };

// One cached plan per (kind, H, W, batch, threads, tile); plans live until the process ends. For
// Columns, w is the width of the complex plane and howmany is 1 (planes are executed one after another).
// `tile`: a TiledConvolution's single-plane transform, run thousands of times per solve. Up to 2^15
// points its patient plan takes about half a second to find and pays (128^2 tiles: RL 30 iterations
// 0.13 -> 0.10 s against measured plans), so such plans are patient (capped at 2 s) when the
// environment asks for measured ones; larger tiles take seconds to plan patiently (280^2: ~4 s).
template <typename T>
typename Fftw<T>::Plan cached_plan(PlanKind kind, int h, int w, int howmany, int threads, bool tile = false) {
  using Api = Fftw<T>;
  static std::map<std::tuple<PlanKind, int, int, int, int, bool>, typename Api::Plan> plans;
  static bool initialised = false;
  std::lock_guard<std::mutex> lock(planner_mutex());
  const auto& settings = planner_settings();
  if (!initialised) {
    Api::init_threads();
    if (!settings.wisdom_dir.empty()) Api::import_wisdom(settings.wisdom_dir + "/" + Api::wisdom_file);
    initialised = true;
  }
  const auto key = std::make_tuple(kind, h, w, howmany, threads, tile);
  auto found = plans.find(key);
  if (found != plans.end()) return found->second;

  // Planning with FFTW_MEASURE overwrites its arrays: plan on scratch buffers of the same alignment as
  // LibTorch's allocations, then run the plan on the caller's arrays (FFTW's new-array execute).
  const int64_t real = int64_t(howmany) * h * w;
  const int64_t half = kind == PlanKind::Columns ? real : int64_t(howmany) * h * (w / 2 + 1);  // complex elements
  auto real_buf = torch::empty({real}, c10::CppTypeToScalarType<T>::value);
  auto complex_buf = torch::empty({2 * half}, c10::CppTypeToScalarType<T>::value);
  auto* r = real_buf.template data_ptr<T>();
  auto* c = reinterpret_cast<typename Api::Complex*>(complex_buf.template data_ptr<T>());
  const int n[2] = {h, w};
  Api::plan_with_nthreads(threads);
  // A cap on the planning of large batches (a 3 x 2048^2 plan takes ~3 s untimed). It must leave FFTW
  // time to finish: under a flat 0.5 s a 1080^2 plan came out 1.7x slower than FFTW's own choice (which
  // takes it ~0.5 s to find). A patient planner, asked for explicitly, is not capped.
  const bool patient_tile = tile && settings.flags == FFTW_MEASURE && int64_t(h) * w <= (int64_t(1) << 15);
  const unsigned flags = patient_tile ? unsigned(FFTW_PATIENT) : settings.flags;
  Api::set_timelimit(patient_tile                   ? 2.0
                     : settings.flags == FFTW_PATIENT ? FFTW_NO_TIMELIMIT
                                                      : std::clamp(2e-6 * double(real), 0.5, 4.0));
  auto plan = kind == PlanKind::Inverse ? Api::c2r(n, howmany, c, r, flags)
              : kind == PlanKind::Forward ? Api::r2c(n, howmany, r, c, flags)
                                          : Api::columns(n, c, flags);
  UNROLL_CHECK(plan != nullptr, "FFTW could not plan a ", h, "x", w, " transform of ", howmany, " planes");
  plans.emplace(key, plan);
  if (settings.flags != FFTW_ESTIMATE && !settings.wisdom_dir.empty()) {
    try {
      write_text_atomically(settings.wisdom_dir + "/" + Api::wisdom_file, Api::export_wisdom());
    } catch (const Error& e) {
      static bool warned = false;
      if (!warned) std::cerr << "warning: FFTW plans are not remembered across runs: " << e.what() << "\n";
      warned = true;
    }
  }
  return plan;
}

int transform_threads(int64_t points) {
  // Below ~64K points per call a second thread costs more than it saves.
  return points >= (int64_t(1) << 16) ? std::max(1, at::get_num_threads()) : 1;
}

template <typename T>
torch::Tensor fftw_rfft2(const torch::Tensor& x_in) {
  using Api = Fftw<T>;
  auto x = x_in.contiguous();
  if (!Api::aligned(x.template data_ptr<T>())) x = x.clone();
  const int h = static_cast<int>(x.size(-2)), w = static_cast<int>(x.size(-1));
  const int howmany = static_cast<int>(x.numel() / (int64_t(h) * w));
  auto shape = x.sizes().vec();
  shape.back() = w / 2 + 1;
  auto out = torch::empty(shape, x.options().dtype(c10::toComplexType(x.scalar_type())));
  auto plan = cached_plan<T>(PlanKind::Forward, h, w, howmany, transform_threads(x.numel()));
  Api::execute(plan, x.template data_ptr<T>(), reinterpret_cast<typename Api::Complex*>(out.data_ptr()));
  return out;
}

// True when `t` is the only reference to its tensor and storage, and dense from the storage's start:
// the caller handed it over, so a transform may overwrite it without anyone observing.
bool sole_owner(const torch::Tensor& t) {
  return t.use_count() == 1 && t.storage().use_count() == 1 && t.is_contiguous() && t.storage_offset() == 0;
}

template <typename T>
torch::Tensor fftw_irfft2(const torch::Tensor& spectrum, int h, int w, bool scaled) {  // see irfft2
  using Api = Fftw<T>;
  // A multi-dimensional c2r transform overwrites its input: run it on a copy, unless the caller handed
  // over the only reference to the spectrum and its storage (then nobody can observe the overwrite).
  const bool sole = sole_owner(spectrum) && Api::aligned(spectrum.data_ptr());
  auto in = sole ? spectrum : spectrum.is_contiguous() ? spectrum.clone() : spectrum.contiguous();
  const int howmany = static_cast<int>(in.numel() / (int64_t(h) * (w / 2 + 1)));
  auto shape = in.sizes().vec();
  shape.back() = w;
  auto out = torch::empty(shape, in.options().dtype(c10::CppTypeToScalarType<T>::value));
  auto plan = cached_plan<T>(PlanKind::Inverse, h, w, howmany, transform_threads(out.numel()));
  Api::execute(plan, reinterpret_cast<typename Api::Complex*>(in.data_ptr()), out.template data_ptr<T>());
  // FFTW is unnormalised; torch's backward norm divides by H*W.
  return scaled ? out.mul_(1.0 / (double(h) * w)) : out;
}

// Transforms the contiguous complex [..., H, W] tensor `x` in place; false (x untouched) when a plane
// lacks the SIMD alignment FFTW planned for (possible for odd-sized planes after the first).
template <typename T>
bool fftw_fft_columns_inplace(torch::Tensor& x) {
  using Api = Fftw<T>;
  const int h = static_cast<int>(x.size(-2)), w = static_cast<int>(x.size(-1));
  const int64_t plane = int64_t(h) * w, planes = x.numel() / plane;
  auto* data = reinterpret_cast<typename Api::Complex*>(x.data_ptr());
  for (int64_t i = 0; i < planes; ++i)
    if (!Api::aligned(data + i * plane)) return false;
  auto plan = cached_plan<T>(PlanKind::Columns, h, w, 1, transform_threads(x.numel()));
  for (int64_t i = 0; i < planes; ++i) Api::execute(plan, data + i * plane);
  return true;
}

bool fits_int(const torch::Tensor& t) { return t.numel() < (int64_t(1) << 31); }

// One TiledConvolution pass. Tile (a, b) of a plane covers output rows [a th, a th + th) and columns
// [b tw, b tw + tw), th = fh - kh + 1; its buffer holds the source pixels that reach them (zero outside
// the image) and its circular fh x fw convolution with the kernel at the origin is free of wrap-around
// on those rows: row u of the buffer is source row a th - pre_h + u, and output row a th + t is buffer
// row t + shift_h. Convolution: pre = kh - 1 - kh/2, shift = kh - 1. Correlation (the conjugate
// spectrum): pre = kh/2, shift = 0.
template <typename T>
torch::Tensor tiled_pass(const torch::Tensor& x_in, const torch::Tensor& spectrum, int64_t kh, int64_t kw,
                         int64_t fh, int64_t fw, bool adjoint) {
  using Api = Fftw<T>;
  using Complex = typename Api::Complex;
  auto x = x_in.contiguous();
  const int64_t h = x.size(-2), w = x.size(-1);
  const int64_t half = fw / 2 + 1;
  const int64_t th = fh - kh + 1, tw = fw - kw + 1;
  const int64_t tiles_h = (h + th - 1) / th, tiles_w = (w + tw - 1) / tw, tiles = tiles_h * tiles_w;
  const int64_t planes = x.numel() / (h * w), per_kernel = planes / spectrum.size(0);
  const int64_t pre_h = adjoint ? kh / 2 : kh - 1 - kh / 2, pre_w = adjoint ? kw / 2 : kw - 1 - kw / 2;
  const int64_t shift_h = adjoint ? 0 : kh - 1, shift_w = adjoint ? 0 : kw - 1;
  auto out = torch::empty_like(x);
  const auto forward_plan = cached_plan<T>(PlanKind::Forward, int(fh), int(fw), 1, 1, true);
  const auto inverse_plan = cached_plan<T>(PlanKind::Inverse, int(fh), int(fw), 1, 1, true);
  const T* src = x.template data_ptr<T>();
  T* dst = out.template data_ptr<T>();
  const T* kernels = reinterpret_cast<const T*>(spectrum.data_ptr());  // interleaved (re, im)
  const T conj = adjoint ? T(-1) : T(1);
  at::parallel_for(0, planes * tiles, 1, [&](int64_t begin, int64_t end) {
    // Per-thread buffers, allocated like the planning buffers (FFTW's new-array execute needs the
    // alignment it planned for).
    auto real_buf = torch::empty({fh * fw}, x.options());
    auto complex_buf = torch::empty({2 * fh * half}, x.options());
    T* buf = real_buf.template data_ptr<T>();
    T* spec = complex_buf.template data_ptr<T>();
    for (int64_t job = begin; job < end; ++job) {
      const int64_t p = job / tiles, r0 = (job % tiles) / tiles_w * th, c0 = (job % tiles) % tiles_w * tw;
      const int64_t rows = std::min(th, h - r0), cols = std::min(tw, w - c0);
      const int64_t sr = r0 - pre_h, sc = c0 - pre_w;  // source pixel of buffer (0, 0)
      const int64_t r_lo = std::max<int64_t>(0, sr), r_hi = std::min(h, sr + rows + kh - 1);
      const int64_t c_lo = std::max<int64_t>(0, sc), c_hi = std::min(w, sc + cols + kw - 1);
      // Zero what the copy below leaves unset (nothing, for a tile away from the image's edges).
      if (r_lo - sr > 0 || r_hi - sr < fh || c_lo - sc > 0 || c_hi - sc < fw) std::fill(buf, buf + fh * fw, T(0));
      const T* plane = src + p * h * w;
      for (int64_t r = r_lo; r < r_hi; ++r)
        std::copy(plane + r * w + c_lo, plane + r * w + c_hi, buf + (r - sr) * fw + (c_lo - sc));
      Api::execute(forward_plan, buf, reinterpret_cast<Complex*>(spec));
      const T* k = kernels + 2 * (p / per_kernel) * fh * half;
      for (int64_t i = 0; i < fh * half; ++i) {
        const T ar = spec[2 * i], ai = spec[2 * i + 1], br = k[2 * i], bi = conj * k[2 * i + 1];
        spec[2 * i] = ar * br - ai * bi;
        spec[2 * i + 1] = ar * bi + ai * br;
      }
      Api::execute(inverse_plan, reinterpret_cast<Complex*>(spec), buf);
      T* out_plane = dst + p * h * w;
      for (int64_t r = 0; r < rows; ++r)
        std::copy(buf + (r + shift_h) * fw + shift_w, buf + (r + shift_h) * fw + shift_w + cols,
                  out_plane + (r0 + r) * w + c0);
    }
  });
  return out;
}

#endif  // UNROLL_WITH_FFTW

}  // namespace

bool fftw_available() {
#ifdef UNROLL_WITH_FFTW
  return true;
#else
  return false;
#endif
}

FftBackend fft_backend() { return backend_state().load(); }

TiledConvolution::TiledConvolution(const torch::Tensor& spectrum, int64_t height, int64_t width, int64_t kh,
                                   int64_t kw, int64_t fft_h, int64_t fft_w)
    : spectrum_(spectrum), height_(height), width_(width), kh_(kh), kw_(kw), fft_h_(fft_h), fft_w_(fft_w) {}

std::shared_ptr<const TiledConvolution> TiledConvolution::create(const torch::Tensor& k_in, int64_t height,
                                                                 int64_t width) {
#ifdef UNROLL_WITH_FFTW
  auto k = as_kernel_batch(k_in);
  if (fft_backend() != FftBackend::Fftw || !k.device().is_cpu() || !untracked(k)) return nullptr;
  if (k.scalar_type() != torch::kFloat && k.scalar_type() != torch::kDouble) return nullptr;
  // Below ~512^2 the padded grid's transform fits in cache and FFTW runs it on one thread anyway.
  if (height * width < (int64_t(1) << 18)) return nullptr;
  const int64_t kh = k.size(2), kw = k.size(3);
  const int64_t fh = tile_fft_length(height, kh), fw = tile_fft_length(width, kw);
  if (fh == 0 || fw == 0) return nullptr;
  const int64_t tiles = ((height + fh - kh) / (fh - kh + 1)) * ((width + fw - kw) / (fw - kw + 1));
  if (tiles < 2) return nullptr;  // one tile is the padded grid with more padding
  // Against the padded grid of SameConvolution: tiles redo their halos. Up to 1.2x the grid's transform
  // work still pays (measured, 1024^2 with 25x25: equal work, 7% faster on one thread, 25% on two).
  const double gh = double(fft_length(height + kh / 2)), gw = double(fft_length(width + kw / 2));
  const double grid_work = gh * gw * std::log2(gh * gw);
  const double tiled_work = double(tiles) * double(fh) * double(fw) * std::log2(double(fh) * double(fw));
  if (tiled_work > 1.2 * grid_work) return nullptr;
  auto spectrum = rfft2(k, fh, fw).div_(double(fh) * double(fw)).squeeze(1).contiguous();
  return std::make_shared<const TiledConvolution>(spectrum, height, width, kh, kw, fh, fw);
#else
  (void)k_in;
  (void)height;
  (void)width;
  return nullptr;
#endif
}

bool TiledConvolution::applies(const torch::Tensor& x) const {
#ifdef UNROLL_WITH_FFTW
  if (fft_backend() != FftBackend::Fftw || !x.device().is_cpu() || !untracked(x) || x.dim() < 2) return false;
  if (x.scalar_type() != c10::toRealValueType(spectrum_.scalar_type()) || !fits_int(x)) return false;
  if (x.size(-2) != height_ || x.size(-1) != width_) return false;
  return spectrum_.size(0) == 1 || (x.dim() == 4 && x.size(0) == spectrum_.size(0));
#else
  (void)x;
  return false;
#endif
}

torch::Tensor TiledConvolution::forward(const torch::Tensor& x) const { return run(x, false); }

torch::Tensor TiledConvolution::adjoint(const torch::Tensor& r) const { return run(r, true); }

torch::Tensor TiledConvolution::run(const torch::Tensor& x, bool adjoint) const {
  UNROLL_CHECK(applies(x), "TiledConvolution: planned for CPU ", c10::toRealValueType(spectrum_.scalar_type()),
               " images of ", height_, "x", width_, " outside autograd, got ", x.sizes(), " ", x.scalar_type(),
               " on ", x.device());
#ifdef UNROLL_WITH_FFTW
  if (x.scalar_type() == torch::kFloat) return tiled_pass<float>(x, spectrum_, kh_, kw_, fft_h_, fft_w_, adjoint);
  return tiled_pass<double>(x, spectrum_, kh_, kw_, fft_h_, fft_w_, adjoint);
#else
  (void)adjoint;
  fail("TiledConvolution: this build has no FFTW");
#endif
}

void set_fft_backend(FftBackend backend) {
  UNROLL_CHECK(backend == FftBackend::Torch || fftw_available(),
               "set_fft_backend: this build of Unroll has no FFTW (install libfftw3-dev and rebuild)");
  backend_state().store(backend);
}

torch::Tensor rfft2(const torch::Tensor& x) {
  UNROLL_CHECK(x.dim() >= 2, "rfft2: expected at least 2 dimensions, got ", x.sizes());
#ifdef UNROLL_WITH_FFTW
  if (fft_backend() == FftBackend::Fftw && x.device().is_cpu() && untracked(x) && x.numel() > 0 && fits_int(x)) {
    if (x.scalar_type() == torch::kFloat) return fftw_rfft2<float>(x);
    if (x.scalar_type() == torch::kDouble) return fftw_rfft2<double>(x);
  }
#endif
  return torch::fft::rfft2(x);
}

torch::Tensor rfft2(const torch::Tensor& x, int64_t height, int64_t width) {
  UNROLL_CHECK(x.dim() >= 2 && height >= x.size(-2) && width >= x.size(-1), "rfft2: cannot pad ", x.sizes(),
               " to ", height, "x", width);
  if (height == x.size(-2) && width == x.size(-1)) return rfft2(x);
  return rfft2(torch::constant_pad_nd(x, {0, width - x.size(-1), 0, height - x.size(-2)}));
}

torch::Tensor fft_columns(torch::Tensor x) {
  UNROLL_CHECK(x.dim() >= 2 && x.is_complex(), "fft_columns: expected a complex tensor of at least 2 dimensions, got ",
               x.sizes(), " ", x.scalar_type());
#ifdef UNROLL_WITH_FFTW
  if (fft_backend() == FftBackend::Fftw && x.device().is_cpu() && untracked(x) && x.numel() > 0 && fits_int(x)) {
    x = x.resolve_conj();  // a lazily conjugated view is materialised (FFTW reads the raw values)
    auto work = sole_owner(x) ? x : x.clone(torch::MemoryFormat::Contiguous);
    if (work.scalar_type() == torch::kComplexFloat && fftw_fft_columns_inplace<float>(work)) return work;
    if (work.scalar_type() == torch::kComplexDouble && fftw_fft_columns_inplace<double>(work)) return work;
  }
#endif
  return torch::fft::fft(x, {}, -2);
}

namespace {
torch::Tensor inverse(torch::Tensor spectrum, int64_t height, int64_t width, bool scaled) {
  UNROLL_CHECK(spectrum.dim() >= 2, "irfft2: expected at least 2 dimensions, got ", spectrum.sizes());
#ifdef UNROLL_WITH_FFTW
  if (fft_backend() == FftBackend::Fftw && spectrum.device().is_cpu() && untracked(spectrum) &&
      spectrum.numel() > 0 && spectrum.size(-2) == height && spectrum.size(-1) == width / 2 + 1 &&
      spectrum.numel() / (width / 2 + 1) * width < (int64_t(1) << 31)) {
    const int h = int(height), w = int(width);
    if (spectrum.scalar_type() == torch::kComplexFloat) return fftw_irfft2<float>(spectrum, h, w, scaled);
    if (spectrum.scalar_type() == torch::kComplexDouble) return fftw_irfft2<double>(spectrum, h, w, scaled);
  }
#endif
  return torch::fft::irfft2(spectrum, std::vector<int64_t>{height, width}, {-2, -1}, scaled ? "backward" : "forward");
}
}  // namespace

torch::Tensor irfft2(torch::Tensor spectrum, int64_t height, int64_t width) {
  return inverse(std::move(spectrum), height, width, true);
}

torch::Tensor irfft2_unscaled(torch::Tensor spectrum, int64_t height, int64_t width) {
  return inverse(std::move(spectrum), height, width, false);
}

}  // namespace unroll
