#include "datasets/kernels.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <filesystem>

#include "core/enum_names.h"
#include "core/error.h"
#include "core/kernel.h"
#include "core/tensor.h"

namespace unroll {

namespace {

constexpr double kMinSigma = 0.25;

torch::TensorOptions f64() { return torch::TensorOptions().dtype(torch::kFloat64); }

double deg2rad(double deg) { return deg * kPi / 180.0; }

bool finite(double v) { return std::isfinite(v); }

// Splats points (x, y) in pixel coordinates with weights w onto a size x size grid bilinearly.
// Every point must lie in [0, size-1]^2 (checked by the callers' geometry).
torch::Tensor splat_bilinear(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& w, int64_t size) {
  auto flat = torch::zeros({size * size}, f64());
  if (size == 1) {
    flat.add_(w.sum());
    return flat.reshape({1, 1});
  }
  // Clamping the base index to size-2 lets a point on the last row/column splat with weight 0 onto a
  // valid neighbour instead of an out-of-range one.
  auto x0 = torch::floor(x).clamp(0, size - 2);
  auto y0 = torch::floor(y).clamp(0, size - 2);
  auto fx = x - x0, fy = y - y0;
  auto ix = x0.to(torch::kLong), iy = y0.to(torch::kLong);
  flat.index_add_(0, iy * size + ix, w * (1 - fx) * (1 - fy));
  flat.index_add_(0, iy * size + ix + 1, w * fx * (1 - fy));
  flat.index_add_(0, (iy + 1) * size + ix, w * (1 - fx) * fy);
  flat.index_add_(0, (iy + 1) * size + ix + 1, w * fx * fy);
  return flat.reshape({size, size});
}

// Coordinates of the pixel centres relative to the kernel centre: x (columns) and y (rows), [k,k].
std::pair<torch::Tensor, torch::Tensor> centred_grid(int64_t size) {
  auto r = torch::arange(size, f64()) - static_cast<double>(size / 2);
  auto grids = torch::meshgrid({r, r}, "ij");
  return {grids[1], grids[0]};
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// SeededRng

uint64_t mix_seed(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

SeededRng::SeededRng(uint64_t seed) : engine_(mix_seed(seed)) {}

double SeededRng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double SeededRng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double SeededRng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2.0 * kPi * u2);
  has_spare_ = true;
  return r * std::cos(2.0 * kPi * u2);
}

int64_t SeededRng::integer(int64_t lo, int64_t hi) {
  UNROLL_CHECK(hi >= lo, "SeededRng::integer: empty range [", lo, ", ", hi, "]");
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  if (span == 0) return static_cast<int64_t>(engine_());  // the full 64-bit range
  // Rejection sampling removes the modulo bias.
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % span;
  uint64_t v = engine_();
  while (v >= limit) v = engine_();
  return lo + static_cast<int64_t>(v % span);
}

uint64_t SeededRng::next_seed() { return engine_(); }

// ------------------------------------------------------------------------------------------------
// Gaussian

void GaussianKernelOptions::validate() const {
  UNROLL_CHECK(finite(sigma_x) && sigma_x >= 0, "gaussian kernel: sigma_x must be finite and >= 0, got ", sigma_x);
  UNROLL_CHECK(finite(sigma_y) && sigma_y >= 0, "gaussian kernel: sigma_y must be finite and >= 0, got ", sigma_y);
  UNROLL_CHECK(finite(angle_deg), "gaussian kernel: angle_deg must be finite, got ", angle_deg);
  UNROLL_CHECK(size >= 0, "gaussian kernel: size must be >= 0 (0 = automatic), got ", size);
}

torch::Tensor gaussian_kernel(const GaussianKernelOptions& o) {
  o.validate();
  const double sx = std::max(o.sigma_x, kMinSigma), sy = std::max(o.sigma_y, kMinSigma);
  int64_t size = o.size;
  if (size == 0) size = std::max<int64_t>(3, 2 * static_cast<int64_t>(std::ceil(3.0 * std::max(sx, sy))) + 1);
  auto [x, y] = centred_grid(size);
  const double a = deg2rad(o.angle_deg);
  // Direction (cos a, -sin a) in (x, y) with y pointing down; (sin a, cos a) is perpendicular to it.
  auto s = x * std::cos(a) - y * std::sin(a);
  auto t = x * std::sin(a) + y * std::cos(a);
  auto k = torch::exp(-0.5 * (s * s / (sx * sx) + t * t / (sy * sy)));
  return k / k.sum();
}

torch::Tensor gaussian_kernel(double sigma, int64_t size) {
  GaussianKernelOptions o;
  o.sigma_x = o.sigma_y = sigma;
  o.size = size;
  return gaussian_kernel(o);
}

// ------------------------------------------------------------------------------------------------
// Linear motion

void MotionKernelOptions::validate() const {
  UNROLL_CHECK(finite(length) && length >= 0, "motion kernel: length must be finite and >= 0, got ", length);
  UNROLL_CHECK(finite(angle_deg), "motion kernel: angle_deg must be finite, got ", angle_deg);
  UNROLL_CHECK(size >= 0, "motion kernel: size must be >= 0 (0 = automatic), got ", size);
  UNROLL_CHECK(samples_per_pixel >= 1, "motion kernel: samples_per_pixel must be >= 1, got ", samples_per_pixel);
}

torch::Tensor motion_kernel(const MotionKernelOptions& o) {
  o.validate();
  const double a = deg2rad(o.angle_deg);
  const double dx = std::cos(a), dy = -std::sin(a);
  const double half_extent = 0.5 * o.length * std::max(std::abs(dx), std::abs(dy));
  int64_t size = o.size;
  if (size == 0) size = 2 * (static_cast<int64_t>(std::ceil(half_extent - 1e-9)) + 1) + 1;
  const int64_t c = size / 2;
  const double room = static_cast<double>(std::min(c, size - 1 - c));
  UNROLL_CHECK(half_extent <= room + 1e-9, "motion kernel: size ", size, " is too small for length ", o.length,
               " at angle ", o.angle_deg, " degrees (the segment reaches ", half_extent,
               " px from the centre, the kernel holds ", room, ")");
  const int64_t n =
      o.length > 0 ? std::max<int64_t>(2, static_cast<int64_t>(std::ceil(o.length * o.samples_per_pixel)) + 1) : 1;
  auto t = n > 1 ? torch::linspace(-0.5 * o.length, 0.5 * o.length, n, f64()) : torch::zeros({1}, f64());
  // Clamp away round-off that could push an end point a hair outside [0, size-1].
  auto px = (c + t * dx).clamp(0, size - 1);
  auto py = (c + t * dy).clamp(0, size - 1);
  auto k = splat_bilinear(px, py, torch::ones({n}, f64()), size);
  return k / k.sum();
}

// ------------------------------------------------------------------------------------------------
// Defocus

void DefocusKernelOptions::validate() const {
  UNROLL_CHECK(finite(radius) && radius > 0, "defocus kernel: radius must be finite and > 0, got ", radius);
  UNROLL_CHECK(size >= 0, "defocus kernel: size must be >= 0 (0 = automatic), got ", size);
  UNROLL_CHECK(supersample >= 1 && supersample <= 256, "defocus kernel: supersample must be in [1, 256], got ",
               supersample);
}

torch::Tensor defocus_kernel(const DefocusKernelOptions& o) {
  o.validate();
  int64_t size = o.size;
  if (size == 0) size = 2 * static_cast<int64_t>(std::ceil(o.radius)) + 1;
  const int64_t c = size / 2;
  const double room = static_cast<double>(std::min(c, size - 1 - c)) + 0.5;
  UNROLL_CHECK(o.radius <= room + 1e-9, "defocus kernel: size ", size, " is too small for radius ", o.radius,
               " (the kernel holds a disk of radius ", room, ")");
  const int64_t s = o.supersample;
  auto sub = (torch::arange(s, f64()) + 0.5) / static_cast<double>(s) - 0.5;  // sub-pixel offsets
  auto [x, y] = centred_grid(size);
  auto sx = x.reshape({size, size, 1, 1}) + sub.reshape({1, 1, 1, s});
  auto sy = y.reshape({size, size, 1, 1}) + sub.reshape({1, 1, s, 1});
  auto inside = ((sx * sx + sy * sy) <= o.radius * o.radius).to(torch::kFloat64);
  auto k = inside.mean({2, 3});
  UNROLL_CHECK(k.sum().item<double>() > 0, "defocus kernel: radius ", o.radius, " covers no sub-sample");
  return k / k.sum();
}

// ------------------------------------------------------------------------------------------------
// Camera shake

void ShakeTrajectoryOptions::validate() const {
  UNROLL_CHECK(steps >= 2, "shake trajectory: steps must be >= 2, got ", steps);
  UNROLL_CHECK(finite(max_length) && max_length > 0, "shake trajectory: max_length must be finite and > 0, got ",
               max_length);
  UNROLL_CHECK(finite(anxiety) && anxiety >= 0, "shake trajectory: anxiety must be finite and >= 0, got ", anxiety);
  UNROLL_CHECK(finite(centripetal) && centripetal <= 1,
               "shake trajectory: centripetal must be <= 1 (negative = random), got ", centripetal);
  UNROLL_CHECK(finite(prob_big_shake) && prob_big_shake <= 1,
               "shake trajectory: prob_big_shake must be <= 1 (negative = random), got ", prob_big_shake);
  UNROLL_CHECK(finite(gaussian_shake), "shake trajectory: gaussian_shake must be finite, got ", gaussian_shake);
  UNROLL_CHECK(!std::isinf(initial_angle_deg), "shake trajectory: initial_angle_deg must be finite or NaN (random)");
}

torch::Tensor shake_trajectory(const ShakeTrajectoryOptions& o, uint64_t seed) {
  o.validate();
  SeededRng rng(seed);
  // Parameters drawn in a fixed order so a given seed always means the same trajectory.
  const double centripetal = o.centripetal >= 0 ? o.centripetal : 0.7 * rng.uniform();
  const double prob_big_shake = o.prob_big_shake >= 0 ? o.prob_big_shake : 0.2 * rng.uniform();
  const double gaussian_shake = o.gaussian_shake >= 0 ? o.gaussian_shake : 10.0 * rng.uniform();
  const double angle = std::isnan(o.initial_angle_deg) ? 360.0 * rng.uniform() : o.initial_angle_deg;

  using C = std::complex<double>;
  const double step = o.max_length / static_cast<double>(o.steps - 1);
  auto traj = torch::empty({o.steps, 2}, f64());
  auto acc = traj.accessor<double, 2>();
  C pos(0, 0);
  C v = std::polar(step, deg2rad(angle));
  acc[0][0] = 0;
  acc[0][1] = 0;
  // Sequential by nature (each velocity depends on the previous one); runs once per kernel, not per pixel.
  for (int64_t t = 0; t + 1 < o.steps; ++t) {
    C jerk(0, 0);
    if (rng.uniform() < prob_big_shake * o.anxiety) {
      // Impulsive jerk: roughly reverse the motion (pi +- 0.5 rad) at twice the speed.
      jerk = 2.0 * v * std::polar(1.0, kPi + (rng.uniform() - 0.5));
    }
    const C shake(rng.normal(), rng.normal());
    const C dv = jerk + o.anxiety * (gaussian_shake * shake - centripetal * pos) * step;
    v += dv;
    const double speed = std::abs(v);
    v = speed > 0 ? v * (step / speed) : std::polar(step, deg2rad(angle));
    pos += v;
    acc[t + 1][0] = pos.real();
    acc[t + 1][1] = pos.imag();
  }
  return traj;
}

torch::Tensor rasterize_trajectory(const torch::Tensor& trajectory, int64_t size, double exposure) {
  UNROLL_CHECK(trajectory.defined() && trajectory.dim() == 2 && trajectory.size(1) == 2 && trajectory.size(0) >= 1,
               "rasterize_trajectory: trajectory must be [P,2] with P >= 1, got ",
               trajectory.defined() ? trajectory.sizes() : torch::IntArrayRef{});
  UNROLL_CHECK(size >= 1, "rasterize_trajectory: size must be >= 1, got ", size);
  UNROLL_CHECK(finite(exposure) && exposure > 0 && exposure <= 1,
               "rasterize_trajectory: exposure must be in (0,1], got ", exposure);
  auto p = trajectory.to(torch::kFloat64).cpu();
  UNROLL_CHECK(torch::isfinite(p).all().item<bool>(), "rasterize_trajectory: trajectory contains NaN or Inf");
  const int64_t keep =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(exposure * static_cast<double>(p.size(0)) - 1e-9)));
  p = p.narrow(0, 0, keep);
  auto dev = p - p.mean(0, true);  // centre of mass at the origin (uniform weight per time sample)
  const int64_t c = size / 2;
  const double room = std::max<double>(0.0, static_cast<double>(std::min(c, size - 1 - c)) - 1.0);
  const double reach = dev.abs().max().item<double>();
  if (reach > room) dev = dev * (room / reach);  // shrink about the centre of mass to fit the margin
  auto px = (dev.select(1, 0) + static_cast<double>(c)).clamp(0, size - 1);
  auto py = (dev.select(1, 1) + static_cast<double>(c)).clamp(0, size - 1);
  auto k = splat_bilinear(px, py, torch::ones({keep}, f64()), size);
  return k / k.sum();
}

