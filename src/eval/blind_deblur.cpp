#include "eval/blind_deblur.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/enum_names.h"
#include "core/error.h"
#include "core/noise.h"
#include "core/progress.h"
#include "core/tensor.h"
#include "datasets/kernels.h"
#include "eval/tiling.h"

namespace unroll {
namespace {

const EnumNames<KernelSource>& kernel_source_names() {
  static const EnumNames<KernelSource> names("kernel source", {{KernelSource::Given, "given"},
                                                               {KernelSource::Estimate, "estimate"},
                                                               {KernelSource::EstimateLocal, "estimate-local"},
                                                               {KernelSource::Perturbed, "perturbed"}});
  return names;
}

torch::Tensor luminance(const torch::Tensor& y) {
  if (y.size(1) == 1) return y;
  UNROLL_CHECK(y.size(1) == 3, "estimate kernel: images must have 1 or 3 channels, got ", y.size(1));
  return 0.299 * y.narrow(1, 0, 1) + 0.587 * y.narrow(1, 1, 1) + 0.114 * y.narrow(1, 2, 1);
}

/// Fraction of pixels whose gradient magnitude exceeds max(0.02, 4 sigma): the edge density the
/// estimator needs (blind/estimate_kernel.h uses the same threshold for its flat-image test).
double edge_density(const torch::Tensor& lum, double sigma) {
  auto gx = lum.narrow(3, 1, lum.size(3) - 1) - lum.narrow(3, 0, lum.size(3) - 1);
  auto gy = lum.narrow(2, 1, lum.size(2) - 1) - lum.narrow(2, 0, lum.size(2) - 1);
  auto mag = (gx.narrow(2, 0, gy.size(2)).square() + gy.narrow(3, 0, gx.size(3)).square()).sqrt();
  return (mag > std::max(0.02, 4.0 * sigma)).to(torch::kFloat64).mean().item<double>();
}

}  // namespace

KernelSource parse_kernel_source(const std::string& name) { return kernel_source_names().parse(name); }
std::string kernel_source_name(KernelSource source) { return kernel_source_names().name(source); }

void LocalKernelOptions::validate(int64_t height, int64_t width, int64_t kernel_size) const {
  UNROLL_CHECK(rows >= 1 && cols >= 1, "local kernels: the grid needs at least 1x1 tiles, got ", rows, "x", cols);
  UNROLL_CHECK(std::isfinite(overlap) && overlap >= 0 && overlap <= 2, "local kernels: overlap must be in [0, 2], got ",
               overlap);
  UNROLL_CHECK(std::isfinite(min_edge_ratio) && min_edge_ratio >= 0 && min_edge_ratio <= 1,
               "local kernels: min_edge_ratio must be in [0, 1], got ", min_edge_ratio);
  const int64_t cell_h = height / rows, cell_w = width / cols;
  const int64_t need = std::max<int64_t>(32, 2 * kernel_size);
  UNROLL_CHECK(cell_h >= need && cell_w >= need, "local kernels: a ", rows, "x", cols, " grid is too fine for a ",
               width, "x", height, " image (cells of ", cell_w, "x", cell_h, " px; each needs at least ", need,
               " px a side for ", kernel_size, "x", kernel_size, " kernels); use a coarser --grid, at most ",
               std::max<int64_t>(1, height / need), "x", std::max<int64_t>(1, width / need));
}

std::pair<int64_t, int64_t> parse_grid(const std::string& text, const std::string& what) {
  const auto x = text.find_first_of("xX");
  int64_t r = 0, c = 0;
  bool ok = x != std::string::npos && x > 0 && x + 1 < text.size();
  if (ok) {
    try {
      size_t used_r = 0, used_c = 0;
      r = std::stoll(text.substr(0, x), &used_r);
      c = std::stoll(text.substr(x + 1), &used_c);
      ok = used_r == x && used_c == text.size() - x - 1;
    } catch (const std::exception&) {
      ok = false;
    }
  }
  UNROLL_CHECK(ok && r >= 1 && c >= 1 && r <= 64 && c <= 64, what, " expects ROWSxCOLS (e.g. 3x4, at most 64x64), got '",
               text, "'");
  return {r, c};
}

EstimatedKernels estimate_kernels(const torch::Tensor& blurred, KernelSource source, const BlindEstimateOptions& options,
                                  const LocalKernelOptions& local) {
  UNROLL_CHECK(source == KernelSource::Estimate || source == KernelSource::EstimateLocal,
               "estimate_kernels: nothing to estimate for a ", kernel_source_name(source), " kernel");
  const auto t0 = std::chrono::steady_clock::now();
  const auto y = as_image_batch(blurred);
  UNROLL_CHECK(y.size(0) == 1, "estimate kernel: one image at a time, got a batch of ", y.size(0));
  EstimatedKernels out;
  out.source = source;
  out.whole = estimate_kernel(y, options);
  out.kernel = out.whole.kernel;
  if (!out.whole.warning.empty()) out.warnings.push_back(out.whole.warning);
  if (source == KernelSource::EstimateLocal) {
    const int64_t h = y.size(2), w = y.size(3), k = out.whole.kernel_size;
    local.validate(h, w, k);
    KernelGrid g;
    g.rows = local.rows;
    g.cols = local.cols;
    g.row_edges = cell_edges(h, g.rows);
    g.col_edges = cell_edges(w, g.cols);
    const int64_t n = g.rows * g.cols;
    BlindEstimateOptions tile_options = options;
    tile_options.kernel_size = k;  // one size for the grid: the whole image's
    tile_options.noise_sigma = out.whole.noise_sigma;
    const auto lum = luminance(y.to(torch::kFloat64));
    std::vector<double> density(n);
    std::vector<std::pair<Span, Span>> regions(n);
    for (int64_t i = 0; i < g.rows; ++i) {
      for (int64_t j = 0; j < g.cols; ++j) {
        const int64_t grow_h = static_cast<int64_t>(local.overlap * (g.row_edges[i + 1] - g.row_edges[i]));
        const int64_t grow_w = static_cast<int64_t>(local.overlap * (g.col_edges[j + 1] - g.col_edges[j]));
        const Span rs = widened(g.row_edges, i, grow_h, h), cs = widened(g.col_edges, j, grow_w, w);
        regions[i * g.cols + j] = {rs, cs};
        density[i * g.cols + j] =
            edge_density(lum.narrow(2, rs.begin, rs.size()).narrow(3, cs.begin, cs.size()), out.whole.noise_sigma);
      }
    }
    std::vector<double> sorted = density;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[n / 2];
    std::vector<torch::Tensor> kernels(n);
    g.borrowed.assign(n, false);
    for (int64_t t = 0; t < n; ++t) {
      const auto& [rs, cs] = regions[t];
      if (density[t] < local.min_edge_ratio * median || density[t] <= 0) {
        g.borrowed[t] = true;
        continue;
      }
      const BlindEstimate e = estimate_kernel(y.narrow(2, rs.begin, rs.size()).narrow(3, cs.begin, cs.size()), tile_options);
      if (!e.warning.empty()) {
        g.borrowed[t] = true;
        continue;
      }
      kernels[t] = e.kernel;
    }
    // Borrowed tiles: the mean of the estimated 4-neighbours, else of every estimated tile, else the
    // whole image's kernel.
    std::vector<torch::Tensor> estimated;
    for (int64_t t = 0; t < n; ++t)
      if (!g.borrowed[t]) estimated.push_back(kernels[t]);
    for (int64_t t = 0; t < n; ++t) {
      if (!g.borrowed[t]) continue;
      const int64_t i = t / g.cols, j = t % g.cols;
      std::vector<torch::Tensor> near;
      for (auto [di, dj] : {std::pair{-1, 0}, {1, 0}, {0, -1}, {0, 1}}) {
        const int64_t a = i + di, b = j + dj;
        if (a >= 0 && a < g.rows && b >= 0 && b < g.cols && !g.borrowed[a * g.cols + b]) near.push_back(kernels[a * g.cols + b]);
      }
      if (near.empty()) near = estimated;
      kernels[t] = near.empty() ? out.kernel : torch::stack(near).mean(0);
      kernels[t] = kernels[t] / kernels[t].sum();
    }
    int64_t borrowed = std::count(g.borrowed.begin(), g.borrowed.end(), true);
    if (borrowed == n)
      out.warnings.push_back("local kernels: no tile has enough edges; every tile uses the whole image's kernel");
    g.kernels = torch::stack(kernels).unsqueeze(1);
    out.grid = std::move(g);
  }
  out.seconds = seconds_since(t0);
  return out;
}

EstimatedKernels perturbed_kernels(const torch::Tensor& blurred, const torch::Tensor& true_kernel, double level,
                                   uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto y = as_image_batch(blurred);
  EstimatedKernels out;
  out.source = KernelSource::Perturbed;
  out.kernel = perturb_kernel(true_kernel, level, seed).to(y.options());
  out.whole.kernel = out.kernel;
  out.whole.kernel_size = out.kernel.size(0);
  out.whole.noise_sigma = estimate_noise_sigma(luminance(y)).item<double>();
  out.whole.noise_estimated = true;
  out.seconds = seconds_since(t0);
  return out;
}

EstimatedKernels refine_kernels(const torch::Tensor& blurred, const torch::Tensor& kernel, KernelSource source,
                                int iterations, const BlindEstimateOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto y = as_image_batch(blurred);
  UNROLL_CHECK(y.size(0) == 1, "refine kernel: one image at a time, got a batch of ", y.size(0));
  EstimatedKernels out;
  out.source = source;
  out.whole = refine_kernel(y, kernel, options, iterations);
  out.kernel = out.whole.kernel;
  if (!out.whole.warning.empty()) out.warnings.push_back(out.whole.warning);
  out.seconds = seconds_since(t0);
  return out;
}

double estimated_kernel_sigma(const DeblurRequest& request, const EstimatedKernels& kernels) {
  if (request.sigma >= 0) return request.sigma;
  return std::max(kernels.whole.noise_sigma, kEstimatedKernelSigmaFloor);
}

SolverResult deblur_with_kernels(const std::string& method, const DeblurRequest& given, const MethodParams& params,
                                 const EstimatedKernels& kernels) {
  DeblurRequest request = given;
  request.sigma = estimated_kernel_sigma(given, kernels);
  if (given.sigma < 0 && request.sigma > kernels.whole.noise_sigma) request.pixel_sigma = kernels.whole.noise_sigma;
  request.kernel_estimated = kernels.source == KernelSource::Estimate || kernels.source == KernelSource::EstimateLocal;
  DeblurRequest r = request;
  if (!kernels.grid) {
    r.kernel = kernels.kernel.to(r.blurred.options());
    return run_method(method, r, params);
  }
  const KernelGrid& g = *kernels.grid;
  const auto y = as_image_batch(request.blurred);
  const int64_t h = y.size(2), w = y.size(3), k = g.kernels.size(2);
  auto sum = torch::zeros_like(y);
  auto weight = torch::zeros({1, 1, h, w}, y.options());
  SolverResult total;
  total.iterations = 0;
  for (int64_t i = 0; i < g.rows; ++i) {
    for (int64_t j = 0; j < g.cols; ++j) {
      const Span cell_r{g.row_edges[i], g.row_edges[i + 1]}, cell_c{g.col_edges[j], g.col_edges[j + 1]};
      // The blend band is one kernel wide, centred on the cell edges; each tile is widened past its
      // half of the band by one more kernel size, so that its own boundary handling stays outside the
      // pixels it contributes. Kept narrow on purpose: where blur changes abruptly (a moving object),
      // a tile's result on its neighbour's side is deconvolved with the wrong kernel, and a motion
      // kernel's spectral zeros turn that mismatch into ringing.
      const int64_t band = k, grow_h = k / 2 + 1 + k, grow_w = grow_h;
      const Span rs = widened(g.row_edges, i, grow_h, h), cs = widened(g.col_edges, j, grow_w, w);
      DeblurRequest tile = request;
      tile.blurred = y.narrow(2, rs.begin, rs.size()).narrow(3, cs.begin, cs.size()).contiguous();
      tile.kernel = g.kernels[i * g.cols + j][0].to(y.options());
      tile.progress = nullptr;
      SolverResult res = run_method(method, tile, params);
      auto wr = window_1d(rs, cell_r, h, band, y.options()).view({1, 1, -1, 1});
      auto wc = window_1d(cs, cell_c, w, band, y.options()).view({1, 1, 1, -1});
      auto wt = wr * wc;
      sum.narrow(2, rs.begin, rs.size()).narrow(3, cs.begin, cs.size()).add_(as_image_batch(res.image) * wt);
      weight.narrow(2, rs.begin, rs.size()).narrow(3, cs.begin, cs.size()).add_(wt);
      total.iterations = std::max(total.iterations, res.iterations);
      total.stop_reason = res.stop_reason;
      if (request.progress) request.progress(static_cast<int>(i * g.cols + j + 1), static_cast<int>(g.rows * g.cols));
    }
  }
  total.image = sum / weight;
  if (request.blurred.dim() == 3) total.image = total.image.squeeze(0);
  if (request.blurred.dim() == 2) total.image = total.image.squeeze(0).squeeze(0);
  total.message = std::to_string(g.rows) + "x" + std::to_string(g.cols) + " tiles";
  return total;
}

torch::Tensor draw_kernel_grid(const torch::Tensor& image, const KernelGrid& g) {
  auto img = as_image_batch(image).detach().to(torch::kCPU, torch::kFloat32);
  if (img.size(1) == 1) img = img.expand({1, 3, img.size(2), img.size(3)});
  img = (img.narrow(1, 0, 3) * 0.6).contiguous();  // dimmed, so the kernels stand out
  const int64_t k = g.kernels.size(2);
  auto kernels = g.kernels.detach().to(torch::kCPU, torch::kFloat32);
  for (int64_t i = 0; i < g.rows; ++i) {
    for (int64_t j = 0; j < g.cols; ++j) {
      const int64_t top = g.row_edges[i], bottom = g.row_edges[i + 1], left = g.col_edges[j], right = g.col_edges[j + 1];
      // cell borders, green
      img.index_put_({0, 1, top, torch::indexing::Slice(left, right)}, 1.0f);
      img.index_put_({0, 1, torch::indexing::Slice(top, bottom), left}, 1.0f);
      const int64_t side = std::min(bottom - top, right - left);
      const int64_t f = std::max<int64_t>(1, (side * 2 / 3) / k);
      auto kk = kernels[i * g.cols + j][0];
      kk = kk / kk.max().clamp_min(1e-12);
      auto big = kk.repeat_interleave(f, 0).repeat_interleave(f, 1);
      const int64_t s = std::min<int64_t>(big.size(0), side - 2);
      if (s <= 0) continue;
      big = big.narrow(0, 0, s).narrow(1, 0, s);
      const int64_t r0 = top + (bottom - top - s) / 2, c0 = left + (right - left - s) / 2;
      auto patch = img.narrow(2, r0, s).narrow(3, c0, s);
      patch.copy_(big.view({1, 1, s, s}).expand({1, 3, s, s}));
      if (g.borrowed[i * g.cols + j]) {  // borrowed kernels outlined in red
        img.index_put_({0, 0, r0, torch::indexing::Slice(c0, c0 + s)}, 1.0f);
        img.index_put_({0, 0, r0 + s - 1, torch::indexing::Slice(c0, c0 + s)}, 1.0f);
        img.index_put_({0, 0, torch::indexing::Slice(r0, r0 + s), c0}, 1.0f);
        img.index_put_({0, 0, torch::indexing::Slice(r0, r0 + s), c0 + s - 1}, 1.0f);
      }
    }
  }
  return img;
}

}  // namespace unroll
