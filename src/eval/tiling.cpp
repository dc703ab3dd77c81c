#include "eval/tiling.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "classic/model_error.h"
#include "core/boundary.h"
#include "core/error.h"
#include "core/polar.h"
#include "core/tensor.h"
#include "eval/methods.h"

namespace unroll {
namespace {

// The smallest cell the automatic plan uses: below it the overlap dominates the work.
constexpr int64_t kMinCell = 64;

int64_t kernel_extent(const DeblurRequest& r, int64_t h, int64_t w) {
  if (r.rotation) {
    // The longest arc a pixel travels during the sweep.
    const auto& m = *r.rotation;
    const double arc = farthest_pixel_distance(h, w, m.centre_x, m.centre_y) * std::min(std::abs(m.angle), M_PI);
    return static_cast<int64_t>(std::ceil(std::min(arc, 1e9)));
  }
  if (!r.kernel.defined()) return 16;  // blind networks: their receptive field does the rest
  return std::max(r.kernel.size(-1), r.kernel.size(-2));
}

std::string megabytes(double bytes) {
  std::ostringstream os;
  os.precision(bytes >= 1e9 ? 3 : 4);
  if (bytes >= 1e9)
    os << bytes / 1e9 << " GB";
  else
    os << bytes / 1e6 << " MB";
  return os.str();
}

}  // namespace

void TileOptions::validate() const {
  UNROLL_CHECK(tile == 0 || tile == -1 || tile >= 16, "--tile must be >= 16 pixels (0 = automatic, -1 = never), got ",
               tile);
  UNROLL_CHECK(overlap >= -1, "--tile-overlap must be >= 0 pixels (-1 = automatic), got ", overlap);
  UNROLL_CHECK(std::isfinite(max_memory) && max_memory >= 0, "--max-memory must be >= 0 (0 = half the RAM), got ",
               max_memory);
}

std::vector<int64_t> cell_edges(int64_t length, int64_t n) {
  std::vector<int64_t> e(n + 1);
  for (int64_t i = 0; i <= n; ++i) e[i] = (length * i + n / 2) / n;
  return e;
}

Span widened(const std::vector<int64_t>& edges, int64_t i, int64_t grow, int64_t length) {
  return {std::max<int64_t>(0, edges[i] - grow), std::min<int64_t>(length, edges[i + 1] + grow)};
}

torch::Tensor window_1d(const Span& span, const Span& cell, int64_t length, int64_t band,
                        const torch::TensorOptions& options) {
  std::vector<double> w(span.size(), 0.0);
  const double half = 0.5 * static_cast<double>(band);
  auto fall = [&](double d) {  // d: signed distance past the edge (pixel centres), in [-half, half]
    if (d <= -half) return 1.0;
    if (d >= half) return 0.0;
    return 0.5 * (1.0 - std::sin(M_PI * d / static_cast<double>(band)));
  };
  for (int64_t p = span.begin; p < span.end; ++p) {
    const double c = static_cast<double>(p) + 0.5;
    double v = 1.0;
    if (cell.begin > 0) v *= fall(static_cast<double>(cell.begin) - c);
    if (cell.end < length) v *= fall(c - static_cast<double>(cell.end));
    w[p - span.begin] = v;
  }
  return torch::tensor(w, torch::kFloat64).to(options);
}

std::string TilePlan::describe() const {
  if (!tiled()) return "untiled";
  std::ostringstream os;
  os << row_edges.size() - 1 << "x" << col_edges.size() - 1 << " tiles of about " << row_edges[1] - row_edges[0] << "x"
     << col_edges[1] - col_edges[0] << " (+" << overlap << " overlap; estimate " << megabytes(tile_bytes)
     << " per tile, " << megabytes(whole_bytes) << " whole, budget " << megabytes(budget) << ")";
  return os.str();
}

double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 8e9;
}

double estimate_memory(const Method& m, bool own_weights, int64_t n, int64_t c, int64_t h, int64_t w) {
  // Classical solvers work per channel; the networks see three channels whatever the input. Weights
  // other than the shipped ones may be a full-size network (DRUNet / USRNet: 4x the shipped widths).
  const double channels = m.kind == MethodKind::Classical ? static_cast<double>(c) / 3.0 : 1.0;
  const double widths = own_weights && !m.shipped_model.empty() ? 4.0 : 1.0;
  return m.memory_base + widths * m.bytes_per_pixel * channels * static_cast<double>(n) * static_cast<double>(h) *
                             static_cast<double>(w);
}