torch::Tensor shake_kernel(const ShakeTrajectoryOptions& options, int64_t size, uint64_t seed, double exposure) {
  return rasterize_trajectory(shake_trajectory(options, seed), size, exposure);
}

// ------------------------------------------------------------------------------------------------
// Random mixes

namespace {
const EnumNames<KernelType>& kernel_type_names() {
  static const EnumNames<KernelType> names("kernel type", {{KernelType::Gaussian, "gaussian"},
                                                           {KernelType::Linear, "linear"},
                                                           {KernelType::Motion, "motion"},
                                                           {KernelType::Motion, "shake", true},
                                                           {KernelType::Defocus, "defocus"},
                                                           {KernelType::Defocus, "disk", true},
                                                           {KernelType::Mixed, "mixed"}});
  return names;
}
}  // namespace

KernelType parse_kernel_type(const std::string& name) { return kernel_type_names().parse(name); }

std::string kernel_type_name(KernelType type) { return kernel_type_names().name(type); }

void KernelSpec::validate() const {
  auto range = [](const char* lo_name, double lo, const char* hi_name, double hi, double floor_value, bool strict) {
    UNROLL_CHECK(finite(lo) && (strict ? lo > floor_value : lo >= floor_value), "kernel spec: ", lo_name, " must be ",
                 strict ? "> " : ">= ", floor_value, ", got ", lo);
    UNROLL_CHECK(finite(hi) && hi >= lo, "kernel spec: ", hi_name, " must be >= ", lo_name, " (", lo, "), got ", hi);
  };
  UNROLL_CHECK(size >= 3, "kernel spec: size must be >= 3, got ", size);
  range("sigma_min", sigma_min, "sigma_max", sigma_max, 0.0, false);
  range("length_min", length_min, "length_max", length_max, 0.0, false);
  range("radius_min", radius_min, "radius_max", radius_max, 0.0, true);
  UNROLL_CHECK(finite(anxiety_max) && anxiety_max >= 0, "kernel spec: anxiety_max must be >= 0, got ", anxiety_max);
  UNROLL_CHECK(length_max <= static_cast<double>(size - 2), "kernel spec: length_max ", length_max,
               " does not fit a kernel of size ", size, " (must be <= size - 2 = ", size - 2, ")");
  UNROLL_CHECK(radius_max <= 0.5 * static_cast<double>(size - 2), "kernel spec: radius_max ", radius_max,
               " does not fit a kernel of size ", size, " (must be <= (size - 2)/2 = ", 0.5 * (size - 2), ")");
}

