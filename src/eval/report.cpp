#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.h"

#include "core/error.h"
#include "core/tensor.h"
#include "io/image_io.h"

namespace unroll {

std::string fixed(double value, int decimals) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (std::isnan(value)) return "nan";
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(decimals);
  os << value;
  return os.str();
}

std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream os;
  auto line = [&](const std::vector<std::string>& cells) {
    os << "|";
    for (const auto& c : cells) os << " " << c << " |";
    os << "\n";
  };
  line(header);
  os << "|";
  for (size_t i = 0; i < header.size(); ++i) os << (i == 0 ? "---|" : "---:|");
  os << "\n";
  for (const auto& r : rows) line(r);
  return os.str();
}

void write_comparison_grid(const std::string& path, const std::vector<LabelledImage>& tiles, int columns) {
  UNROLL_CHECK(!tiles.empty(), path, ": no images for the comparison grid");
  const int n = static_cast<int>(tiles.size());
  const int cols = columns > 0 ? std::min(columns, n) : n;
  const int rows = (n + cols - 1) / cols;
  int64_t th = 0, tw = 0;
  for (const auto& t : tiles) {
    auto x = as_image_batch(t.image);
    th = std::max(th, x.size(2));
    tw = std::max(tw, x.size(3));
  }
  const int label_h = 26, gap = 4;
  const int gh = static_cast<int>(rows * (th + label_h + gap) + gap);
  const int gw = static_cast<int>(cols * (tw + gap) + gap);
  auto canvas = torch::ones({1, 3, gh, gw}, torch::kFloat32);
  for (int i = 0; i < n; ++i) {
    auto x = as_image_batch(tiles[i].image).detach().to(torch::kFloat32).cpu().clamp(0.0, 1.0);
    if (x.size(1) == 1) x = x.expand({1, 3, x.size(2), x.size(3)});
    const int64_t top = gap + (i / cols) * (th + label_h + gap), left = gap + (i % cols) * (tw + gap);
    canvas.narrow(2, top, x.size(2)).narrow(3, left, x.size(3)).copy_(x[0].narrow(0, 0, 3).unsqueeze(0));
  }
  // Draw the labels with OpenCV on an 8-bit copy.
  auto hwc = (canvas[0].permute({1, 2, 0}) * 255.0).round().to(torch::kUInt8).contiguous();
  cv::Mat img(gh, gw, CV_8UC3, hwc.data_ptr());
  for (int i = 0; i < n; ++i) {
    const int top = static_cast<int>(gap + (i / cols) * (th + label_h + gap) + th);
    const int left = static_cast<int>(gap + (i % cols) * (tw + gap));
    double scale = 0.5;
    int baseline = 0;
    cv::Size size = cv::getTextSize(tiles[i].label, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
    while (size.width > tw - 4 && scale > 0.25) {
      scale -= 0.05;
      size = cv::getTextSize(tiles[i].label, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
    }
    cv::putText(img, tiles[i].label, cv::Point(left + 2, top + 18), cv::FONT_HERSHEY_SIMPLEX, scale,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  auto back = torch::from_blob(img.data, {gh, gw, 3}, torch::kUInt8).to(torch::kFloat32).div(255.0);
  write_image(path, back.permute({2, 0, 1}).unsqueeze(0), 8);
}

namespace {

// Text of at most `max_width` pixels: the font shrinks down to 0.3, then the text is cut with "..".
double fit_text(const std::string& text, int max_width, double scale) {
  int baseline = 0;
  while (scale > 0.3 && cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline).width > max_width)
    scale -= 0.05;
  return scale;
}

void put_centred(cv::Mat& img, const std::string& text, cv::Point centre, double scale, const cv::Scalar& colour) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
  cv::putText(img, text, cv::Point(centre.x - size.width / 2, centre.y + size.height / 2), cv::FONT_HERSHEY_SIMPLEX,
              scale, colour, 1, cv::LINE_AA);
}

}  // namespace

void write_line_plot(const std::string& path, const std::string& title, const std::string& y_label,
                     const std::vector<std::string>& x_labels, const std::vector<PlotSeries>& series) {
  UNROLL_CHECK(!x_labels.empty(), path, ": a plot needs at least one x position");
  UNROLL_CHECK(!series.empty(), path, ": a plot needs at least one series");
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : series) {
    UNROLL_CHECK(s.values.size() == x_labels.size(), path, ": series '", s.name, "' has ", s.values.size(),
                 " values for ", x_labels.size(), " x positions");
    for (double v : s.values) {
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  UNROLL_CHECK(std::isfinite(lo), path, ": nothing to plot (no finite value)");
  // Nice ticks: a step of 1, 2 or 5 x 10^k giving about five intervals.
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  // A margin so that no marker (or its value) sits on the frame.
  const double margin = 0.08 * (hi - lo);
  lo -= margin;
  hi += margin;
  const double raw = (hi - lo) / 5.0, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  const double y0 = std::floor(lo / step) * step, y1 = std::ceil(hi / step) * step;
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step))));

  const int n = static_cast<int>(x_labels.size());
  const int left = 80, right = 30, top = 56 + 20 * static_cast<int>((series.size() + 2) / 3), bottom = 80;
  const int slot = std::max(90, 560 / n);
  const int width = left + right + slot * n, height = top + bottom + 340;
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Scalar black(0, 0, 0), grid(225, 225, 225);
  auto y_of = [&](double v) { return static_cast<int>(std::lround(top + (y1 - v) / (y1 - y0) * (height - top - bottom))); };
  auto x_of = [&](int i) { return left + slot * i + slot / 2; };

  put_centred(img, title, cv::Point(width / 2, 16), fit_text(title, width - 20, 0.6), black);
  for (double v = y0; v <= y1 + step * 1e-6; v += step) {
    const int y = y_of(v);
    cv::line(img, cv::Point(left, y), cv::Point(width - right, y), grid, 1);
    const std::string t = fixed(v, decimals);
    int baseline = 0;
    const cv::Size size = cv::getTextSize(t, cv::FONT_HERSHEY_SIMPLEX, 0.42, 1, &baseline);
    cv::putText(img, t, cv::Point(left - 8 - size.width, y + size.height / 2), cv::FONT_HERSHEY_SIMPLEX, 0.42, black, 1,
                cv::LINE_AA);
  }
  cv::line(img, cv::Point(left, top), cv::Point(left, height - bottom), black, 1);
  cv::line(img, cv::Point(left, height - bottom), cv::Point(width - right, height - bottom), black, 1);
  {
    // y label, written vertically by rotating a rendered strip.
    const double scale = fit_text(y_label, height - top - bottom, 0.45);
    int baseline = 0;
    const cv::Size size = cv::getTextSize(y_label, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
    cv::Mat strip(size.height + baseline + 4, size.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(strip, y_label, cv::Point(2, size.height + 2), cv::FONT_HERSHEY_SIMPLEX, scale, black, 1, cv::LINE_AA);
    cv::Mat rotated;
    cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int y = std::max(0, (top + height - bottom) / 2 - rotated.rows / 2);
    if (y + rotated.rows <= height && 4 + rotated.cols <= left) rotated.copyTo(img(cv::Rect(4, y, rotated.cols, rotated.rows)));
  }
  for (int i = 0; i < n; ++i) {
    cv::line(img, cv::Point(x_of(i), height - bottom), cv::Point(x_of(i), height - bottom + 5), black, 1);
    // Long labels wrap onto a second line at the space nearest the middle before the font shrinks.
    std::vector<std::string> lines = {x_labels[i]};
    int baseline = 0;
    if (cv::getTextSize(x_labels[i], cv::FONT_HERSHEY_SIMPLEX, 0.45, 1, &baseline).width > slot - 6) {
      const std::string& t = x_labels[i];
      size_t best = std::string::npos;
      for (size_t k = t.find(' '); k != std::string::npos; k = t.find(' ', k + 1)) {
        if (best == std::string::npos || std::abs(static_cast<long>(k) - static_cast<long>(t.size() / 2)) <
                                             std::abs(static_cast<long>(best) - static_cast<long>(t.size() / 2)))
          best = k;
      }
      if (best != std::string::npos) lines = {t.substr(0, best), t.substr(best + 1)};
    }
    double scale = 0.45;
    for (const auto& l : lines) scale = std::min(scale, fit_text(l, slot - 6, 0.45));
    for (size_t l = 0; l < lines.size(); ++l)
      put_centred(img, lines[l], cv::Point(x_of(i), height - bottom + 20 + 18 * static_cast<int>(l)), scale, black);
  }
  static const std::vector<cv::Scalar> kColours = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214},
                                                   {189, 103, 148}, {75, 86, 140}, {194, 119, 227}, {127, 127, 127}};
  for (size_t k = 0; k < series.size(); ++k) {
    const cv::Scalar colour = kColours[k % kColours.size()];
    const auto& v = series[k].values;
    for (int i = 0; i + 1 < n; ++i) {
      if (std::isfinite(v[i]) && std::isfinite(v[i + 1]))
        cv::line(img, cv::Point(x_of(i), y_of(v[i])), cv::Point(x_of(i + 1), y_of(v[i + 1])), colour, 2, cv::LINE_AA);
    }
    for (int i = 0; i < n; ++i) {
      if (!std::isfinite(v[i])) continue;
      cv::circle(img, cv::Point(x_of(i), y_of(v[i])), 4, colour, cv::FILLED, cv::LINE_AA);
      // The value goes on the side away from the neighbouring segments (below a local minimum).
      double neighbours = 0;
      int count = 0;
      for (int j : {i - 1, i + 1}) {
        if (j >= 0 && j < n && std::isfinite(v[j])) {
          neighbours += v[j];
          ++count;
        }
      }
      const bool below = count > 0 && neighbours / count > v[i];
      const int offset = 12 + 12 * static_cast<int>(k % 2);
      put_centred(img, fixed(v[i], 2), cv::Point(x_of(i), y_of(v[i]) + (below ? offset : -offset)), 0.38, colour);
    }
    // Legend: three entries per row under the title.
    const int lx = left + static_cast<int>(k % 3) * ((width - left - right) / 3), ly = 40 + 20 * static_cast<int>(k / 3);
    cv::line(img, cv::Point(lx, ly), cv::Point(lx + 24, ly), colour, 2, cv::LINE_AA);
    cv::circle(img, cv::Point(lx + 12, ly), 4, colour, cv::FILLED, cv::LINE_AA);
    cv::putText(img, series[k].name, cv::Point(lx + 30, ly + 5), cv::FONT_HERSHEY_SIMPLEX,
                fit_text(series[k].name, (width - left - right) / 3 - 36, 0.45), black, 1, cv::LINE_AA);
  }
  write_atomically(path, [&](const std::string& tmp) {
    UNROLL_CHECK(cv::imwrite(tmp, img), path, ": cannot write the plot");
  });
}

}  // namespace unroll
