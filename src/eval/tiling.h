// Tiled deblurring: any method on any image size within a memory budget (issue 28).
//
// run_method() (eval/methods.h) consults plan_tiles() for every request. When the method's memory
// estimate for the whole image exceeds the budget (DeblurRequest::tiles.max_memory, default half the
// machine's RAM), or when a tile size is asked for, the image is cut into a grid of cells; each cell
// is widened by `overlap` pixels on every side (the tile), the method runs on each tile on its own,
// and the tiles are blended with raised-cosine weights across a band centred on each shared cell
// edge (the same blend as the local blind mode, eval/blind_deblur.h). A tile's own boundary handling
// therefore stays in the part of its overlap that is thrown away.
//
//  * Uniform blur: the overlap is automatic from the kernel (4 kernel sizes + 48 pixels). Images
//    with a circular boundary (synthetic) are cut with wrap-around, so the tiles at the image edge
//    see their true periodic neighbours; each tile is then solved with the Liu-Jia boundary.
//  * Rotational blur: each tile keeps the rotation centre in image coordinates (shifted into the
//    tile's); the overlap covers the longest arc a pixel travels during the sweep.
//  * One noise level serves every tile: the given one, else the estimate of the whole image (so a
//    dark tile does not get its own, different regularisation).
//
// Memory estimates are per method (Method::memory_base + bytes_per_pixel x pixels: peak resident
// memory measured on RGB images by bench/measure_memory.sh, recorded in method_table.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace unroll {

struct Method;
struct DeblurRequest;
struct SolverResult;
class MethodArgs;

struct TileOptions {
  /// Cell side in pixels: 0 = automatic (tile only when the memory estimate exceeds max_memory),
  /// > 0 = cells of about this size, < 0 = never tile.
  int64_t tile = 0;
  int64_t overlap = -1;      ///< pixels each tile extends past its cell on every side; -1 = automatic
  double max_memory = 0;     ///< bytes one run may use; 0 = half the machine's physical memory
  void validate() const;     ///< throws unroll::Error naming the bad field
};

/// A half-open pixel range [begin, end).
struct Span {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

/// `n` cells over `length` pixels, as even as integers allow: edges e[0] = 0 < ... < e[n] = length.
std::vector<int64_t> cell_edges(int64_t length, int64_t n);

/// Cell i of `edges`, widened by `grow` pixels each side and clipped to [0, length).
Span widened(const std::vector<int64_t>& edges, int64_t i, int64_t grow, int64_t length);

/// 1-D blending weight over `span` for the tile whose cell is `cell` (of an image `length` long): 1
/// inside the cell, a raised cosine across a band of `band` pixels centred on each cell edge shared
/// with a neighbour (1 at edge - band/2, 0 at edge + band/2), 0 beyond. Neighbouring tiles' weights
/// are mirror images across their shared edge, so they sum to 1 everywhere.
torch::Tensor window_1d(const Span& span, const Span& cell, int64_t length, int64_t band,
                        const torch::TensorOptions& options);

struct TilePlan {
  std::vector<int64_t> row_edges, col_edges;  ///< the cells (one cell each way = not tiled)
  int64_t overlap = 0;                        ///< pixels each tile extends past its cell
  int64_t band = 0;                           ///< width of the blend band at each shared edge
  double whole_bytes = 0;                     ///< the method's memory estimate for the whole image
  double tile_bytes = 0;                      ///< the estimate for the largest tile
  double budget = 0;                          ///< the budget the plan was made for, bytes
  bool tiled() const { return row_edges.size() > 2 || col_edges.size() > 2; }
  std::string describe() const;               ///< "3x4 tiles of 1024x1024 (+64 overlap)" or "untiled"
};

/// The machine's physical memory, bytes.
double physical_memory_bytes();

/// The method's memory estimate for `n` images of `c` channels and h x w pixels, bytes; `own_weights`:
/// a checkpoint from --weights instead of the shipped model.
double estimate_memory(const Method& method, bool own_weights, int64_t n, int64_t c, int64_t h, int64_t w);

/// The plan for `request` (see the header comment). Throws unroll::Error when even the smallest tile
/// exceeds the budget, or when the options are invalid.
TilePlan plan_tiles(const Method& method, const DeblurRequest& request);

/// Runs `method` tile by tile according to `plan` (which must be tiled) and blends the results.
SolverResult run_tiled(const Method& method, const DeblurRequest& request, const MethodArgs& args, const TilePlan& plan);

}  // namespace unroll
