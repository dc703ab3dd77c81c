// The 2-D real transforms of core/fft.h: FFTW plans for CPU tensors outside autograd (when built with
// FFTW), torch::fft for everything else.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/fft.h"

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

// One cached plan per (kind, H, W, batch, threads); plans live until the process ends. For Columns, w
// is the width of the complex plane and howmany is 1 (planes are executed one after another).
template <typename T>
typename Fftw<T>::Plan cached_plan(PlanKind kind, int h, int w, int howmany, int threads) {
  using Api = Fftw<T>;
  static std::map<std::tuple<PlanKind, int, int, int, int>, typename Api::Plan> plans;
  static bool initialised = false;
  std::lock_guard<std::mutex> lock(planner_mutex());
  const auto& settings = planner_settings();
  if (!initialised) {
    Api::init_threads();
    if (!settings.wisdom_dir.empty()) Api::import_wisdom(settings.wisdom_dir + "/" + Api::wisdom_file);
    initialised = true;
  }
  const auto key = std::make_tuple(kind, h, w, howmany, threads);
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
  Api::set_timelimit(settings.flags == FFTW_PATIENT ? FFTW_NO_TIMELIMIT : std::clamp(2e-6 * double(real), 0.5, 4.0));
  auto plan = kind == PlanKind::Inverse ? Api::c2r(n, howmany, c, r, settings.flags)
              : kind == PlanKind::Forward ? Api::r2c(n, howmany, r, c, settings.flags)
                                          : Api::columns(n, c, settings.flags);
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
