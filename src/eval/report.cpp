#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

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

}  // namespace unroll
