// Report building blocks: labelled comparison grids (PNG) and Markdown tables.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace unroll {

struct LabelledImage {
  torch::Tensor image;  ///< [1,C,H,W] or [C,H,W] in [0,1]; grey images are shown as grey RGB
  std::string label;    ///< drawn under the image, e.g. "admm 29.41 dB"
};

/// Lays images out left to right in rows of `columns` tiles, each with its label underneath, and
/// writes an 8-bit PNG atomically. Tiles are padded to the largest tile size.
void write_comparison_grid(const std::string& path, const std::vector<LabelledImage>& tiles, int columns = 0);

/// A Markdown table: header row, separator, rows (cells already formatted).
std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

/// printf-style formatting of a double with `decimals` places ("inf" for infinities).
std::string fixed(double value, int decimals);

}  // namespace unroll