KernelSpec fitted_kernel_spec(KernelType type, int64_t size) {
  UNROLL_CHECK(size >= 3, "kernel spec: size must be >= 3, got ", size);
  KernelSpec s;
  s.type = type;
  s.size = size;
  s.length_max = std::min(s.length_max, static_cast<double>(size - 2));
  s.length_min = std::min(s.length_min, s.length_max);
  s.radius_max = std::min(s.radius_max, (size - 2) / 2.0);
  s.radius_min = std::min(s.radius_min, s.radius_max);
  s.validate();
  return s;
}

torch::Tensor random_kernel(const KernelSpec& spec, uint64_t seed) {
  spec.validate();
  SeededRng rng(seed);
  KernelType type = spec.type;
  if (type == KernelType::Mixed) {
    static constexpr KernelType kChoices[] = {KernelType::Gaussian, KernelType::Linear, KernelType::Motion,
                                              KernelType::Defocus};
    type = kChoices[rng.integer(0, 3)];
  }
  switch (type) {
    case KernelType::Gaussian: {
      GaussianKernelOptions o;
      o.sigma_x = rng.uniform(spec.sigma_min, spec.sigma_max);
      o.sigma_y = rng.uniform(spec.sigma_min, spec.sigma_max);
      o.angle_deg = rng.uniform(0.0, 180.0);
      o.size = spec.size;
      return gaussian_kernel(o);
    }
    case KernelType::Linear: {
      MotionKernelOptions o;
      o.length = rng.uniform(spec.length_min, spec.length_max);
      o.angle_deg = rng.uniform(0.0, 180.0);
      o.size = spec.size;
      return motion_kernel(o);
    }
    case KernelType::Motion: {
      ShakeTrajectoryOptions o;
      o.max_length = std::max(rng.uniform(spec.length_min, spec.length_max), 1e-3);
      o.anxiety = rng.uniform(0.0, spec.anxiety_max);
      return shake_kernel(o, spec.size, rng.next_seed());
    }
    case KernelType::Defocus: {
      DefocusKernelOptions o;
      o.radius = rng.uniform(spec.radius_min, spec.radius_max);
      o.size = spec.size;
      return defocus_kernel(o);
    }
    case KernelType::Mixed:
      break;
  }
  fail("random_kernel: unhandled kernel type");
}

