#include "io/image_io.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/kernel.h"
#include "core/limits.h"
#include "core/tensor.h"
#include "io/image_header.h"

namespace fs = std::filesystem;

namespace unroll {
namespace {

// Pixels converted at a time by write_image (a band of rows; 1 MP: 24 MB of float64 RGB).
constexpr int64_t kWriteBandPixels = int64_t{1} << 20;

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

void check_image_size(const std::string& path, int64_t width, int64_t height) {
  const int64_t limit = limit_value(LimitId::ImagePixels);
  const double pixels = static_cast<double>(width) * static_cast<double>(height);
  UNROLL_CHECK(pixels <= static_cast<double>(limit), path, ": the image is ", width, "x", height, " (",
               pixels / 1e6, " megapixels), above the limit of ", static_cast<double>(limit) / 1e6, " megapixels (",
               limit_hint(LimitId::ImagePixels), ")");
}

}  // namespace

torch::Tensor read_image(const std::string& path, const ImageReadOptions& options) {
  std::error_code ec;
  UNROLL_CHECK(fs::exists(path, ec), path, ": no such file");
  UNROLL_CHECK(fs::is_regular_file(path, ec), path, ": not a regular file");
  // The size a file declares is checked before decoding (a 100 KB PNG can declare 6000x6000).
  const ImageHeader header = read_image_header(path);
  if (header.width > 0 && header.height > 0) check_image_size(path, header.width, header.height);
  UNROLL_CHECK(header.damage.empty(), path, ": ", header.damage);
  if (header.jpeg_truncated)
    warn(path + ": the JPEG data ends before its end-of-image marker (truncated file?); the decoder fills the "
                "missing part of the picture");
  cv::Mat m;
  try {
    m = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    fail(path, ": cannot decode image (", e.what(), ")");
  }
  UNROLL_CHECK(!m.empty(), path, ": cannot decode image (corrupt, truncated or unsupported format)");
  check_image_size(path, m.cols, m.rows);  // formats whose header was not read
  double scale = 1.0;
  switch (m.depth()) {
    case CV_8U: scale = 1.0 / 255.0; break;
    case CV_16U: scale = 1.0 / 65535.0; break;
    case CV_32F:
    case CV_64F: scale = 1.0; break;
    default: fail(path, ": unsupported pixel depth");
  }
  cv::Mat f;
  m.convertTo(f, CV_32F, scale);
  // Float images (TIFF) can hold NaN / Inf (or doubles beyond float): every method would spread them
  // over the whole output while the metrics printed a finite PSNR (issue 28).
  UNROLL_CHECK(cv::checkRange(f), path, ": image holds NaN or Inf pixels");
  const int ch = f.channels();
  if (ch == 4) {
    warn(path + ": alpha channel dropped");
    cv::cvtColor(f, f, cv::COLOR_BGRA2RGB);
  } else if (ch == 3) {
    cv::cvtColor(f, f, cv::COLOR_BGR2RGB);
  } else if (ch == 2) {
    warn(path + ": alpha channel dropped");
    std::vector<cv::Mat> planes;
    cv::split(f, planes);
    f = planes[0];
  } else {
    UNROLL_CHECK(ch == 1, path, ": unsupported channel count ", ch);
  }
  if (options.grey && f.channels() == 3) cv::cvtColor(f, f, cv::COLOR_RGB2GRAY);
  if (options.rgb && f.channels() == 1) cv::cvtColor(f, f, cv::COLOR_GRAY2RGB);
  f = f.isContinuous() ? f : f.clone();
  const int64_t h = f.rows, w = f.cols, c = f.channels();
  auto t = torch::from_blob(f.data, {h, w, c}, torch::kFloat32).clone();
  return t.permute({2, 0, 1}).unsqueeze(0).contiguous();
}

void check_image_output(const std::string& path, int bits, const std::string& flag) {
  UNROLL_CHECK(!path.empty(), flag, " is empty");
  std::error_code ec;
  UNROLL_CHECK(!fs::is_directory(path, ec), flag, " ", path, " is a folder; give a file name such as x.png");
  const std::string ext = lower_extension(path);
  UNROLL_CHECK(!ext.empty() && cv::haveImageWriter(path), flag, " ", path, ": no image format for the extension '", ext,
               "' (use .png, .tif, .jpg, .bmp, .webp or .ppm)");
  UNROLL_CHECK(bits == 8 || bits == 16 || bits == 32, path, ": bit depth must be 8, 16 or 32 (float), got ", bits);
  UNROLL_CHECK(bits == 8 || ext == ".png" || ext == ".tif" || ext == ".tiff", path,
               ": 16-bit output needs .png or .tif");
  UNROLL_CHECK(bits != 32 || ext == ".tif" || ext == ".tiff", path, ": 32-bit (float) output needs .tif");
  check_writable_dir(fs::path(path).parent_path().string(), flag);
}

void write_image(const std::string& path, const torch::Tensor& image, int bits) {
  check_image_output(path, bits, "image output");
  auto x = as_image_batch(image.detach());
  UNROLL_CHECK(x.size(0) == 1, path, ": can only write one image, got a batch of ", x.size(0));
  const int64_t c = x.size(1);
  UNROLL_CHECK(c == 1 || c == 3, path, ": can only write 1 or 3 channels, got ", c);
  // Converted in bands of rows: a whole 24 MP image in float64 with its clamp / scale / round
  // temporaries alive at once would take about 3 GB, more than the tiles of the method that made it.
  const int h = static_cast<int>(x.size(2)), w = static_cast<int>(x.size(3)), ch = static_cast<int>(c);
  cv::Mat m(h, w, bits == 32 ? CV_32FC(ch) : bits == 16 ? CV_16UC(ch) : CV_8UC(ch));
  const int64_t band = std::max<int64_t>(1, kWriteBandPixels / std::max<int64_t>(1, w));
  const double peak = bits == 8 ? 255.0 : 65535.0;
  for (int64_t r0 = 0; r0 < h; r0 += band) {
    const int64_t rows = std::min<int64_t>(band, h - r0);
    auto part = x[0].narrow(1, r0, rows).to(torch::kCPU, torch::kFloat64);
    // A method that diverged must not leave a plausible-looking black or white picture behind (checked
    // band by band, all before anything is written).
    UNROLL_CHECK(torch::isfinite(part).all().item<bool>(), path,
                 ": the result holds NaN or Inf values (the method diverged); nothing was written");
    cv::Mat rows_out = m.rowRange(static_cast<int>(r0), static_cast<int>(r0 + rows));
    if (bits == 32) {
      // The values as computed (float32, not clipped or rounded): results compared without quantisation.
      auto hwc = part.to(torch::kFloat32).permute({1, 2, 0}).contiguous();
      cv::Mat(static_cast<int>(rows), w, CV_32FC(ch), hwc.data_ptr()).copyTo(rows_out);
    } else {
      auto hwc = part.clamp_(0.0, 1.0).mul_(peak).round_().permute({1, 2, 0}).contiguous();
      if (bits == 8) {
        auto typed = hwc.to(torch::kUInt8);
        cv::Mat(static_cast<int>(rows), w, CV_8UC(ch), typed.data_ptr()).copyTo(rows_out);
      } else {
        auto typed = hwc.to(torch::kInt32);
        cv::Mat(static_cast<int>(rows), w, CV_32SC(ch), typed.data_ptr()).convertTo(rows_out, CV_16U);
      }
    }
  }
  if (c == 3) cv::cvtColor(m, m, cv::COLOR_RGB2BGR);
  write_atomically(path, [&](const std::string& tmp) {
    bool ok = false;
    try {
      // Float colour TIFF defaults to OpenCV's lossy LogLuv (SGILOG) encoding; LZW keeps every bit.
      const std::vector<int> params =
          bits == 32 ? std::vector<int>{cv::IMWRITE_TIFF_COMPRESSION, 5 /* COMPRESSION_LZW */} : std::vector<int>{};
      ok = cv::imwrite(tmp, m, params);
    } catch (const cv::Exception& e) {
      fail(path, ": cannot encode image (", e.what(), ")");
    }
    UNROLL_CHECK(ok, path, ": cannot write image (unsupported extension or unwritable directory)");
  });
}

torch::Tensor read_kernel(const std::string& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".csv" || ext == ".txt" || ext == ".dat" || ext == ".asc") return read_kernel_text(path);
  auto img = read_image(path, ImageReadOptions{true, false});
  return normalize_kernel(img[0][0].to(torch::kFloat64), path);
}

void write_kernel_image(const std::string& path, const torch::Tensor& kernel) {
  auto k = kernel.squeeze().to(torch::kFloat64);
  write_image(path, (k / k.max().clamp_min(1e-300)).unsqueeze(0), 16);
}

}  // namespace unroll