TilePlan plan_tiles(const Method& m, const DeblurRequest& r) {
  const TileOptions& o = r.tiles;
  o.validate();
  const auto y = as_image_batch(r.blurred);
  const int64_t n = y.size(0), c = y.size(1), h = y.size(2), w = y.size(3);
  TilePlan plan;
  plan.budget = o.max_memory > 0 ? o.max_memory : 0.5 * physical_memory_bytes();
  const bool own_weights = !r.weights.empty();
  plan.whole_bytes = plan.tile_bytes = estimate_memory(m, own_weights, n, c, h, w);
  plan.row_edges = {0, h};
  plan.col_edges = {0, w};
  if (o.tile < 0 || (o.tile == 0 && plan.whole_bytes <= plan.budget)) return plan;
  // While tiles run, the whole image is held three times besides them (the input, the weighted sum of
  // the tiles and their weights): that much of the budget is not the tiles'.
  const double tile_budget = plan.budget - 3.0 * static_cast<double>(n * c * h * w) * y.element_size();
  const int64_t k = kernel_extent(r, h, w);
  plan.overlap = o.overlap >= 0 ? o.overlap : 4 * k + 48;
  plan.band = std::max<int64_t>(1, std::min(plan.overlap, std::max<int64_t>(16, k)));
  auto tile_cost = [&](int64_t cell) {
    return estimate_memory(m, own_weights, n, c, std::min(h, cell + 2 * plan.overlap), std::min(w, cell + 2 * plan.overlap));
  };
  int64_t cell = o.tile;
  if (cell == 0) {
    UNROLL_CHECK(tile_cost(kMinCell) <= tile_budget, m.name, ": a ", h, "x", w, " image needs about ",
                 megabytes(plan.whole_bytes), " (", megabytes(m.memory_base), " of it the program and its libraries)",
                 ", and even ", kMinCell, "-pixel tiles (+", plan.overlap,
                 " overlap) need ", megabytes(tile_cost(kMinCell)), " besides the whole image's buffers, more than the budget of ",
                 megabytes(plan.budget), " (--max-memory)");
    int64_t lo = kMinCell, hi = std::max(h, w);  // the largest cell within the budget
    while (lo < hi) {
      const int64_t mid = (lo + hi + 1) / 2;
      if (tile_cost(mid) <= tile_budget)
        lo = mid;
      else
        hi = mid - 1;
    }
    cell = lo;
  }
  const int64_t rows = (h + cell - 1) / cell, cols = (w + cell - 1) / cell;
  plan.row_edges = cell_edges(h, rows);
  plan.col_edges = cell_edges(w, cols);
  plan.tile_bytes = tile_cost(std::max(plan.row_edges[1] - plan.row_edges[0], plan.col_edges[1] - plan.col_edges[0]));
  return plan;
}

SolverResult run_tiled(const Method& m, const DeblurRequest& given, const MethodArgs& args, const TilePlan& plan) {
  UNROLL_CHECK(plan.tiled(), "run_tiled: the plan has one tile");
  DeblurRequest request = given;
  request.sigma = effective_sigma(given);  // one noise level for every tile
  // One model error for every tile (the learned methods' model_noise and hedge), measured on the whole
  // image as an untiled run would: tiles measured apart would be told different levels.
  const bool measures =
      std::any_of(m.params.begin(), m.params.end(), [](const ParamInfo& p) { return p.name == "hedge"; });
  if (measures && !request.model_error && !request.rotation && request.kernel.defined()) {
    request.model_error =
        measure_model_error(request.blurred, request.kernel, pixel_noise_sigma(request), request.boundary);
    request.model_error->fit = torch::Tensor();
  }
  auto y = as_image_batch(request.blurred);
  const int64_t h = y.size(2), w = y.size(3), o = plan.overlap;
  // A circular image is cut with wrap-around: pad it periodically by the overlap, so that the tiles at
  // the image edge see their true neighbours, and solve each tile with a non-periodic boundary.
  const bool circular = !request.rotation && request.boundary == Boundary::Circular;
  int64_t shift = 0;
  if (circular) {
    y = torch::nn::functional::pad(y, torch::nn::functional::PadFuncOptions({o, o, o, o}).mode(torch::kCircular));
    shift = o;
  }
  const int64_t eh = y.size(2), ew = y.size(3);
  std::vector<int64_t> rows = plan.row_edges, cols = plan.col_edges;
  for (auto& e : rows) e += shift;
  for (auto& e : cols) e += shift;
  if (circular) {
    rows.front() = 0, rows.back() = eh;  // the outer cells own the padding (cropped off at the end)
    cols.front() = 0, cols.back() = ew;
  }
  auto sum = torch::zeros_like(y);
  auto weight = torch::zeros({1, 1, eh, ew}, y.options());
  SolverResult total;
  const int64_t nr = static_cast<int64_t>(rows.size()) - 1, nc = static_cast<int64_t>(cols.size()) - 1;
  for (int64_t i = 0; i < nr; ++i) {
    for (int64_t j = 0; j < nc; ++j) {
      const Span cell_r{rows[i], rows[i + 1]}, cell_c{cols[j], cols[j + 1]};
      const Span rs = widened(rows, i, o, eh), cs = widened(cols, j, o, ew);
      DeblurRequest tile = request;
      tile.blurred = y.narrow(2, rs.begin, rs.size()).narrow(3, cs.begin, cs.size()).contiguous();
      tile.tiles.tile = -1;
      tile.progress = nullptr;
      if (circular) tile.boundary = Boundary::LiuJia;
      if (tile.rotation) {
        tile.rotation->centre_x -= static_cast<double>(cs.begin);
        tile.rotation->centre_y -= static_cast<double>(rs.begin);
      }
      SolverResult res = m.run(tile, args);
      auto wr = window_1d(rs, cell_r, eh, plan.band, y.options()).view({1, 1, -1, 1});
      auto wc = window_1d(cs, cell_c, ew, plan.band, y.options()).view({1, 1, 1, -1});
      auto wt = wr * wc;
      sum.narrow(2, rs.begin, rs.size()).narrow(3, cs.begin, cs.size()).add_(as_image_batch(res.image).to(y.dtype()) * wt);
      weight.narrow(2, rs.begin, rs.size()).narrow(3, cs.begin, cs.size()).add_(wt);
      total.iterations = std::max(total.iterations, res.iterations);
      total.stop_reason = res.stop_reason;
      if (given.progress) given.progress(static_cast<int>(i * nc + j + 1), static_cast<int>(nr * nc));
    }
  }
  auto x = sum / weight;
  if (circular) x = x.narrow(2, shift, h).narrow(3, shift, w);
  total.image = x.contiguous();
  if (given.blurred.dim() == 3) total.image = total.image.squeeze(0);
  if (given.blurred.dim() == 2) total.image = total.image.squeeze(0).squeeze(0);
  total.message = plan.describe();
  return total;
}

}  // namespace unroll
