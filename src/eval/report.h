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

/// One line of a plot: a value per x position (NaN = no point there).
struct PlotSeries {
  std::string name;
  std::vector<double> values;
};

/// A line plot with markers, drawn with OpenCV and written atomically as an 8-bit PNG: categorical x
/// positions labelled `x_labels` (e.g. experiment variants), one coloured polyline per series with
/// its values printed beside the markers, a legend, a y axis with "nice" ticks fitted to the finite
/// values, and the title on top. Throws when there is no finite value or a series' length differs
/// from the labels'.
void write_line_plot(const std::string& path, const std::string& title, const std::string& y_label,
                     const std::vector<std::string>& x_labels, const std::vector<PlotSeries>& series);

/// A Markdown table: header row, separator, rows (cells already formatted).
std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

/// printf-style formatting of a double with `decimals` places ("inf" for infinities).
std::string fixed(double value, int decimals);

}  // namespace unroll