// ------------------------------------------------------------------------------------------------
// Perturbed kernels

namespace {

// `k` [s,s] zero-padded (centred) to [size,size], size >= s, both odd.
torch::Tensor pad_centred(const torch::Tensor& k, int64_t size) {
  const int64_t pad = (size - k.size(0)) / 2;
  return pad > 0 ? torch::constant_pad_nd(k, {pad, pad, pad, pad}, 0.0) : k;
}

}  // namespace

torch::Tensor perturb_kernel(const torch::Tensor& kernel, double level, uint64_t seed) {
  UNROLL_CHECK(std::isfinite(level) && level >= 0 && level <= 1, "perturb_kernel: level must be in [0, 1], got ",
               level);
  UNROLL_CHECK(kernel.dim() == 2 && kernel.size(0) == kernel.size(1) && kernel.size(0) >= 1,
               "perturb_kernel: expected a square [k,k] kernel, got shape ", kernel.sizes());
  auto k = kernel.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  UNROLL_CHECK(torch::isfinite(k).all().item<bool>() && (k >= 0).all().item<bool>() && k.sum().item<double>() > 0,
               "perturb_kernel: the kernel must be finite and non-negative with a positive sum");
  k = k / k.sum();
  if (level == 0) return k;
  if (k.size(0) % 2 == 0) k = torch::constant_pad_nd(k, {0, 1, 0, 1}, 0.0);  // odd, centre kept at k/2
  SeededRng rng(seed);
  const int64_t n = k.size(0);
  const double stretch = 1.0 + level * rng.uniform(-1.0, 1.0);

  // 1. Resample about the centre of mass (cy, cx), which stays where it was relative to the grid centre
  //    (the kernel is not shifted): output tap p sits at input position p - m/2 + n/2 and reads
  //    input (cy, cx) + (that position - (cy, cx)) / s.
  auto grid = torch::arange(n, k.options());
  const double cy = (k.sum(1) * grid).sum().item<double>(), cx = (k.sum(0) * grid).sum().item<double>();
  const int64_t m = std::max<int64_t>(n, (static_cast<int64_t>(std::ceil(stretch * static_cast<double>(n))) + 2) | 1);
  const double offset = static_cast<double>(n / 2 - m / 2);
  auto out = torch::zeros({m, m}, k.options());
  auto src = k.accessor<double, 2>();
  auto dst = out.accessor<double, 2>();
  auto at = [&](int64_t i, int64_t j) { return i >= 0 && j >= 0 && i < n && j < n ? src[i][j] : 0.0; };
  for (int64_t i = 0; i < m; ++i) {
    const double y = cy + (static_cast<double>(i) + offset - cy) / stretch;
    for (int64_t j = 0; j < m; ++j) {
      const double x = cx + (static_cast<double>(j) + offset - cx) / stretch;
      const double fy = std::floor(y), fx = std::floor(x);
      const auto i0 = static_cast<int64_t>(fy), j0 = static_cast<int64_t>(fx);
      const double wy = y - fy, wx = x - fx;
      dst[i][j] = (1 - wy) * ((1 - wx) * at(i0, j0) + wx * at(i0, j0 + 1)) +
                  wy * ((1 - wx) * at(i0 + 1, j0) + wx * at(i0 + 1, j0 + 1));
    }
  }
  UNROLL_CHECK(out.sum().item<double>() > 0, "perturb_kernel: the stretched kernel lost its mass");
  out = out / out.sum();

  // 2. Tap noise on the support dilated by one pixel; 3. clamp and renormalise.
  const double peak = out.max().item<double>();
  auto support = torch::max_pool2d((out > 0).to(torch::kFloat64).unsqueeze(0), {3, 3}, {1, 1}, {1, 1})[0];
  auto noise = torch::empty_like(out);
  auto nz = noise.accessor<double, 2>();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j) nz[i][j] = rng.normal();
  out = torch::clamp_min(out + level * peak * noise * support, 0.0);
  const double total = out.sum().item<double>();
  UNROLL_CHECK(total > 0, "perturb_kernel: no mass left after the tap noise");
  return out / total;
}

double relative_kernel_error(const torch::Tensor& a, const torch::Tensor& b) {
  UNROLL_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(0) == a.size(1) && b.size(0) == b.size(1) &&
                   a.size(0) % 2 == 1 && b.size(0) % 2 == 1,
               "relative_kernel_error: expected odd square kernels, got ", a.sizes(), " and ", b.sizes());
  const int64_t size = std::max(a.size(0), b.size(0));
  auto pa = pad_centred(a.detach().to(torch::kCPU, torch::kFloat64), size);
  auto pb = pad_centred(b.detach().to(torch::kCPU, torch::kFloat64), size);
  const double norm = pb.norm().item<double>();
  UNROLL_CHECK(norm > 0, "relative_kernel_error: the reference kernel is zero");
  return (pa - pb).norm().item<double>() / norm;
}

// ------------------------------------------------------------------------------------------------
// Files

std::vector<std::string> list_kernel_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  UNROLL_CHECK(fs::is_directory(dir, ec), dir, ": kernel folder does not exist or is not a directory");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    auto ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (ext == ".csv" || ext == ".txt") files.push_back(entry.path().string());
  }
  UNROLL_CHECK(!ec, dir, ": cannot list kernel folder: ", ec.message());
  UNROLL_CHECK(!files.empty(), dir, ": no kernel files (*.csv, *.txt) in folder");
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<torch::Tensor> load_kernel_folder(const std::string& dir) {
  std::vector<torch::Tensor> kernels;
  for (const auto& f : list_kernel_files(dir)) kernels.push_back(read_kernel_text(f));
  return kernels;
}

}  // namespace unroll
